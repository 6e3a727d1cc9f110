"""Each camera's faults from its rows: frames ordered by capture time, each compared with that camera's own
baseline (the medians of its last sound frames), a fault kept only when it persists over several frames.

No Spark here: the report applies ``camera_episodes`` to each camera's rows (Spark's applyInPandas), and a
process holding a camera's recent rows (the service) can call it as it is.

A frame's status, the first rule that holds:
    dark         98% of pixels under a tenth of the range (FFmpeg's black frame), or brightness under
                 DARK_RATIO of the baseline's with most pixels dark;
    overexposed  98% of pixels saturated, or the saturated share OVEREXPOSED_SHARE above the baseline's;
    covered      a near-uniform picture (contrast under UNIFORM_CONTRAST), or contrast and edges collapsed
                 against the baseline;
    frozen       the same bytes as the camera's previous frame, or the same picture hash where the
                 baseline's consecutive frames differ;
    blurred      sharpness, for the picture's contrast, under BLUR_RATIO of the baseline's;
    moved        the background of the frames that follow (the bitwise majority of the next MOVED_WINDOW
                 frames' hashes) differs from the baseline's in MOVED_SHARE or more of the bits the
                 baseline's frames agree on (STABLE_AGREEMENT: its background, where traffic seldom
                 reaches), and the frame's own hash in FRAME_MOVED_SHARE: a scene that changed and stays
                 changed (judged once the baseline holds twice MOVED_WINDOW frames, MIN_STABLE_BITS agreeing);
    ok           none of these.
A fault opens when ``persist_frames`` consecutive frames show it and closes when as many show anything else;
only frames of confirmed sound runs join the baseline, so a fault never becomes a camera's normal. A camera is
``silent`` when no frame came for ``silent_gaps`` times its usual gap (the 95th percentile of its gaps)
before the report's window ends.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd

from camscore.config import HealthSettings
from camscore.health.signals import BLANK_SHARE, UNIFORM_CONTRAST, hash_distance
from camscore.rows import EPISODE_COLUMNS, names

STATUSES = ("ok", "dark", "overexposed", "covered", "frozen", "blurred", "moved", "silent")

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


@dataclass(frozen=True)
class _Frame:
    brightness: float
    contrast: float
    dark_fraction: float
    bright_fraction: float
    sharpness: float
    phash: int
    content_sha: str | None


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
    def of(cls, frames: list[_Frame]) -> "Baseline":
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


def majority_hash(hashes: list[int]) -> int:
    """The hash whose every bit is the one most of ``hashes`` have (ties: 0)."""
    return _hash_of(_bits(hashes).mean(axis=0) > 0.5)


def _bits(hashes: list[int]) -> np.ndarray:
    """Each hash's 64 bits as a row of 0 and 1 (least significant first)."""
    return ((np.array(hashes, dtype=np.int64).view(np.uint64)[:, None] >> _SHIFTS) & np.uint64(1)).astype(np.uint8)


def _hash_of(bits: np.ndarray) -> int:
    return int(np.bitwise_or.reduce(bits.astype(np.uint64) << _SHIFTS).view(np.int64))


def frame_status(frame: _Frame, previous: _Frame | None, baseline: Baseline | None, ahead: int) -> str:
    """One frame's status (see the module's rules); ``baseline`` None: too few sound frames yet; ``ahead``:
    the background hash of this and the following frames."""
    if frame.dark_fraction >= BLANK_SHARE:
        return "dark"
    if frame.bright_fraction >= BLANK_SHARE:
        return "overexposed"
    if frame.contrast < UNIFORM_CONTRAST:
        return "covered"
    if previous is not None and frame.content_sha is not None and frame.content_sha == previous.content_sha:
        return "frozen"
    if baseline is None:
        return "ok"
    if frame.brightness < DARK_RATIO * baseline.brightness and frame.dark_fraction >= DARK_SHARE:
        return "dark"
    if frame.bright_fraction >= baseline.bright_fraction + OVEREXPOSED_SHARE:
        return "overexposed"
    if (frame.contrast < COVERED_CONTRAST * baseline.contrast
            and frame.sharpness < COVERED_SHARPNESS * baseline.sharpness):
        return "covered"
    if previous is not None and frame.phash == previous.phash and baseline.variation >= FROZEN_VARIATION:
        return "frozen"
    # Edges scale with the light (dusk): sharpness is compared for the frame's brightness.
    gain = (frame.brightness / baseline.brightness) ** 2 if baseline.brightness > 0 else 1.0
    if baseline.sharpness > 0 and frame.sharpness < BLUR_RATIO * gain * baseline.sharpness:
        return "blurred"
    if (baseline.frames >= 2 * MOVED_WINDOW and hash_distance(baseline.stable, 0) >= MIN_STABLE_BITS
            and baseline.moved_share(ahead) >= MOVED_SHARE and baseline.moved_share(frame.phash) >= FRAME_MOVED_SHARE):
        return "moved"
    return "ok"


def frame_statuses(frames: pd.DataFrame, settings: HealthSettings) -> list[str]:
    """Each frame's status, frames in order of capture, each compared with the sound frames before it."""
    records = [_Frame(float(row.brightness), float(row.contrast), float(row.dark_fraction),
                      float(row.bright_fraction), float(row.sharpness), int(row.phash),
                      row.content_sha if isinstance(row.content_sha, str) else None)
               for row in frames.itertuples(index=False)]
    hashes = [frame.phash for frame in records]
    sound: collections.deque[_Frame] = collections.deque(maxlen=settings.baseline_frames)
    pending: list[_Frame] = []  # a sound run too short yet to join the baseline
    baseline, previous, statuses = None, None, []
    for index, frame in enumerate(records):
        start = max(min(index, len(hashes) - MOVED_WINDOW), 0)  # the last frames: the last full window
        status = frame_status(frame, previous, baseline, majority_hash(hashes[start:start + MOVED_WINDOW]))
        pending = pending + [frame] if status == "ok" else []
        if len(pending) >= settings.persist_frames:
            sound.extend(pending)
            pending = []
            if len(sound) >= min(MIN_BASELINE, settings.baseline_frames):
                baseline = Baseline.of(list(sound))
        statuses.append(status)
        previous = frame
    return statuses


def camera_episodes(rows: pd.DataFrame, *, settings: HealthSettings, window_end: pd.Timestamp | None
                    ) -> pd.DataFrame:
    """One camera's episodes: (camera_id, status, since, until, frames), one row ``ok`` when it has no fault.

    Args:
        rows: the camera's score rows: camera_id, captured_at and the signal columns (rows without signals,
            frames that did not decode, count only for its gaps).
        settings: the health settings.
        window_end: the end of the report's window (silence is judged against it); None: not judged.
    """
    rows = rows[rows["captured_at"].notna()].sort_values("captured_at", kind="stable")
    camera = rows["camera_id"].iloc[0] if len(rows) else None
    pictured = rows[rows["brightness"].notna() & rows["phash"].notna()]
    times = list(pictured["captured_at"])
    episodes = list(_episodes(frame_statuses(pictured, settings), times, settings.persist_frames))
    quiet = _silent_since(rows["captured_at"], settings=settings, window_end=window_end)
    if quiet is not None:
        episodes.append(("silent", quiet, None, 0))
    if not episodes and times:
        episodes.append(("ok", times[0], None, len(times)))
    return pd.DataFrame([(camera, *episode) for episode in episodes], columns=list(names(EPISODE_COLUMNS)))


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


def _silent_since(captured: pd.Series, *, settings: HealthSettings, window_end: pd.Timestamp | None):
    """The last frame's time when the camera has been silent since, longer than its gaps allow; else None."""
    if window_end is None or len(captured) <= MIN_GAPS:
        return None
    gaps = captured.sort_values().diff().dropna()
    usual = gaps.quantile(0.95)
    last = captured.max()
    return last if usual > pd.Timedelta(0) and window_end - last > settings.silent_gaps * usual else None
