"""A day's run partitions rewritten into one: few files for analysts, one row per frame.

Each scoring run writes its own ``date=D/batch=B`` folders, and the service one per write, so a day
scored every five minutes is hundreds of small folders. Compaction reads them all, keeps one row per
frame by the rule the report and the analysts' views use (camscore.rows.FRAME_ROW_NUMBER: a scored row
before an error that lasts, before a passing one, then the latest ``scored_at``, then the greatest
``batch``; so a frame whose read failed and was scored later, or scored by the service and the backstop
run, or again by a newer model, keeps one row), writes them once into a hidden folder (``_compacting/``,
which Spark, the DuckDB view's ``date=*/batch=*/*.parquet`` and Trino do not read), checks that it holds
exactly those rows (their count and the sum of their hashes), moves it into place as one new batch (a
rename), and only then deletes the batches it read. Between the rename and the last delete, a reader
can see a frame twice; no moment misses one. The run holds the output's lease, so no scoring run
writes meanwhile; the service's batches written meanwhile are not among those read, and stay.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from camscore import storage
from camscore.config import Settings
from camscore.errors import CompactionCheckFailed, InputError
from camscore.io import lease
from camscore.io.on_spark import rows_under
from camscore.rows import FRAME_ROW_NUMBER, FRAME_ROW_RULE, OUTPUT_ORDER, PARTITION_COLUMNS

STAGING = "_compacting"


@dataclass(frozen=True)
class Compacted:
    """What compacting a day did; ``overlap_seconds``: how long readers could see rows twice."""

    date: str
    batches_read: int
    rows: int
    files: int
    batch: str | None
    overlap_seconds: float
    duplicates: int = 0

    def format(self) -> str:
        if self.batch is None:
            return f"date {self.date}: {self.batches_read} batch, nothing to compact"
        return (f"date {self.date}: {self.rows} rows of {self.batches_read} batches now in batch {self.batch}, "
                f"{self.files} files, {self.duplicates} repeated rows of a frame dropped (kept: {FRAME_ROW_RULE}); "
                f"readers could see rows twice for {self.overlap_seconds * 1000:.0f} ms")


def compact_day(spark: SparkSession, settings: Settings, *, output: str, date: str, file_mb: int) -> Compacted:
    """Rewrites the ``date=`` partition's batches into one batch of files of about ``file_mb``.

    A date with no rows (cameras that sent nothing that day) has nothing to compact: that is no error.

    Raises:
        InputError: there is no output at all.
        LeaseHeld: a scoring run (or another compaction) holds the output.
        CompactionCheckFailed: the rows written are not those read; nothing changed.
    """
    base = output.rstrip("/")
    day = f"{base}/date={date}"
    if not storage.exists(base, s3=None, spark=spark):
        raise InputError(f"{base} does not exist: no output to compact")
    with lease.held(base, seconds=settings.score.lease_seconds, s3=settings.s3, spark=spark,
                    on_lost=spark.sparkContext.cancelAllJobs):
        batches = sorted(name for name in storage.folders(spark, day) if name.startswith("batch=")) \
            if storage.exists(day, s3=None, spark=spark) else []
        if len(batches) < 2:
            return Compacted(date, len(batches), 0, 0, None, 0.0)
        columns = [c for c in OUTPUT_ORDER if c not in PARTITION_COLUMNS]
        read = rows_under(spark, base, [f"date={date}/{name}" for name in batches])
        rows = one_per_frame(read)
        count, digest = _count_and_digest(rows, columns)
        duplicates = read.count() - count
        size = sum(storage.size(spark, f"{day}/{b}") for b in batches)
        files = max(1, math.ceil(size / (file_mb * 2 ** 20)))
        batch = "c" + hashlib.sha256(",".join(batches).encode()).hexdigest()[:16]
        staging = f"{base}/{STAGING}/{batch}"
        storage.delete(spark, staging)  # what an earlier compaction that died left
        (rows.select(*columns)
         .repartition(files).sortWithinPartitions("camera_id", "captured_at", "path")
         .write.parquet(staging))
        storage.delete(spark, f"{staging}/_SUCCESS")
        written = _count_and_digest(spark.read.parquet(staging), columns)
        if written != (count, digest):
            storage.delete(spark, staging)
            raise CompactionCheckFailed(f"compacting {day}: the rows written ({written[0]}) are not the {count} read; "
                               f"nothing changed")
        started = time.perf_counter()
        storage.rename(spark, staging, f"{day}/batch={batch}")
        for name in batches:
            storage.delete(spark, f"{day}/{name}")
        overlap = time.perf_counter() - started
        storage.delete(spark, f"{base}/{STAGING}")
    return Compacted(date, len(batches), count, files, batch, overlap, duplicates)


def one_per_frame(rows: DataFrame) -> DataFrame:
    """One row per frame (``path``), by the one rule (camscore.rows.FRAME_ROW_NUMBER): a scored row before an
    error that lasts, before a passing one, then the latest ``scored_at``, then the greatest ``batch``."""
    return rows.withColumn("_frame_row", F.expr(FRAME_ROW_NUMBER)).where("_frame_row = 1").drop("_frame_row")


def _count_and_digest(rows: DataFrame, columns: list[str]) -> tuple[int, int]:
    """How many rows, and a sum of their hashes: equal for the same rows in any order and any files."""
    row = rows.agg(F.count(F.lit(1)), F.sum(F.xxhash64(*columns).cast("decimal(38,0)"))).first()
    return row[0], int(row[1] or 0)
