"""Each camera's faults from its rows: frames ordered by capture time, each compared with that camera's own
baseline (the medians of its last sound frames), a fault kept only when it persists over several frames.

No Spark and no pandas here: the report applies ``camera_episodes`` to each camera's rows (Spark's
applyInPandas), and the service keeps its cameras' latest frames in a CameraWatch for its metrics.

A frame's status, the first rule that holds:
    dark         98% of pixels under a tenth of the range (FFmpeg's black frame), or brightness under
                 DARK_RATIO of the baseline's with most pixels dark;
    overexposed  98% of pixels saturated, or the saturated share OVEREXPOSED_SHARE above the baseline's;
    covered      a near-uniform picture (contrast under signals.UNIFORM_CONTRAST), or contrast and edges
                 collapsed against the baseline;
    frozen       the same bytes as the camera's previous frame, or the same picture hash where the
                 baseline's consecutive frames differ;
    blurred      sharpness under BLUR_RATIO of the baseline's, scaled by the square of the brightness's ratio
                 to the baseline's (edges fade with the light at dusk; a blur keeps the brightness);
    moved        the background of the frames that follow (the bitwise majority of the hashes of this frame
                 and the next, MOVED_WINDOW in all) differs from the baseline's in MOVED_SHARE or more of the bits the
                 baseline's frames agree on (STABLE_AGREEMENT: its background, where traffic seldom
                 reaches), and the frame's own hash in FRAME_MOVED_SHARE: a scene that changed and stays
                 changed (judged once the baseline holds twice MOVED_WINDOW frames, MIN_STABLE_BITS agreeing);
    ok           none of these.
A fault opens when ``persist_frames`` consecutive frames show it and closes when as many show anything else;
only frames of confirmed sound runs join the baseline, so a fault never becomes a camera's normal.

A camera is ``silent`` (since its last frame) when no frame came for ``silent_gaps`` times its usual gap (the
95th percentile of its gaps, Pace) before the window ends, unless
    the fleet    most of the other cameras judged with it (a report's, a CameraWatch's) sent nothing after it fell
                 silent either (Fleet): one event of the fleet (night, the site, the upload path), told once
                 (fleet_quiet), not a fault of each camera; or
    its history  on most of its earlier days it sent nothing in the same hours either (quiet_as_usual).
Frames come when a camera sees motion, so every camera goes quiet at night: neither is a fault.
"""

from __future__ import annotations

import bisect
import collections
import datetime as dt
import threading
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from camscore.config import HealthSettings
from camscore.health.signals import PictureSignals, blank_reason, hash_distance

BLANK_STATUS = {"dark": "dark", "white": "overexposed", "uniform": "covered"}  # of signals.blank_reason
DARK_RATIO = 0.4  # brightness under this share of the baseline's ...
DARK_SHARE = 0.8  # ... with at least this share of pixels dark
OVEREXPOSED_SHARE = 0.4
COVERED_CONTRAST = 0.35  # contrast under this share of the baseline's ...
COVERED_SHARPNESS = 0.15  # ... and sharpness under this share of the baseline's
BLUR_RATIO = 0.3
STABLE_AGREEMENT = 0.85  # a bit of the baseline's background: this share of its frames agree on it
MIN_STABLE_BITS = 8
MOVED_WINDOW = 9  # the following frames whose majority hash is their background
MOVED_SHARE = 0.2  # of the stable bits changed in the following frames' background ...
FRAME_MOVED_SHARE = 0.15  # ... and in the frame's own hash
FROZEN_VARIATION = 3  # the baseline's consecutive frames differ by at least this many bits: a repeat is a fault
MIN_BASELINE = 6  # sound frames before a camera's frames are compared with its baseline
MIN_GAPS = 5  # gaps before a camera's silence is judged
FLEET_SENDING = 0.5  # a silence is the fleet's when fewer than this share of the other cameras sent after it
HISTORY_DAYS = 7  # the earlier days a camera's silence is compared with
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Frame:
    """One frame of a camera as health reads it: when it was captured, its signals (None: it did not decode)
    and the hash of its bytes; and what a fleet page shows of it: its path, label and error kind."""

    captured_at: dt.datetime
    signals: PictureSignals | None
    content_sha: str | None = None
    path: str | None = None
    label: int | None = None
    error_kind: str | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> "Frame":
        """A frame of a score row (its captured_at, signal columns, content_sha, path, label and error_kind;
        missing values None)."""
        values = [row.get(name) for name in PictureSignals.names()]
        signals = PictureSignals(*(float(v) for v in values[:-1]), int(values[-1])) if None not in values else None
        return cls(row["captured_at"], signals, row.get("content_sha"), row.get("path"), row.get("label"),
                   row.get("error_kind"))


@dataclass(frozen=True)
class Episode:
    """A camera's fault from ``since`` to ``until`` (its last frame of the fault; None while it lasts) over
    ``frames`` frames; or ``ok`` from its first frame, for a camera with no fault (camscore.rows.EPISODE_COLUMNS)."""

    camera_id: str | None
    status: str
    since: dt.datetime
    until: dt.datetime | None
    frames: int


@dataclass(frozen=True)
class Baseline:
    """What a camera's last sound frames are like: medians, the background hash (the bitwise majority of
    their hashes), the bits they agree on (``stable``, a mask) and the median distance between consecutive
    ones (``variation``)."""

    brightness: float
    contrast: float
    bright_fraction: float
    sharpness: float
    frames: int
    background: int
    stable: int
    variation: float

    @classmethod
    def of(cls, frames: Sequence[PictureSignals]) -> "Baseline":
        medians = {name: float(np.median([getattr(frame, name) for frame in frames]))
                   for name in ("brightness", "contrast", "bright_fraction", "sharpness")}
        hashes = [frame.phash for frame in frames]
        share = _bits(hashes).mean(axis=0)
        stable = (share >= STABLE_AGREEMENT) | (share <= 1 - STABLE_AGREEMENT)
        steps = [hash_distance(a, b) for a, b in zip(hashes, hashes[1:])]
        return cls(**medians, frames=len(frames), background=majority_hash(hashes), stable=_hash_of(stable),
                   variation=float(np.median(steps)) if steps else 0.0)

    def moved_share(self, phash: int) -> float:
        """The share of the stable bits in which a hash differs from the background."""
        return hash_distance((phash ^ self.background) & self.stable, 0) / max(hash_distance(self.stable, 0), 1)


_SHIFTS = np.arange(64, dtype=np.uint64)


def majority_hash(hashes: Sequence[int]) -> int:
    """The hash whose every bit is the one most of ``hashes`` have (ties: 0)."""
    return _hash_of(_bits(hashes).mean(axis=0) > 0.5)


def _bits(hashes: Sequence[int]) -> np.ndarray:
    """Each hash's 64 bits as a row of 0 and 1 (least significant first)."""
    return ((np.array(hashes, dtype=np.int64).view(np.uint64)[:, None] >> _SHIFTS) & np.uint64(1)).astype(np.uint8)


def _hash_of(bits: np.ndarray) -> int:
    return int(np.bitwise_or.reduce(bits.astype(np.uint64) << _SHIFTS).view(np.int64))


def frame_status(frame: Frame, previous: Frame | None, baseline: Baseline | None, ahead: int) -> str:
    """One decoded frame's status (see the module's rules); ``baseline`` None: too few sound frames yet;
    ``ahead``: the background hash of this and the following frames."""
    signals = frame.signals
    blank = blank_reason(signals)  # the absolute rules, as score.skip_unhealthy applies them
    if blank:
        return BLANK_STATUS[blank]
    if previous is not None and frame.content_sha is not None and frame.content_sha == previous.content_sha:
        return "frozen"
    if baseline is None:
        return "ok"
    if signals.brightness < DARK_RATIO * baseline.brightness and signals.dark_fraction >= DARK_SHARE:
        return "dark"
    if signals.bright_fraction >= baseline.bright_fraction + OVEREXPOSED_SHARE:
        return "overexposed"
    if (signals.contrast < COVERED_CONTRAST * baseline.contrast
            and signals.sharpness < COVERED_SHARPNESS * baseline.sharpness):
        return "covered"
    if (previous is not None and signals.phash == previous.signals.phash
            and baseline.variation >= FROZEN_VARIATION):
        return "frozen"
    # Edges scale with the light (dusk): sharpness is compared for the frame's brightness.
    gain = (signals.brightness / baseline.brightness) ** 2 if baseline.brightness > 0 else 1.0
    if baseline.sharpness > 0 and signals.sharpness < BLUR_RATIO * gain * baseline.sharpness:
        return "blurred"
    judged = baseline.frames >= 2 * MOVED_WINDOW and hash_distance(baseline.stable, 0) >= MIN_STABLE_BITS
    if (judged and baseline.moved_share(ahead) >= MOVED_SHARE
            and baseline.moved_share(signals.phash) >= FRAME_MOVED_SHARE):
        return "moved"
    return "ok"


def frame_statuses(frames: Sequence[Frame], settings: HealthSettings,
                   prior: Sequence[PictureSignals] = ()) -> list[str]:
    """Each decoded frame's status, frames in order of capture, each compared with the sound frames before it
    (``prior``: those of the camera's frames before ``frames``, oldest first)."""
    return _judged(frames, settings, prior)[0]


def _judged(frames: Sequence[Frame], settings: HealthSettings,
            prior: Sequence[PictureSignals]) -> tuple[list[str], list[bool]]:
    """frame_statuses, and whether each frame joined the baseline (a frame of a sound run of persist_frames)."""
    hashes = [frame.signals.phash for frame in frames]
    sound: collections.deque[PictureSignals] = collections.deque(prior, maxlen=settings.baseline_frames)
    enough = min(MIN_BASELINE, settings.baseline_frames)
    baseline = Baseline.of(list(sound)) if len(sound) >= enough else None
    pending: list[int] = []  # a sound run too short yet to join the baseline
    previous, statuses, joined = None, [], [False] * len(frames)
    for index, frame in enumerate(frames):
        start = max(min(index, len(hashes) - MOVED_WINDOW), 0)  # the last frames: the last full window
        status = frame_status(frame, previous, baseline, majority_hash(hashes[start:start + MOVED_WINDOW]))
        pending = pending + [index] if status == "ok" else []
        if len(pending) >= settings.persist_frames:
            sound.extend(frames[at].signals for at in pending)
            for at in pending:
                joined[at] = True
            pending = []
            if len(sound) >= enough:
                baseline = Baseline.of(list(sound))
        statuses.append(status)
        previous = frame
    return statuses, joined


def camera_episodes(camera_id: str | None, frames: Iterable[Frame], *, settings: HealthSettings,
                    window_end: dt.datetime | None, fleet: Fleet | None = None,
                    earlier: Iterable[dt.datetime] = ()) -> list[Episode]:
    """One camera's episodes; one ``ok`` episode when it has no fault.

    Args:
        frames: the camera's frames, in any order (those that did not decode count only for its gaps).
        settings: the health settings.
        window_end: the end of the window (silence is judged against it); None: not judged.
        fleet: the cameras judged with it, this one included (None: it is judged alone).
        earlier: the times of its frames on earlier days (its own frames of earlier days count too).
    """
    ordered = in_capture_order(frames)
    return with_silence(camera_id, ordered, picture_faults(camera_id, ordered, settings=settings),
                        settings=settings, window_end=window_end, fleet=fleet, earlier=earlier)


def in_capture_order(frames: Iterable[Frame]) -> list[Frame]:
    """The frames that have a capture time, in its order."""
    return sorted((frame for frame in frames if frame.captured_at is not None), key=lambda f: f.captured_at)


def picture_faults(camera_id: str | None, ordered: Sequence[Frame], *, settings: HealthSettings,
                   prior: Sequence[PictureSignals] = ()) -> list[Episode]:
    """The faults a camera's pictures show (``ordered``: its frames in capture order; those that did not decode
    are left out; ``prior``: frame_statuses'): its episodes but silence and ``ok``."""
    decoded = [frame for frame in ordered if frame.signals is not None]
    return [Episode(camera_id, *found) for found in _episodes(
        frame_statuses(decoded, settings, prior), [frame.captured_at for frame in decoded], settings.persist_frames)]


def with_silence(camera_id: str | None, ordered: Sequence[Frame], pictures: Sequence[Episode], *,
                 settings: HealthSettings, window_end: dt.datetime | None, fleet: Fleet | None = None,
                 earlier: Iterable[dt.datetime] = ()) -> list[Episode]:
    """A camera's episodes (camera_episodes' arguments) from the faults its pictures show (``pictures``,
    picture_faults): those, its silence when it is silent, or one ``ok`` from its first frame that decoded when it
    has neither."""
    every = [frame.captured_at for frame in ordered]
    quiet = _silent_since(every, settings=settings, window_end=window_end, fleet=fleet, history=[*earlier, *every])
    episodes = [*pictures, *([Episode(camera_id, "silent", quiet, None, 0)] if quiet is not None else [])]
    decoded = [frame.captured_at for frame in ordered if frame.signals is not None]
    if not episodes and decoded:
        episodes.append(Episode(camera_id, "ok", decoded[0], None, len(decoded)))
    return episodes


def _episodes(statuses: list[str], times: list, persist: int) -> Iterable[tuple]:
    """(status, since, until, frames) of each fault episode: it opens at ``persist`` consecutive frames of one
    fault (``since``: the first) and closes at ``persist`` consecutive frames of anything else (``until``: its
    last frame of the fault; None while it lasts); ``frames``: its frames of the fault."""
    index, count = 0, len(statuses)
    while index < count:
        status = statuses[index]
        run = next((end for end in range(index, count) if statuses[end] != status), count) - index
        if status == "ok" or run < persist:
            index += run
            continue
        last, frames, others, cursor = index + run - 1, run, 0, index + run
        while cursor < count and others < persist:
            if statuses[cursor] == status:
                last, frames, others = cursor, frames + 1, 0
            else:
                others += 1
            cursor += 1
        yield status, times[index], (times[last] if others >= persist else None), frames
        index = last + 1


def _silent_since(times: list[dt.datetime], *, settings: HealthSettings, window_end: dt.datetime | None,
                  fleet: Fleet | None, history: Sequence[dt.datetime]) -> dt.datetime | None:
    """The last frame's time (``times`` in order) when the camera has been silent since, longer than its gaps
    allow, while the fleet kept sending and at hours it usually sends; else None."""
    pace = Pace.of(times)
    due = pace.overdue(settings, window_end) if pace is not None else None
    if due is None or (fleet is not None and fleet.quiet_at(due)) or quiet_as_usual(history, due, window_end):
        return None
    return pace.last


@dataclass(frozen=True)
class Pace:
    """How a camera sends: its last frame and its usual gap in seconds (the 95th percentile of its gaps; None:
    fewer than MIN_GAPS gaps)."""

    last: dt.datetime
    usual: float | None

    @classmethod
    def of(cls, times: Sequence[dt.datetime]) -> "Pace | None":
        """The pace of frames captured at ``times`` (in order); None without any."""
        if not times:
            return None
        gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
        return cls(times[-1], float(np.quantile(gaps, 0.95)) if len(gaps) >= MIN_GAPS else None)

    def overdue(self, settings: HealthSettings, window_end: dt.datetime | None) -> dt.datetime | None:
        """When its silence outlasted its gaps (``silent_gaps`` usual gaps after its last frame), if that is
        before ``window_end``; else None (or when its pace is not known)."""
        if window_end is None or not self.usual:
            return None
        due = self.last + dt.timedelta(seconds=settings.silent_gaps * self.usual)
        return due if due < window_end else None


@dataclass(frozen=True)
class Fleet:
    """The cameras judged together (a report's, a CameraWatch's): when each sent its last frame, in order."""

    lasts: tuple[dt.datetime, ...]

    @classmethod
    def of(cls, lasts: Iterable[dt.datetime]) -> "Fleet":
        return cls(tuple(sorted(lasts)))

    def quiet_at(self, moment: dt.datetime) -> bool:
        """Whether a camera of the fleet silent at ``moment`` (its last frame before it) is silent with most of the
        fleet: fewer than FLEET_SENDING of the other cameras sent a frame after ``moment``. Alone, it is not."""
        others = len(self.lasts) - 1
        sending = len(self.lasts) - bisect.bisect_right(self.lasts, moment)
        return others > 0 and sending < FLEET_SENDING * others


@dataclass(frozen=True)
class FleetQuiet:
    """Most of the fleet quiet together at the window's end (night, the site, the upload path): one event, told
    once, not a fault of each camera. ``cameras``: those whose silence it explains; ``since``: the last frame of
    the first of them to fall quiet."""

    since: dt.datetime
    cameras: int


def fleet_quiet(paces: Iterable[Pace], *, settings: HealthSettings,
                window_end: dt.datetime | None) -> FleetQuiet | None:
    """The fleet's quiet at ``window_end`` from each of its cameras' pace (Pace.of their frames' times); None
    when no camera's silence is the fleet's."""
    paces = list(paces)
    fleet = Fleet.of(pace.last for pace in paces)
    quiet = [pace.last for pace in paces
             if (due := pace.overdue(settings, window_end)) is not None and fleet.quiet_at(due)]
    return FleetQuiet(min(quiet), len(quiet)) if quiet else None


def quiet_as_usual(history: Iterable[dt.datetime], start: dt.datetime, end: dt.datetime) -> bool:
    """Whether a camera quiet from ``start`` to ``end`` is as quiet as on its earlier days: on fewer than half of
    the HISTORY_DAYS days before (each the 24 hours up to ``end`` that many days earlier; a day it sent nothing
    on tells nothing of its hours and is left out) it sent a frame in the same span. False without such a day."""
    ordered = sorted(history)

    def sent(low: dt.datetime, high: dt.datetime) -> bool:  # a frame in (low, high]
        return bisect.bisect_right(ordered, high) > bisect.bisect_right(ordered, low)

    days = [back * DAY for back in range(1, HISTORY_DAYS + 1) if sent(end - back * DAY - DAY, end - back * DAY)]
    sending = sum(sent(start - shift, end - shift) for shift in days)
    return bool(days) and sending < 0.5 * len(days)


def _continued(episodes: Sequence[Episode], onsets: Mapping[str, dt.datetime],
               first: dt.datetime | None) -> list[Episode]:
    """The episodes, a fault that opens at the first frame judged (``first``: its capture time) given the onset
    it had before those frames (``onsets``: status: since), if it had one."""
    return [replace(episode, since=onsets[episode.status])
            if episode.since == first and episode.status in onsets else episode for episode in episodes]


class CameraWatch:
    """Each camera's latest frames, judged on demand: what a long-running process that scores frames as they
    come (the service) holds to tell which of its cameras are at fault now. Thread-safe.

    It holds ``held`` to twice ``held`` frames of a camera (the baseline's, the moved window's and two fault
    runs'), the baseline its earlier frames left (their last sound ones) and the onsets of the faults that went on
    past them, so that a fault that outlasts the frames held is judged against the camera's sound picture still,
    not against itself, and keeps its ``since``. A camera's picture faults are judged once per frame it gets
    (kept until the next), its silence at each ``now``."""

    def __init__(self, settings: HealthSettings):
        self.settings = settings
        self.held = settings.baseline_frames + MOVED_WINDOW + 2 * settings.persist_frames
        self._frames: dict[str, list[Frame]] = {}
        self._prior: dict[str, tuple[PictureSignals, ...]] = {}  # the baseline of the frames no longer held
        self._onsets: dict[str, dict[str, dt.datetime]] = {}  # status: since, of faults begun before them
        self._pictures: dict[str, list[Episode]] = {}  # picture_faults of each camera's frames held now
        self._lock = threading.Lock()
        self._settling = threading.Lock()  # one camera's frames let go of at a time

    def add(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Keeps the rows' frames (rows of the score columns; those without a camera or a time are left out)."""
        full = set()
        with self._lock:
            for row in rows:
                if row.get("camera_id") is None or row.get("captured_at") is None:
                    continue
                kept = self._frames.setdefault(row["camera_id"], [])
                kept.append(Frame.of(row))
                self._pictures.pop(row["camera_id"], None)
                if len(kept) >= 2 * self.held:
                    full.add(row["camera_id"])
        for camera in full:
            self._settle(camera)

    def _settle(self, camera: str) -> None:
        """Lets go of a camera's frames before its latest HELD, their sound ones carried into its baseline."""
        with self._settling:
            self._settle_held(camera)

    def _settle_held(self, camera: str) -> None:
        with self._lock:
            frames, prior = list(self._frames[camera]), self._prior.get(camera, ())
            onsets = self._onsets.get(camera, {})
        ordered = in_capture_order(frames)
        leaving, boundary = {id(frame) for frame in ordered[:-self.held]}, ordered[-self.held].captured_at
        decoded = [frame for frame in ordered if frame.signals is not None]
        statuses, joined = _judged(decoded, self.settings, prior)
        carried = collections.deque(prior, maxlen=self.settings.baseline_frames)
        carried.extend(frame.signals for frame, sound in zip(decoded, joined) if sound and id(frame) in leaving)
        times = [frame.captured_at for frame in decoded]
        found = _episodes(statuses, times, self.settings.persist_frames)
        episodes = _continued([Episode(camera, *each) for each in found], onsets, times[0] if times else None)
        going_on = {episode.status: episode.since for episode in episodes
                    if episode.since < boundary and (episode.until is None or episode.until >= boundary)}
        with self._lock:  # frames added meanwhile stay
            self._frames[camera] = [frame for frame in self._frames[camera] if id(frame) not in leaving]
            self._prior[camera], self._onsets[camera] = tuple(carried), going_on
            self._pictures.pop(camera, None)

    def judged(self, now: dt.datetime) -> dict[str, tuple[list[Frame], list[Episode]]]:
        """Each camera's frames held (in capture order) and its episodes at ``now``, silence judged against the
        cameras it watches (camera_episodes)."""
        with self._lock:
            cameras = {camera: (list(kept), self._pictures.get(camera), self._prior.get(camera, ()),
                                self._onsets.get(camera, {})) for camera, kept in self._frames.items()}
        fleet = Fleet.of(max(frame.captured_at for frame in kept) for kept, _, _, _ in cameras.values())
        judged = {}
        for camera, (kept, pictures, prior, onsets) in cameras.items():
            ordered = in_capture_order(kept)
            if pictures is None:
                first = next((frame.captured_at for frame in ordered if frame.signals is not None), None)
                pictures = _continued(picture_faults(camera, ordered, settings=self.settings, prior=prior), onsets,
                                      first)
                with self._lock:
                    if len(self._frames[camera]) == len(kept) and self._frames[camera][-1] is kept[-1]:
                        self._pictures[camera] = pictures  # no frame came meanwhile
            judged[camera] = ordered, with_silence(camera, ordered, pictures, settings=self.settings,
                                                   window_end=now, fleet=fleet)
        return judged

    def faults(self, now: dt.datetime) -> dict[str, list[str]]:
        """Each camera's faults that last at ``now`` (silent included, judged against the cameras it watches);
        cameras without one are left out."""
        found = {}
        for camera, (_, episodes) in self.judged(now).items():
            lasting = [episode.status for episode in episodes if episode.until is None and episode.status != "ok"]
            if lasting:
                found[camera] = lasting
        return found

    def fleet_quiet(self, now: dt.datetime) -> FleetQuiet | None:
        """The quiet of most of its cameras together at ``now`` (fleet_quiet); None when there is none."""
        with self._lock:
            times = [[frame.captured_at for frame in kept] for kept in self._frames.values()]
        return fleet_quiet([Pace.of(sorted(each)) for each in times], settings=self.settings, window_end=now)
