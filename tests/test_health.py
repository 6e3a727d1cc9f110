"""Each camera's faults from its frames' signals: one camera per fault over a day, each starting mid-day."""

import dataclasses
import datetime as dt
import hashlib
import io

import pytest
from PIL import Image

from camscore.config import HealthSettings
from tools import samples
from camscore.health.episodes import CameraWatch, Episode, Frame, camera_episodes
from camscore.health.signals import picture_signals

DAY = dt.date(2026, 11, 20)
ONSET = dt.datetime.combine(DAY, dt.time(12))
EVERY = dt.timedelta(minutes=15)
WINDOW_END = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time())


def frames_of(day: list[samples.SampleFrame]) -> list[Frame]:
    """The frames as camera health reads them from score rows: time, picture signals, the bytes' hash."""
    return [Frame(dt.datetime.strptime(frame.relative_path.split("/")[1][:15], "%Y%m%dT%H%M%S"),
                  picture_signals(Image.open(io.BytesIO(frame.data))), hashlib.sha256(frame.data).hexdigest())
            for frame in day]


def day_of(fault: str | None, *, seed: int, dusk: bool = False) -> list[Frame]:
    return frames_of(samples.camera_day("cam", day=DAY, fault=fault, onset=ONSET.time(), dusk=dusk, seed=seed,
                                        width=320, height=192))


def judged(frames: list[Frame]) -> list[Episode]:
    return camera_episodes("cam", frames, settings=HealthSettings(), window_end=WINDOW_END)


@pytest.mark.parametrize("fault", [fault for fault in samples.FAULTS if fault != "silent"])
def test_a_fault_from_mid_day_on_is_one_open_episode_of_its_status_from_within_two_frames_of_its_onset(fault):
    episodes = judged(day_of(fault, seed=samples.FAULTS.index(fault)))

    assert [episode.status for episode in episodes] == [fault]
    assert abs(episodes[0].since - ONSET) <= 2 * EVERY
    assert episodes[0].until is None and episodes[0].frames >= 44


def test_a_camera_that_stops_sending_is_silent_since_its_last_frame():
    assert judged(day_of("silent", seed=7)) == [Episode("cam", "silent", ONSET - EVERY, None, 0)]


@pytest.mark.parametrize("seed", range(2))
def test_traffic_coming_and_going_and_day_turning_to_dusk_are_no_fault(seed):
    for dusk in (False, True):
        assert judged(day_of(None, seed=10 + seed, dusk=dusk)) == [
            Episode("cam", "ok", dt.datetime.combine(DAY, dt.time(6)), None, 72)]


def test_a_fault_that_ends_has_its_last_frame_as_until_and_short_glitches_are_no_episode():
    dark, sound = day_of("dark", seed=1), day_of(None, seed=1)
    glitch = ONSET - 10 * EVERY  # one black frame in the morning
    frames = [dark[index] if ONSET <= frame.captured_at < ONSET + 8 * EVERY  # dark for eight frames
              else dataclasses.replace(frame, signals=dataclasses.replace(frame.signals, dark_fraction=1.0))
              if frame.captured_at == glitch else frame
              for index, frame in enumerate(sound)]

    assert judged(frames) == [Episode("cam", "dark", ONSET, ONSET + 7 * EVERY, 8)]


def test_frames_that_did_not_decode_count_for_the_gaps_only():
    frames = day_of(None, seed=2)
    broken = [Frame(frame.captured_at + dt.timedelta(minutes=1), None, None) for frame in frames[::4]]

    assert judged(frames + broken) == judged(frames)


def test_a_camera_watch_tells_the_faults_that_last_from_the_latest_frames_it_kept():
    watch = CameraWatch(HealthSettings())
    rows = [{"camera_id": camera, "captured_at": frame.captured_at, "content_sha": frame.content_sha,
             **dict(zip(frame.signals.names(), frame.signals.values()))}
            for camera, fault in (("cam-1", "frozen"), ("cam-2", None), ("cam-3", "silent"))
            for frame in day_of(fault, seed=3)]

    watch.add(rows + [{"camera_id": None, "captured_at": ONSET}])

    assert watch.faults(WINDOW_END) == {"cam-1": ["frozen"], "cam-3": ["silent"]}
