"""The report's fleet page gathered on Spark (camscore.health.page renders it): per camera its frames, first, last
and latest frame, per bin of the timeline its frames, the errors by kind and the models, from one row per frame
(one Spark job); then the frames the cards show, found by their episodes' ``since`` in the faulty cameras' rows
(another), and only those fetched, in parallel, through camscore's storage layer and made thumbnails."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import statistics
from dataclasses import dataclass, replace

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from camscore import storage
from camscore.config import S3Settings
from camscore.errors import CamscoreError
from camscore.health.episodes import Episode, FleetQuiet
from camscore.health.fleet import (Card, FleetPage, bin_width, located, pictured, timeline_of, wanted_frames,
                                   window_steps)
from camscore.health.thumbnails import thumbnail
from camscore.rows import ErrorKind, FrameError

# Thumbnails read at once without S3 settings (with them: s3.fetch_threads, which the client's pool is sized for).
FETCH_THREADS = 8
_EPOCH = dt.datetime(1970, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class FleetFrames:
    """What the page counts of a window's rows: per camera (``cameras``: camera_id, frames, first, last,
    latest_path, latest_at; latest: its latest frame that decoded, else its latest), frames per camera and bin of
    ``width`` from ``start`` (``bins``), errors by kind and the models. Times naive UTC."""

    start: dt.datetime
    end: dt.datetime
    width: dt.timedelta
    cameras: pd.DataFrame
    bins: dict[str, list[int]]
    errors: dict[str, int]
    models: tuple[str, ...]

    @property
    def count(self) -> int:
        return -(-(self.end - self.start) // self.width)


def fleet_frames(rows: DataFrame, *, start: dt.datetime, end: dt.datetime) -> FleetFrames:
    """Counts ``rows`` (one per frame, with a camera) for the page in one Spark job: per camera, bin of the
    window's finest width, error kind and model, gathered on the driver, where the bins are joined up to be as
    short as the fleet's usual gap between a camera's frames allows (fleet.bin_width: each width divides the
    next)."""
    finest = bin_width(start, end)
    micros = (start - _EPOCH) // _MICROSECOND
    index = F.floor((F.unix_micros("captured_at") - F.lit(micros)) / F.lit(finest // _MICROSECOND)).cast("int")
    latest = F.struct(F.col("brightness").isNotNull().alias("decoded"), F.col("captured_at").alias("at"))
    counted = (rows.where(F.col("captured_at").isNotNull())
               .groupBy("camera_id", index.alias("bin"), "error_kind", "model_id")
               .agg(F.count(F.lit(1)).alias("frames"), F.min("captured_at").alias("first"),
                    F.max("captured_at").alias("last"), F.max(latest).alias("latest"),
                    F.max_by("path", latest).alias("latest_path"))
               .select("camera_id", "bin", "error_kind", "model_id", "frames", "first", "last",
                       F.col("latest.decoded").alias("decoded"), F.col("latest.at").alias("latest_at"),
                       "latest_path")
               .toPandas())
    counted = counted.sort_values(["camera_id", "decoded", "latest_at"])
    cameras = (counted.groupby("camera_id")
               .agg(frames=("frames", "sum"), first=("first", "min"), last=("last", "max"),
                    latest_path=("latest_path", "last"), latest_at=("latest_at", "last"))
               .reset_index())
    gaps = [(naive_utc(row.last) - naive_utc(row.first)) / (row.frames - 1) for row in cameras.itertuples()
            if row.frames > 1]
    width = bin_width(start, end, gap=statistics.median(gaps) if gaps else dt.timedelta())
    count, merged = -(-(end - start) // width), width // finest
    bins = {camera: [0] * count for camera in cameras["camera_id"]}
    inside = counted[(counted["bin"] >= 0) & (counted["bin"] < count * merged)]
    for (camera, at), frames in inside.groupby(["camera_id", inside["bin"] // merged])["frames"].sum().items():
        bins[camera][at] = int(frames)
    kinds = counted[counted["error_kind"].notna()].groupby("error_kind")["frames"].sum()
    models = tuple(sorted(counted["model_id"].dropna().unique()))
    return FleetFrames(start, end, width, cameras, bins, {kind: int(n) for kind, n in kinds.items()}, models)


def fleet_cards(frames: FleetFrames, *, hours: pd.DataFrame, episodes: pd.DataFrame) -> list[Card]:
    """A card per camera with frames or episodes, without thumbnails: its episodes, frames, car share over
    the window and per hour (``hours``: report.camera_hours' rows)."""
    shown = window_steps(frames.start, frames.end)
    position = {hour: index for index, hour in enumerate(shown)}
    found: dict[str, list[Episode]] = {}
    for row in episodes.itertuples():
        found.setdefault(row.camera_id, []).append(Episode(row.camera_id, row.status, naive_utc(row.since),
                                                           naive_utc(row.until), int(row.frames)))
    counted = dict(zip(frames.cameras["camera_id"], frames.cameras["frames"]))
    cards = []
    for camera in sorted(set(counted) | set(found) - {None}):
        own = hours[hours["camera_id"] == camera]
        scored, cars = int(own["scored"].sum()), int(own["cars"].sum())
        hourly: list[float | None] = [None] * len(shown)
        for row in own.itertuples():
            at = position.get(naive_utc(row.hour))
            if at is not None and row.scored:
                hourly[at] = float(row.cars / row.scored)
        cards.append(Card(camera, tuple(found.get(camera, ())), int(counted.get(camera, 0)),
                          cars / scored if scored else None, tuple(hourly)))
    return cards


def with_thumbnails(spark: SparkSession, rows: DataFrame, cards: list[Card], frames: FleetFrames, *,
                    s3: S3Settings | None) -> list[Card]:
    """The cards with the thumbnails they show (fleet.wanted_frames): the frames around each fault found on
    Spark in the faulty cameras' ``rows`` (one per frame), the latest from ``frames``, each read through the
    storage layer on one of ``s3.fetch_threads`` threads (FETCH_THREADS without S3 settings); a frame that cannot
    be read or decoded is its error kind."""
    latest = {row.camera_id: (row.latest_path, naive_utc(row.latest_at)) for row in frames.cameras.itertuples()}
    wanted = {card.camera_id: wanted_frames(card) for card in cards}
    around = _around(spark, rows, {(camera, since) for camera, shown in wanted.items()
                                   for _, which, since in shown if which in ("before", "at")})
    # Each thumbnail's frame; none: no such frame (a silent camera's since: none after).
    found = []
    for card in cards:
        shown = []
        for role, which, since in wanted[card.camera_id]:
            path, at = (latest.get(card.camera_id, (None, None)) if which == "latest" else (None, since)
                        if which == "none" else around.get((card.camera_id, since, which), (None, None)))
            shown.append(located(role, path, at))
        found.append(replace(card, thumbnails=tuple(shown)))
    paths = sorted({thumb.path for card in found for thumb in card.thumbnails if thumb.path is not None})
    with concurrent.futures.ThreadPoolExecutor(s3.fetch_threads if s3 else FETCH_THREADS) as pool:
        made = dict(zip(paths, pool.map(lambda path: _thumbnail(path, s3=s3, spark=spark), paths)))
    return pictured(found, made)


def fleet_page(frames: FleetFrames, cards: list[Card], *, title: str, quiet: FleetQuiet | None = None) -> FleetPage:
    """The page's data: the cards, the header's counts and a timeline row per card."""
    timeline = timeline_of(cards, frames.bins, start=frames.start, width=frames.width, bins=frames.count)
    return FleetPage(title, frames.start, frames.end, int(frames.cameras["frames"].sum()), frames.errors,
                     frames.models, tuple(cards), timeline, quiet)


def _around(spark: SparkSession, rows: DataFrame,
            anchors: set[tuple[str, dt.datetime]]) -> dict[tuple[str, dt.datetime, str], tuple[str, dt.datetime]]:
    """For each (camera, since): its latest decoded frame captured ``before`` since and its first ``at`` or
    after it, as (path, captured_at)."""
    if not anchors:
        return {}
    wanted = spark.createDataFrame(sorted(anchors), "camera_id string, since timestamp_ntz")
    rows = rows.where(F.col("camera_id").isin(sorted({camera for camera, _ in anchors})))
    decoded = F.col("brightness").isNotNull()
    at = F.col("captured_at").cast("timestamp_ntz")
    frame = F.struct("path", at.alias("captured_at"))
    found = (rows.join(F.broadcast(wanted), "camera_id")
             .groupBy("camera_id", "since")
             .agg(F.max_by(frame, F.when(decoded & (at < F.col("since")), at)).alias("before"),
                  F.min_by(frame, F.when(decoded & (at >= F.col("since")), at)).alias("at"))
             .collect())
    located = {}
    for row in found:
        for which in ("before", "at"):
            if row[which] is not None and row[which]["path"] is not None:
                located[row["camera_id"], row["since"], which] = (row[which]["path"], row[which]["captured_at"])
    return located


def _thumbnail(path: str, *, s3: S3Settings | None, spark: SparkSession) -> tuple[bytes | None, str | None]:
    """A frame's thumbnail, or the error kind that kept it: ``read`` for a passing fault, ``unreadable`` when
    the store refused it (or its storage is out of reach), else the decoder's."""
    try:
        data = storage.read_bytes(path, s3=s3, spark=spark)
    except (ConnectionError, TimeoutError):
        return None, ErrorKind.READ.value
    except (OSError, CamscoreError):
        return None, ErrorKind.UNREADABLE.value
    try:
        return thumbnail(data), None
    except FrameError as exc:
        return None, exc.kind.value


def naive_utc(moment) -> dt.datetime | None:
    """A pandas or Python time as naive UTC; None for a missing one."""
    if moment is None or pd.isna(moment):
        return None
    moment = pd.Timestamp(moment)
    return (moment.tz_convert("UTC").tz_localize(None) if moment.tzinfo else moment).to_pydatetime()
