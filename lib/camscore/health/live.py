"""The fleet page of the frames a long-running process holds (the service's CameraWatch): each camera's latest
frames judged as the report judges a day (CameraWatch.judged: silence against the others at ``now``), over the
window from the earliest frame held (a day before at most) to ``now``.

No I/O: each card's thumbnails are located (their frames' paths, fleet.located); the service reads those frames
and makes them (camscore.service.cameras, then fleet.pictured).
"""

from __future__ import annotations

import collections
import datetime as dt
import statistics
from dataclasses import replace
from typing import Iterable, Sequence

from camscore.health.episodes import CameraWatch, Episode, Frame
from camscore.health.fleet import (Card, FleetPage, Thumbnail, bin_width, located, timeline_of, utc,
                                   wanted_frames, window_steps)

WINDOW = dt.timedelta(days=1)


def live_page(watch: CameraWatch, *, now: dt.datetime, title: str, models: tuple[str, ...] = ()) -> FleetPage:
    """The page's data from the frames ``watch`` holds, judged at ``now`` (CameraWatch.judged), thumbnails
    located, not made. Times on the page are naive UTC, as the report's."""
    judged = {camera: ([replace(frame, captured_at=utc(frame.captured_at)) for frame in frames], episodes)
              for camera, (frames, episodes) in watch.judged(now).items() if frames}
    quiet = watch.fleet_quiet(now)
    if not judged:
        return FleetPage(title, utc(now), utc(now), 0, models=models)
    end = max(utc(now), *(frames[-1].captured_at for frames, _ in judged.values()))
    # From the earliest frame held, but a day at most: a camera gone long ago does not stretch the others' rows.
    first = max(min(frames[0].captured_at for frames, _ in judged.values()), end - WINDOW)
    gaps = [(frames[-1].captured_at - frames[0].captured_at) / (len(frames) - 1) for frames, _ in judged.values()
            if len(frames) > 1]
    width = bin_width(first, end, gap=statistics.median(gaps) if gaps else dt.timedelta())
    # The timeline's bins are the sparklines' steps (the frames held may span less than an hour), from a whole
    # step at or before the first frame.
    steps = window_steps(first, end, width)
    start, bins = steps[0], len(steps)
    cards, counts = [], {}
    for camera, (frames, episodes) in sorted(judged.items()):
        cards.append(_card(camera, frames, episodes, start=start, width=width, bins=bins))
        counts[camera] = [0] * bins
        for index, _ in _binned(frames, start=start, width=width, bins=bins):
            counts[camera][index] += 1
    errors = collections.Counter(frame.error_kind for frames, _ in judged.values() for frame in frames
                                 if frame.error_kind)
    return FleetPage(title, start, end, sum(len(frames) for frames, _ in judged.values()), dict(errors), models,
                     tuple(cards), timeline_of(cards, counts, start=start, width=width, bins=bins), quiet, width)


def _binned(frames: Sequence[Frame], *, start: dt.datetime, width: dt.timedelta,
            bins: int) -> Iterable[tuple[int, Frame]]:
    """Each frame within the window with its bin (those before it left out; one at its end in the last)."""
    for frame in frames:
        index = (frame.captured_at - start) // width
        if index >= 0:
            yield min(index, bins - 1), frame


def _card(camera: str, frames: Sequence[Frame], episodes: Sequence[Episode], *, start: dt.datetime,
          width: dt.timedelta, bins: int) -> Card:
    """A camera's card from its frames (in order, naive UTC) and episodes: car share over the frames and per bin
    of the timeline, thumbnails located among them."""
    scored = [frame for frame in frames if frame.label is not None]
    tally = [[0, 0] for _ in range(bins)]  # per bin: scored, cars
    for index, frame in _binned(scored, start=start, width=width, bins=bins):
        tally[index][0] += 1
        tally[index][1] += frame.label
    card = Card(camera, tuple(episodes), len(frames),
                sum(frame.label for frame in scored) / len(scored) if scored else None,
                tuple(cars / count if count else None for count, cars in tally))
    return replace(card, thumbnails=tuple(_shown_frame(frames, role, which, since)
                                          for role, which, since in wanted_frames(card)))


def _shown_frame(frames: Sequence[Frame], role: str, which: str, since: dt.datetime | None) -> Thumbnail:
    """A thumbnail's frame among a camera's (in order): its ``latest`` that decoded (else its latest), its
    latest that decoded ``before`` since, its first that decoded ``at`` or after since, or ``none``."""
    decoded = [frame for frame in frames if frame.signals is not None]
    if which == "latest":
        found = decoded[-1] if decoded else frames[-1]
    elif which == "before":
        found = next((frame for frame in reversed(decoded) if frame.captured_at < since), None)
    elif which == "at":
        found = next((frame for frame in decoded if frame.captured_at >= since), None)
    else:
        return located(role, None, since)
    # A frame without a path (none the service watches) is shown as none, as a frame not found.
    return located(role, found.path, found.captured_at) if found is not None and found.path else located(
        role, None, None)
