"""What analysts and camera operations ask first of the scoring job's output: per camera and hour, frames,
car share and errors; each camera's health (camscore.health.episodes) from its rows' picture signals; and the
fleet page that shows both to operators (camscore.stages.fleet_page, camscore.health.page).

Both read one row per frame, by the rule compaction and the analysts' views use (camscore.rows.FRAME_ROW_NUMBER:
a scored row before an error that lasts, before a passing one, then the latest ``scored_at``, then the
greatest ``batch``): a frame read again after a passing fault, or scored by the service and the batch job, or
again by a newer model, is one frame and one picture."""

from __future__ import annotations

import datetime as dt
import io
import time
from dataclasses import dataclass, field

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from camscore import storage
from camscore.config import HealthSettings, S3Settings
from camscore.errors import InputError
from camscore.health.episodes import Fleet, FleetQuiet, Frame, camera_episodes, fleet_quiet
from camscore.io.on_spark import rows_under
from camscore.rows import EPISODE_COLUMNS, SIGNAL_COLUMNS, ErrorKind, names
from camscore.spark.schema import struct
from camscore.spark.session import run_conf
from camscore.stages.compact import one_per_frame
from camscore.stages.health_context import camera_paces, earlier_days

HEALTH_FILE = "camera_health.parquet"
PAGE_FILE = "index.html"


@dataclass(frozen=True)
class Report:
    """Where a report went, its rows (camera and hour) and its cameras' health episodes, as pandas, and the
    seconds each of its stages took."""

    table: str
    health: str
    page: str
    rows: pd.DataFrame
    episodes: pd.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)

    def format(self) -> str:
        totals = self.rows.groupby("camera_id", dropna=False)[["frames", "scored", "cars", "errors"]].sum()
        lines = [f"{'camera':<12} {'frames':>7} {'scored':>7} {'car share':>9} {'errors':>7}  health"]
        for camera, row in totals.iterrows():
            share = f"{row['cars'] / row['scored']:.3f}" if row["scored"] else "-"
            lines.append(f"{str(camera):<12} {row['frames']:>7} {row['scored']:>7} {share:>9} {row['errors']:>7}  "
                         f"{health_of(self.episodes[self.episodes['camera_id'] == camera])}")
        return "\n".join(lines + [f"table {self.table}", f"health {self.health}", f"page {self.page}"])


def health_of(episodes: pd.DataFrame) -> str:
    """A camera's health in a few words: its faults that last (since when), or ok, and how many ended."""
    if episodes.empty:
        return "-"  # no frame with picture signals
    lasting = episodes[episodes["until"].isna() & (episodes["status"] != "ok")]
    ended = int((episodes["until"].notna()).sum())
    now = ", ".join(f"{row.status} since {pd.Timestamp(row.since):%Y-%m-%d %H:%M}" for row in lasting.itertuples())
    return (now or "ok") + (f" ({ended} ended)" if ended else "")


def frame_rows(spark: SparkSession, output: str, *, date: str | None) -> DataFrame:
    """The rows the report counts and judges: the output's (on ``date``, or every day), one per frame
    (camscore.rows.FRAME_ROW_NUMBER)."""
    return one_per_frame(rows_under(spark, output.rstrip("/"), [f"date={date}"] if date else None))


def camera_hours(spark: SparkSession, output: str, *, date: str | None = None) -> DataFrame:
    """Per camera and hour of captured_at, one row per frame (frame_rows): frames, those scored, those labelled 1
    (``cars``: label 1 is car), their share of the scored (``car_share``), errors, and pictures left out as blank
    (score.skip_unhealthy).

    Raises:
        InputError: the output (or its date) does not exist.
    """
    base = output.rstrip("/")
    location = f"{base}/date={date}" if date else base
    if not storage.exists(location, s3=None, spark=spark):
        raise InputError(f"{location} does not exist: nothing to report")
    rows = frame_rows(spark, base, date=date)
    scored = F.col("error_kind").isNull() & F.col("probability").isNotNull()
    blank = F.coalesce(F.col("error_kind") == ErrorKind.BLANK.value, F.lit(False))
    return (rows.groupBy("camera_id", F.date_trunc("hour", "captured_at").alias("hour"))
            .agg(F.count(F.lit(1)).alias("frames"), F.count_if(scored).alias("scored"),
                 F.count_if(scored & (F.col("label") == 1)).alias("cars"),
                 F.count_if(~scored & ~blank).alias("errors"), F.count_if(blank).alias("blank"))
            .withColumn("car_share", F.when(F.col("scored") > 0, F.col("cars") / F.col("scored")))
            .orderBy("camera_id", "hour"))


@dataclass(frozen=True)
class CameraHealth:
    """The cameras' health episodes (camscore.rows.EPISODE_COLUMNS) and the fleet's quiet at the window's end
    (camscore.health.episodes.FleetQuiet, naive UTC; None: none), which the page's header tells once."""

    episodes: pd.DataFrame
    fleet_quiet: FleetQuiet | None


def camera_health(spark: SparkSession, output: str, *, date: str | None, settings: HealthSettings,
                  now: dt.datetime | None = None) -> CameraHealth:
    """Each camera's health episodes, each camera's rows (frame_rows: a frame scored again is no repeated
    picture) judged on a worker, its silence against the fleet (every camera's pace, gathered first) and,
    with a ``date``, against its earlier days (health_context.earlier_days).

    The report's window ends at the end of ``date`` (or ``now``, if sooner); without a date, at the last
    frame of the output: a camera is silent against it. Times are naive UTC, as the frames reach pandas.
    """
    rows = frame_rows(spark, output, date=date).where(F.col("camera_id").isNotNull())
    # Every camera's pace from its rows as they are (camera_paces counts a frame once), in a pass of its own:
    # each camera is judged against all of them.
    paces = camera_paces(rows_under(spark, output.rstrip("/"), [f"date={date}"] if date else None))
    if date:
        end = dt.datetime.combine(dt.date.fromisoformat(date) + dt.timedelta(days=1), dt.time())
        now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).replace(tzinfo=None)
        window_end = min(end, now)
    else:
        window_end = max((pace.last for pace in paces), default=None)
    fleet = Fleet.of(pace.last for pace in paces)
    # phash as text: a 64-bit column with nulls reaches pandas as float64, which keeps 53 bits.
    columns = ["camera_id", "captured_at", *(F.col(name).cast("string").alias(name) if name == "phash" else name
                                             for name in names(SIGNAL_COLUMNS))]
    judged = rows.select(*columns, F.lit(False).alias("earlier"))
    if date:
        judged = judged.unionByName(earlier_days(spark, output, date=date, window_end=window_end)
                                    .withColumn("earlier", F.lit(True)), allowMissingColumns=True)
    fields = names(EPISODE_COLUMNS)

    def judge(camera: pd.DataFrame) -> pd.DataFrame:
        earlier = camera["earlier"].astype(bool)
        day = camera[~earlier].drop(columns="earlier")
        present = day.astype(object).where(day.notna(), None)
        frames = [Frame.of(row) for row in present.to_dict("records")]
        found = camera_episodes(camera["camera_id"].iloc[0], frames, settings=settings, window_end=window_end,
                                fleet=fleet, earlier=list(camera.loc[earlier, "captured_at"]))
        return pd.DataFrame([[getattr(episode, name) for name in fields] for episode in found], columns=list(fields))

    episodes = judged.groupBy("camera_id").applyInPandas(judge, struct(EPISODE_COLUMNS))
    return CameraHealth(episodes.toPandas().sort_values(["camera_id", "since"], kind="stable").reset_index(drop=True),
                        fleet_quiet(paces, settings=settings, window_end=window_end))


def write_report(spark: SparkSession, output: str, *, date: str | None, to: str | None,
                 health: HealthSettings | None = None, s3: S3Settings | None = None) -> Report:
    """Writes under ``to`` (default: the output's ``_reports/<date or all>``, which readers of the output skip)
    camera_hours as Parquet (``camera_hours/``), the cameras' health episodes (HEALTH_FILE, one Parquet file)
    and the fleet page (PAGE_FILE), whose thumbnails are read from the frames' paths (``s3``: how s3:// ones
    are reached; without, they are placeholders)."""
    target = (to or f"{output.rstrip('/')}/_reports/{date or 'all'}").rstrip("/")
    # One row per frame sorts every row read: made once and kept, camera_hours', camera_health's and the page's
    # own frame_rows read it from Spark's cache, which matches their plans. Kept in the partitions adaptive
    # execution coalesces the sort's into: in the sort's 200, each job on it cost 200 tasks (a 720,000-row day:
    # 15 to 25 s each on 2 cores, against 1 s).
    with run_conf(spark, {"spark.sql.optimizer.canChangeCachedPlanOutputPartitioning": "true"}):
        frames = frame_rows(spark, output, date=date).cache()
        try:
            return _write_report(spark, output, date=date, target=target, health=health, s3=s3, frames=frames)
        finally:
            frames.unpersist()


def _write_report(spark: SparkSession, output: str, *, date: str | None, target: str, health: HealthSettings | None,
                  s3: S3Settings | None, frames: DataFrame) -> Report:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from camscore.health.page import render_page
    from camscore.io import arrow_schema
    from camscore.stages import fleet_page

    seconds, clock = {}, [time.perf_counter()]

    def lap(stage: str) -> None:
        seconds[stage], clock[0] = round(time.perf_counter() - clock[0], 2), time.perf_counter()

    table = camera_hours(spark, output, date=date)
    table.coalesce(1).write.mode("overwrite").parquet(f"{target}/camera_hours")
    rows = spark.read.parquet(f"{target}/camera_hours").orderBy("camera_id", "hour").toPandas()
    lap("camera hours")
    judged = camera_health(spark, output, date=date, settings=health or HealthSettings())
    episodes = judged.episodes
    buffer = io.BytesIO()
    utc = episodes.assign(**{name: episodes[name].dt.tz_localize("UTC") for name in ("since", "until")})
    pq.write_table(pa.Table.from_pandas(utc, schema=arrow_schema(EPISODE_COLUMNS), preserve_index=False), buffer)
    health_file = storage.write_bytes(f"{target}/{HEALTH_FILE}", buffer.getvalue(), s3=None, spark=spark)
    lap("camera health")

    start, end = _window(date, rows)
    known = frames.where(F.col("camera_id").isNotNull())
    counted = fleet_page.fleet_frames(known, start=start, end=end)
    cards = fleet_page.fleet_cards(counted, hours=rows, episodes=episodes)
    lap("page: counts")
    cards = fleet_page.with_thumbnails(spark, known, cards, counted, s3=s3)
    lap("page: thumbnails")
    title = f"Camera health, {date}" if date else f"Camera health, {start:%Y-%m-%d} to {end:%Y-%m-%d}"
    html = render_page(fleet_page.fleet_page(counted, cards, title=title, quiet=judged.fleet_quiet))
    page = storage.write_bytes(f"{target}/{PAGE_FILE}", html.encode("utf-8"), s3=None, spark=spark)
    lap("page: render")
    return Report(f"{target}/camera_hours", health_file, page, rows, episodes, seconds)


def _window(date: str | None, hours: pd.DataFrame) -> tuple[dt.datetime, dt.datetime]:
    """The page's window, naive UTC: the day of ``date``; else the hours of camera_hours' rows."""
    if date:
        start = dt.datetime.combine(dt.date.fromisoformat(date), dt.time())
        return start, start + dt.timedelta(days=1)
    if hours.empty:
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, minute=0, second=0, microsecond=0)
        return now, now + dt.timedelta(hours=1)
    from camscore.stages.fleet_page import naive_utc

    return naive_utc(hours["hour"].min()), naive_utc(hours["hour"].max()) + dt.timedelta(hours=1)
