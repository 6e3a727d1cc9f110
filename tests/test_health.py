"""Each camera's faults from its frames' signals: one camera per fault over a day, each starting mid-day."""

import datetime as dt
import hashlib
import io

import pandas as pd
import pytest
from PIL import Image

from camscore.config import HealthSettings
from camscore.devtools import samples
from camscore.health.episodes import camera_episodes
from camscore.health.signals import picture_signals

DAY = dt.date(2026, 11, 20)
ONSET = dt.datetime.combine(DAY, dt.time(12))
EVERY = dt.timedelta(minutes=15)
WINDOW_END = pd.Timestamp(dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time()))


def rows_of(frames: list[samples.SampleFrame]) -> pd.DataFrame:
    """The score rows' columns camera health reads, as the per-frame core gives them."""
    rows = []
    for frame in frames:
        camera, name = frame.relative_path.split("/")
        signals = picture_signals(Image.open(io.BytesIO(frame.data)))
        rows.append({"camera_id": camera, "captured_at": pd.Timestamp(dt.datetime.strptime(name[:15], "%Y%m%dT%H%M%S")),
                     **dict(zip(signals.names(), signals.values())),
                     "content_sha": hashlib.sha256(frame.data).hexdigest()})
    return pd.DataFrame(rows)


def day_of(fault: str | None, *, seed: int, dusk: bool = False) -> pd.DataFrame:
    return rows_of(samples.camera_day(f"cam-{fault or 'ok'}", day=DAY, fault=fault, onset=ONSET.time(), dusk=dusk,
                                      seed=seed, width=320, height=192))


@pytest.mark.parametrize("fault", [fault for fault in samples.FAULTS if fault != "silent"])
def test_a_fault_from_mid_day_on_is_one_open_episode_of_its_status_from_within_two_frames_of_its_onset(fault):
    episodes = camera_episodes(day_of(fault, seed=samples.FAULTS.index(fault)), settings=HealthSettings(),
                               window_end=WINDOW_END)

    assert list(episodes["status"]) == [fault]
    assert abs(episodes["since"][0] - ONSET) <= 2 * EVERY
    assert episodes["until"][0] is None and episodes["frames"][0] >= 44


def test_a_camera_that_stops_sending_is_silent_since_its_last_frame():
    episodes = camera_episodes(day_of("silent", seed=7), settings=HealthSettings(), window_end=WINDOW_END)

    assert episodes[["status", "since", "frames"]].values.tolist() == [["silent", ONSET - EVERY, 0]]


@pytest.mark.parametrize("seed", range(2))
def test_traffic_coming_and_going_and_day_turning_to_dusk_are_no_fault(seed):
    for dusk in (False, True):
        episodes = camera_episodes(day_of(None, seed=10 + seed, dusk=dusk), settings=HealthSettings(),
                                   window_end=WINDOW_END)

        assert episodes[["status", "since", "frames"]].values.tolist() == [
            ["ok", pd.Timestamp(dt.datetime.combine(DAY, dt.time(6))), 72]]


def test_a_fault_that_ends_has_its_last_frame_as_until_and_short_glitches_are_no_episode():
    rows = day_of("dark", seed=1)
    recovered = day_of(None, seed=1)
    afternoon = recovered["captured_at"] >= ONSET + 8 * EVERY
    rows.loc[afternoon] = recovered.loc[afternoon].values  # dark for eight frames, then sound again
    glitch = rows["captured_at"] == ONSET - 10 * EVERY
    rows.loc[glitch, ["brightness", "dark_fraction"]] = (0.0, 1.0)  # one black frame in the morning

    episodes = camera_episodes(rows, settings=HealthSettings(), window_end=WINDOW_END)

    assert episodes[["status", "since", "until", "frames"]].values.tolist() == [
        ["dark", ONSET, ONSET + 7 * EVERY, 8]]
