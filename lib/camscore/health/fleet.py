"""The fleet at a glance, as data: each camera's card (its episodes, frames, car share, thumbnails), the state
timeline's rows, and the order operators read them in: cameras with a fault that lasts first (the most severe
first, then the oldest), then those whose fault ended, then those not judged, then the sound ones.

No Spark, pandas or I/O: the report builds these from its tables and the frames it fetched, the service from
what it holds; camscore.health.page renders them. Times are naive UTC (aware ones are turned to UTC).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Sequence

from camscore.health.episodes import Episode, FleetQuiet

# Every status a camera can have, as the page's header counts them (camscore.health.episodes' rules).
STATUSES = ("ok", "dark", "overexposed", "covered", "frozen", "blurred", "moved", "silent")
# Faults by how much of the picture they take from an operator: nothing comes, nothing shows, a stale picture,
# a picture washed out, of the wrong place, or soft.
SEVERITY = ("silent", "dark", "covered", "frozen", "overexposed", "moved", "blurred")
# A camera with no frame that decoded has no picture signals, so no health.
UNJUDGED = "unjudged"
# The thumbnails' roles: the last sound frame before a fault and its first faulty frame; a camera's latest.
LAST_SOUND, FIRST_FAULT, LATEST = "last-sound", "first-fault", "latest"
HOUR = dt.timedelta(hours=1)
# A thumbnail with no frame to show: a silent camera sent none since its fault.
NO_FRAME = "no-frame"


@dataclass(frozen=True)
class Thumbnail:
    """One of a card's pictures: a small JPEG, or why there is none (an error kind of camscore.rows.ErrorKind,
    or NO_FRAME); ``path``: its frame's (None: no frame), from which the JPEG is made (pictured)."""

    role: str
    jpeg: bytes | None = None
    error_kind: str | None = None
    captured_at: dt.datetime | None = None
    path: str | None = None


@dataclass(frozen=True)
class Card:
    """One camera: its episodes (camscore.health.episodes.Episode; none: not judged), frames in the window,
    car share of its scored frames (None: none scored), car share per step of the page's window (FleetPage's
    share_step; None: none scored in it) and its thumbnails, in the order shown."""

    camera_id: str
    episodes: tuple[Episode, ...]
    frames: int
    car_share: float | None = None
    step_shares: tuple[float | None, ...] = ()
    thumbnails: tuple[Thumbnail, ...] = ()

    @property
    def lasting(self) -> tuple[Episode, ...]:
        """The faults that last at the window's end, the headline first."""
        return tuple(sorted((e for e in self.episodes if e.status != "ok" and e.until is None), key=_fault_order))

    @property
    def ended(self) -> tuple[Episode, ...]:
        """The faults that ended within the window, the latest first."""
        return tuple(sorted((e for e in self.episodes if e.status != "ok" and e.until is not None),
                            key=lambda e: utc(e.since), reverse=True))

    @property
    def status(self) -> str:
        """The headline: its most severe lasting fault, else ok, or UNJUDGED without episodes."""
        lasting = self.lasting
        return lasting[0].status if lasting else "ok" if self.episodes else UNJUDGED

    @property
    def since(self) -> dt.datetime | None:
        """Since when its headline fault lasts; None when it has none."""
        lasting = self.lasting
        return utc(lasting[0].since) if lasting else None


@dataclass(frozen=True)
class Timeline:
    """The state timeline: ``bins`` of ``width`` from ``start``, and each camera's status in each (its worst
    fault there, else ok, or None: no frame and no fault; TimelineRow)."""

    start: dt.datetime
    width: dt.timedelta
    bins: int
    rows: tuple["TimelineRow", ...] = ()


@dataclass(frozen=True)
class TimelineRow:
    camera_id: str
    statuses: tuple[str | None, ...]


@dataclass(frozen=True)
class FleetPage:
    """What the page shows: the window, frames and errors by kind, the models that scored them, the cards (in
    any order: the page sorts them, fleet_order; a card's step_shares are over window_steps of share_step), the
    timeline, and the fleet's quiet at the window's end (camscore.health.episodes.fleet_quiet), told once."""

    title: str
    start: dt.datetime
    end: dt.datetime
    frames: int
    errors: dict[str, int] = field(default_factory=dict)
    models: tuple[str, ...] = ()
    cards: tuple[Card, ...] = ()
    timeline: Timeline | None = None
    quiet: FleetQuiet | None = None
    share_step: dt.timedelta = HOUR
    refresh_seconds: int | None = None  # the page reloads itself this often (a wall display's); None: never


def utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A time as naive UTC."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def window_steps(start: dt.datetime, end: dt.datetime, step: dt.timedelta = HOUR) -> list[dt.datetime]:
    """The steps a window touches (whole ``step``s from midnight), from the one ``start`` falls in: a card's car
    share per step is over these."""
    midnight = dt.datetime.combine(utc(start).date(), dt.time())
    first = midnight + (utc(start) - midnight) // step * step
    return [first + index * step for index in range(max(1, -(-(utc(end) - first) // step)))]


def _fault_order(episode: Episode) -> tuple:
    return SEVERITY.index(episode.status) if episode.status in SEVERITY else len(SEVERITY), utc(episode.since)


def fleet_order(cards: Iterable[Card]) -> list[Card]:
    """Cards as operators read them: a fault that lasts first (by severity, then since), then a fault that
    ended (the latest first), then cameras not judged, then the sound ones; ties by camera id."""
    def key(card: Card) -> tuple:
        if card.lasting:
            return (0, *_fault_order(card.lasting[0]), card.camera_id)
        if card.ended:
            return 1, 0, -utc(card.ended[0].since).timestamp(), card.camera_id
        return (2 if not card.episodes else 3), 0, 0, card.camera_id
    return sorted(cards, key=key)


def wanted_frames(card: Card) -> list[tuple[str, str, dt.datetime | None]]:
    """The frames a card shows, as (role, which, the fault's since): a lasting fault's last sound frame (which
    ``before``: the camera's latest frame captured before since) and first faulty one (``at``: its first at or
    after since); an ended fault's too, then the camera's ``latest``; a sound camera's latest. A silent camera's
    last sound frame is its latest (its since), and it has no faulty frame (``none``)."""
    fault = card.lasting[0] if card.lasting else card.ended[0] if card.ended else None
    if fault is None:
        return [(LATEST, "latest", None)]
    since = utc(fault.since)
    if fault.status == "silent":
        wanted = [(LAST_SOUND, "latest", None), (FIRST_FAULT, "none", since)]
    else:
        wanted = [(LAST_SOUND, "before", since), (FIRST_FAULT, "at", since)]
    return wanted if card.lasting else wanted + [(LATEST, "latest", None)]


def located(role: str, path: str | None, captured_at: dt.datetime | None) -> Thumbnail:
    """A thumbnail's frame, found (its ``path``, to be pictured) or not (NO_FRAME; ``captured_at``: a silent
    camera's since)."""
    return Thumbnail(role, captured_at=captured_at, path=path) if path is not None else Thumbnail(
        role, error_kind=NO_FRAME, captured_at=captured_at)


def pictured(cards: Iterable[Card], made: Mapping[str, tuple[bytes | None, str | None]]) -> list[Card]:
    """The cards with each located thumbnail's JPEG, or its error kind, from ``made`` (path: (jpeg, kind), as
    camscore.health.thumbnails makes them from the frames read)."""
    def picture(thumb: Thumbnail) -> Thumbnail:
        if thumb.path is None:
            return thumb
        jpeg, kind = made[thumb.path]
        return replace(thumb, jpeg=jpeg, error_kind=kind)
    return [replace(card, thumbnails=tuple(picture(thumb) for thumb in card.thumbnails)) for card in cards]


def bin_statuses(episodes: Sequence[Episode], frames: Sequence[int], *, start: dt.datetime,
                 width: dt.timedelta) -> tuple[str | None, ...]:
    """A camera's status in each bin: the most severe fault whose episode covers part of it (from ``since`` to
    ``until``, its last faulty frame, or on while it lasts), else ok where the camera sent a frame
    (``frames``: its count in each bin; UNJUDGED without episodes), else None. A silent camera is silent from
    the bin after its last frame."""
    faults = sorted((e for e in episodes if e.status != "ok"), key=_fault_order)
    statuses = []
    for index, count in enumerate(frames):
        low, high = start + index * width, start + (index + 1) * width
        found = next((e.status for e in faults
                      if (utc(e.since) < low if e.status == "silent" else utc(e.since) < high)
                      and (e.until is None or utc(e.until) >= low)), None)
        statuses.append(found or (("ok" if episodes else UNJUDGED) if count else None))
    return tuple(statuses)


def timeline_of(cards: Iterable[Card], counts: Mapping[str, Sequence[int]], *, start: dt.datetime,
                width: dt.timedelta, bins: int) -> Timeline:
    """The state timeline of ``cards``: each one's status in each of ``bins`` bins of ``width`` from ``start``
    (bin_statuses), from its episodes and its frames per bin (``counts``; a camera not there sent none)."""
    return Timeline(start, width, bins, tuple(
        TimelineRow(card.camera_id, bin_statuses(card.episodes, counts.get(card.camera_id, [0] * bins),
                                                 start=start, width=width)) for card in cards))


def bin_width(start: dt.datetime, end: dt.datetime, *, gap: dt.timedelta = dt.timedelta(),
              most: int = 288) -> dt.timedelta:
    """The shortest of 5, 15, 30 minutes, 1, 2, 6 hours or a day that is at least ``gap`` (the fleet's usual
    time between a camera's frames: a sound camera fills its bins) and cuts the window into at most ``most``
    bins (a day: 288 bins of 5 minutes)."""
    span = end - start
    for minutes in (5, 15, 30, 60, 120, 360):
        width = dt.timedelta(minutes=minutes)
        if width >= gap and span <= most * width:
            return width
    return dt.timedelta(days=max(1, -(-span.days // most), -(-gap.days // 1)))
