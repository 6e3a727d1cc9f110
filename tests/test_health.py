"""Each camera's faults from its frames' signals: one camera per fault over a day, each starting mid-day; and
silence judged against the fleet and the camera's earlier days."""

import dataclasses
import datetime as dt
from dataclasses import replace
import functools
import hashlib
import io

import pytest
from PIL import Image

from camscore.config import HealthSettings
from camscore.io.on_spark import rows_under, write_scores
from camscore.stages.batches import with_output_columns
from camscore.stages.health_context import camera_paces
from camscore.stages.health_context import earlier_days as latest_on_earlier_days
from camscore.stages.report import camera_health
from tables import score_rows
from tools import samples
from camscore.health.episodes import (CameraWatch, Episode, Fleet, FleetQuiet, Frame, Pace, camera_episodes,
                                      fleet_quiet)
from camscore.health.fleet import fleet_order
from camscore.health.live import live_page
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


@functools.cache  # a day takes a second or two to draw; tests share them and do not change them
def day_of(fault: str | None, *, seed: int, dusk: bool = False, stop: dt.time | None = None) -> list[Frame]:
    return frames_of(samples.camera_day("cam", day=DAY, fault=fault, onset=ONSET.time(), dusk=dusk, seed=seed,
                                        width=320, height=192, stop=stop))


def judged(frames: list[Frame], **context) -> list[Episode]:
    return camera_episodes("cam", frames, settings=HealthSettings(), window_end=WINDOW_END, **context)


def judged_together(cameras: dict[str, list[Frame]]) -> tuple[dict[str, list[str]], FleetQuiet | None]:
    """Each camera's statuses judged with the others (as the report does), and the fleet's quiet."""
    paces = [Pace.of([frame.captured_at for frame in frames]) for frames in cameras.values()]
    fleet = Fleet.of(pace.last for pace in paces)
    return ({camera: [episode.status for episode in judged(frames, fleet=fleet)] for camera, frames in cameras.items()},
            fleet_quiet(paces, settings=HealthSettings(), window_end=WINDOW_END))


def at_dusk(stop: dt.time, *, seed: int) -> list[Frame]:
    """A sound camera's day under falling light, whose traffic (and so its frames) stops at ``stop``."""
    return day_of(None, seed=seed, dusk=True, stop=stop)


@pytest.mark.parametrize("fault", [fault for fault in samples.FAULTS if fault != "silent"])
def test_a_fault_from_mid_day_on_is_one_open_episode_of_its_status_from_within_two_frames_of_its_onset(fault):
    episodes = judged(day_of(fault, seed=samples.FAULTS.index(fault)))

    assert [episode.status for episode in episodes] == [fault]
    assert abs(episodes[0].since - ONSET) <= 2 * EVERY
    assert episodes[0].until is None and episodes[0].frames >= 44


def test_a_camera_that_stops_sending_is_silent_since_its_last_frame():
    assert judged(day_of("silent", seed=7)) == [Episode("cam", "silent", ONSET - EVERY, None, 0)]


def test_a_day_whose_cameras_all_stop_at_dusk_has_no_silent_camera_but_the_fleets_quiet_once():
    cameras = {"cam-1": at_dusk(dt.time(19, 30), seed=20), "cam-2": at_dusk(dt.time(20), seed=21),
               "cam-3": at_dusk(dt.time(20, 30), seed=22)}

    assert judged_together(cameras) == ({"cam-1": ["ok"], "cam-2": ["ok"], "cam-3": ["ok"]},
                                        FleetQuiet(since=dt.datetime.combine(DAY, dt.time(19, 15)), cameras=3))
    assert [episode.status for episode in judged(cameras["cam-1"])] == ["silent"]  # judged alone


def test_a_camera_that_stops_while_the_others_keep_sending_is_silent_since_its_last_frame_beside_the_fleets_quiet():
    cameras = {"cam-1": at_dusk(dt.time(19, 30), seed=20), "cam-2": at_dusk(dt.time(20), seed=21),
               "cam-3": day_of("silent", seed=7)}

    assert judged_together(cameras) == ({"cam-1": ["ok"], "cam-2": ["ok"], "cam-3": ["silent"]},
                                        FleetQuiet(since=dt.datetime.combine(DAY, dt.time(19, 15)), cameras=2))
    assert judged(cameras["cam-3"], fleet=Fleet.of(frames[-1].captured_at for frames in cameras.values()))[-1] == \
        Episode("cam", "silent", ONSET - EVERY, None, 0)


def earlier_days(*untils: dt.time | None) -> list[dt.datetime]:
    """When a camera sent on the days before DAY, one ``until`` a day back from DAY: every 15 minutes from 06:00
    to it (None: to midnight; 00:00: nothing that day); nothing on the days before those."""
    return [moment for back, until in enumerate(untils, 1)
            for moment in (dt.datetime.combine(DAY - back * dt.timedelta(days=1), dt.time(6)) + step * EVERY
                           for step in range(72))
            if until is None or moment.time() < until]


@pytest.mark.parametrize("earlier, statuses", [
    (earlier_days(dt.time(20), dt.time(20), dt.time(20)), ["ok"]),  # never sends at night
    (earlier_days(None, None, None), ["silent"]),  # sends till midnight
    (earlier_days(None, dt.time(20), dt.time(20)), ["ok"]),  # most days quiet at night
    (earlier_days(None), ["silent"]),  # the days it sent nothing at all tell nothing of its nights
])
def test_a_camera_quiet_at_night_as_on_its_earlier_days_is_not_silent_when_judged_alone(earlier, statuses):
    night = at_dusk(dt.time(20), seed=21)  # its frames stop at 20:00 today

    assert [episode.status for episode in judged(night, earlier=earlier)] == statuses


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


def test_a_camera_watch_tells_no_fault_when_its_cameras_all_stop_at_dusk_but_the_fleets_quiet():
    watch = CameraWatch(HealthSettings())
    watch.add({"camera_id": camera, "captured_at": frame.captured_at, "content_sha": frame.content_sha,
               **dict(zip(frame.signals.names(), frame.signals.values()))}
              for camera, stop, seed in (("cam-1", dt.time(19, 30), 20), ("cam-2", dt.time(20), 21))
              for frame in at_dusk(stop, seed=seed))

    assert watch.faults(WINDOW_END) == {}
    assert watch.fleet_quiet(WINDOW_END) == FleetQuiet(since=dt.datetime.combine(DAY, dt.time(19, 15)), cameras=2)


def watched(camera: str, frames: list[Frame]) -> list[dict]:
    """A camera's frames as the service's rows: path, camera, time (UTC), label, signals."""
    return [{"path": f"s3://b/{camera}/{frame.captured_at:%Y%m%dT%H%M%S}.jpg", "camera_id": camera,
             "captured_at": frame.captured_at.replace(tzinfo=dt.timezone.utc), "label": index % 2,
             "content_sha": frame.content_sha, **dict(zip(frame.signals.names(), frame.signals.values()))}
            for index, frame in enumerate(frames)]


@pytest.mark.parametrize("fault", [None, "overexposed", "blurred", "moved"])  # those judged against the baseline
def test_a_camera_watch_keeps_a_fault_that_outlasts_the_frames_it_holds_and_its_onset(fault):
    watch = CameraWatch(HealthSettings())
    # A frame every 5 minutes to 16:00: 48 of the fault from noon, more than the 39 to 77 frames the watch holds.
    frames = frames_of(samples.camera_day("cam", day=DAY, every_minutes=5, fault=fault, onset=ONSET.time(),
                                          seed=samples.FAULTS.index(fault) if fault else 4, width=320, height=192,
                                          stop=dt.time(16)))

    for frame in frames:  # as the service adds them, frame by frame
        watch.add(watched("cam", [frame]))

    now = frames[-1].captured_at.replace(tzinfo=dt.timezone.utc) + dt.timedelta(minutes=5)
    held, episodes = watch.judged(now)["cam"]
    assert len(held) < len(frames) - 48 and watch.faults(now) == ({"cam": [fault]} if fault else {})
    if fault:
        assert abs(episodes[0].since.replace(tzinfo=None) - ONSET) <= dt.timedelta(minutes=10)


def test_a_camera_watch_judges_each_camera_as_camera_episodes_does_after_every_frame_it_gets():
    watch, rows = CameraWatch(HealthSettings()), watched("cam-1", day_of("frozen", seed=3))
    statuses, added = [], 0
    for count in (20, 26, 27, 45):  # frozen from the 25th frame (12:00), a fault from its third
        watch.add(rows[added:count])
        added, now = count, rows[count - 1]["captured_at"] + EVERY
        for later in (now, now + dt.timedelta(hours=2)):  # judged anew, then from the faults kept: silent later
            kept, episodes = watch.judged(later)["cam-1"]
            assert episodes == camera_episodes("cam-1", kept, settings=HealthSettings(), window_end=later)
            statuses.append([episode.status for episode in episodes])

    assert statuses == [["ok"], ["silent"], ["ok"], ["silent"], ["frozen"], ["frozen", "silent"], ["frozen"],
                        ["frozen", "silent"]]


def test_the_page_of_a_camera_watch_shows_its_faults_first_with_the_frames_around_each_by_path():
    watch = CameraWatch(HealthSettings())
    watch.add(watched("cam-1", day_of("covered", seed=3)[:33]) + watched("cam-2", day_of(None, seed=4)[:33])
              + watched("cam-3", day_of(None, seed=5)[:16]))  # cam-3 stops at 09:45 while the others send on
    now = dt.datetime.combine(DAY, dt.time(14, 15), tzinfo=dt.timezone.utc)

    page = live_page(watch, now=now, title="service", models=("m1",))

    cards = fleet_order(page.cards)
    assert [(card.camera_id, card.status, card.since) for card in cards] == [
        ("cam-3", "silent", at_time(9, 45)), ("cam-1", "covered", at_time(12)), ("cam-2", "ok", None)]
    assert [[(thumb.role, thumb.path, thumb.captured_at, thumb.error_kind) for thumb in card.thumbnails]
            for card in cards] == [
        [("last-sound", "s3://b/cam-3/20261120T094500.jpg", at_time(9, 45), None),
         ("first-fault", None, at_time(9, 45), "no-frame")],
        [("last-sound", "s3://b/cam-1/20261120T114500.jpg", at_time(11, 45), None),
         ("first-fault", "s3://b/cam-1/20261120T120000.jpg", at_time(12), None)],
        [("latest", "s3://b/cam-2/20261120T140000.jpg", at_time(14), None)]]
    # The window is what the watch holds, to now; car share per bin of the timeline (15 minutes: the gaps).
    assert (page.start, page.end, page.frames, page.share_step) == (
        at_time(6), at_time(14, 15), 82, dt.timedelta(minutes=15))
    assert [len(card.step_shares) for card in cards] == [33, 33, 33] and cards[2].step_shares[:2] == (0.0, 1.0)
    assert {row.camera_id: row.statuses[-1] for row in page.timeline.rows} == {
        "cam-1": "covered", "cam-2": "ok", "cam-3": "silent"}


def test_a_camera_gone_for_a_week_leaves_the_watchs_page_a_day_wide_and_is_silent_across_it():
    watch = CameraWatch(HealthSettings())
    watch.add(watched("cam-1", day_of(None, seed=4)[:33]) + watched("cam-2", day_of(None, seed=5)[:33]))
    watch.add(watched("cam-9", [replace(frame, captured_at=frame.captured_at - dt.timedelta(days=7))
                                for frame in day_of(None, seed=6)[:33]]))
    now = dt.datetime.combine(DAY, dt.time(14, 15), tzinfo=dt.timezone.utc)

    page = live_page(watch, now=now, title="service")

    assert (page.start, page.end, page.timeline.width) == (at_time(14, 15) - dt.timedelta(days=1), at_time(14, 15),
                                                           dt.timedelta(minutes=15))
    rows = {row.camera_id: set(row.statuses) for row in page.timeline.rows}
    assert rows == {"cam-1": {None, "ok"}, "cam-2": {None, "ok"}, "cam-9": {"silent"}}


def test_the_page_of_a_watch_whose_frames_are_all_at_one_instant_after_now_has_one_bin():
    watch = CameraWatch(HealthSettings())
    ahead = dt.datetime.combine(DAY, dt.time(12, 0, 1))
    watch.add(watched("cam-1", [replace(day_of(None, seed=4)[0], captured_at=ahead)]))

    page = live_page(watch, now=dt.datetime.combine(DAY, dt.time(12), tzinfo=dt.timezone.utc), title="service")

    assert (page.timeline.bins, page.timeline.rows[0].statuses, page.cards[0].step_shares) == (1, ("ok",), (0.0,))


def at_time(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time(hour, minute))


def write_output(spark, folder, cameras: dict[str, list[Frame]], earlier: dict[str, list[dt.datetime]], *,
                 batch: str = "b1") -> str:
    """An output holding the cameras' frames as score rows (with their signals) and their ``earlier`` frames
    (times only), written by one batch."""
    frames = [(camera, frame) for camera, day in cameras.items() for frame in day]
    frames += [(camera, Frame(moment, None)) for camera, times in earlier.items() for moment in times]
    rows = [(f"s3://b/{camera}/{frame.captured_at:%Y%m%dT%H%M%S}.jpg", camera,
             frame.captured_at.replace(tzinfo=dt.timezone.utc), 0.9, 1, "car", None, None) for camera, frame in frames]
    signals = [(*frame.signals.values(), frame.content_sha) if frame.signals else (None,) * 7 for _, frame in frames]
    output = str(folder / "scores")
    write_scores(with_output_columns(score_rows(spark, rows, signals), model_id="m", batch_id=batch,
                                     scored_at=dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)), output)
    return output


def test_the_report_judges_each_cameras_silence_against_the_others_and_tells_the_fleets_quiet(spark, tmp_path):
    output = write_output(spark, tmp_path, {"cam-1": at_dusk(dt.time(19, 30), seed=20),
                                            "cam-2": at_dusk(dt.time(20), seed=21), "cam-3": day_of("silent", seed=7)},
                          {})

    health = camera_health(spark, output, date=str(DAY), settings=HealthSettings())

    assert health.episodes[["camera_id", "status", "since"]].values.tolist() == [
        ["cam-1", "ok", dt.datetime.combine(DAY, dt.time(6))], ["cam-2", "ok", dt.datetime.combine(DAY, dt.time(6))],
        ["cam-3", "silent", ONSET - EVERY]]
    assert health.fleet_quiet == FleetQuiet(since=dt.datetime.combine(DAY, dt.time(19, 15)), cameras=2)


@pytest.mark.parametrize("earlier, status", [
    # quiet at night on the 3 days before; sending at night 8 to 10 days before, which are not read
    (earlier_days(dt.time(20), dt.time(20), dt.time(20), *[dt.time(0)] * 4, None, None, None), "ok"),
    (earlier_days(None, None, None), "silent"),
])
def test_the_report_judges_a_cameras_silence_against_its_earlier_days_in_the_output(spark, tmp_path, earlier,
                                                                                      status):
    output = write_output(spark, tmp_path, {"cam": at_dusk(dt.time(20), seed=21)}, {"cam": earlier})

    health = camera_health(spark, output, date=str(DAY), settings=HealthSettings())

    assert health.episodes["status"].tolist() == [status]
    assert health.fleet_quiet is None


@pytest.mark.parametrize("window_end, latest", [
    (WINDOW_END, [(-3, dt.time(23, 45)), (-1, dt.time(19, 45))]),
    # The 24 hours up to noon each day back: the 7th holds the evening of the 8th day before, read as well.
    (ONSET, [(-8, dt.time(23, 45)), (-3, dt.time(12)), (-3, dt.time(23, 45)), (-1, dt.time(12))]),
])
def test_the_report_reads_of_a_cameras_earlier_days_its_latest_frame_in_each_24_hours_up_to_the_windows_end(
        spark, tmp_path, window_end, latest):
    sent = earlier_days(dt.time(20), dt.time(0), None, *[dt.time(0)] * 4, None, None)  # the 1st, 3rd, 8th, 9th
    today_and_after = [ONSET - EVERY, WINDOW_END + EVERY]
    output = write_output(spark, tmp_path, {}, {"cam": sent + today_and_after})

    found = latest_on_earlier_days(spark, output, date=str(DAY), window_end=window_end).toPandas()

    assert sorted(found.itertuples(index=False)) == [
        ("cam", dt.datetime.combine(DAY + dt.timedelta(days=back), moment)) for back, moment in latest]


def test_the_reports_paces_count_a_frame_with_several_rows_once(spark, tmp_path):
    times = [ONSET + dt.timedelta(minutes=minutes) for minutes in (0, 1, 2, 3, 4, 14)]
    for batch in ("b1", "b2"):  # every frame scored twice
        output = write_output(spark, tmp_path, {}, {"cam": times}, batch=batch)

    assert camera_paces(rows_under(spark, output)) == [Pace(ONSET + dt.timedelta(minutes=14), pytest.approx(492.0))]
