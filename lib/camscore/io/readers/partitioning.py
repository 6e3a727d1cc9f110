"""How a run is cut into tasks: partitions in a multiple of the cores, a few tasks a core."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from camscore.config import SourceSettings
from camscore.io.python_paths import camera_and_time
from camscore.rows import LISTING_COLUMNS, PATH_FIELD_COLUMNS, names
from camscore.spark.schema import struct
from camscore.spark.session import run_conf

# A frame as a reader lists it: what the store says of it, and what its path gives its row.
LISTED_COLUMNS = LISTING_COLUMNS + PATH_FIELD_COLUMNS
TASKS_PER_CORE = 4
FEWEST_FRAMES_PER_TASK = 16  # below it a task's fixed cost (its Arrow stream, its write) starts to show


def balanced_partitions(lengths: list[int], *, open_cost: int, max_partition_bytes: int, cores: int) -> int:
    """How many partitions files of these lengths should fill: a multiple of ``cores``, each
    partition at most ``max_partition_bytes``.

    Spark counts a file as its length plus ``open_cost`` when it packs files into partitions.
    Left to itself it fills partitions up to max_partition_bytes and leaves one remainder, so
    the last wave of tasks can leave all cores but one idle for a whole task.
    """
    return partitions_for(sum(length + open_cost for length in lengths), most=max_partition_bytes, cores=cores,
                           frames=len(lengths))


def partitions_for(amount: int, *, most: int, cores: int, frames: int) -> int:
    """Partitions, in a multiple of ``cores``, that hold ``amount`` at ``most`` each and give each core
    TASKS_PER_CORE tasks while each holds FEWEST_FRAMES_PER_TASK of the ``frames`` or more: a frame
    that retries then holds back its own task, not a core's whole share, and progress moves in small steps."""
    needed = max(math.ceil(amount / most), min(cores * TASKS_PER_CORE, frames // FEWEST_FRAMES_PER_TASK))
    return cores * max(1, math.ceil(needed / cores))


def scan_conf(spark: SparkSession, lengths: list[int]) -> dict[str, str]:
    """What makes a file scan of files of these lengths pack as many equal partitions as balanced_partitions says.

    Spark splits a scan's bytes by spark.sql.files.minPartitionNum unless that makes
    partitions larger than spark.sql.files.maxPartitionBytes or smaller than
    spark.sql.files.openCostInBytes, so another read while it is set (the output's
    Parquet, say) at worst gets as many partitions as this scan, never smaller than that.
    """
    as_bytes = spark.sparkContext._jvm.org.apache.spark.network.util.JavaUtils.byteStringAsBytes
    partitions = balanced_partitions(
        lengths, open_cost=as_bytes(spark.conf.get("spark.sql.files.openCostInBytes")),
        max_partition_bytes=as_bytes(spark.conf.get("spark.sql.files.maxPartitionBytes")),
        cores=spark.sparkContext.defaultParallelism)
    return {"spark.sql.files.minPartitionNum": str(partitions)}


def listed_on_driver(spark: SparkSession, listed: list[tuple], *, source: SourceSettings):
    """The listing of frames listed on the driver, ``(path, modification_time, length)`` each, with their camera
    and capture time (LISTED_COLUMNS), spread over the cores, and the rows a subset of it becomes."""
    context = spark.sparkContext
    partitions = partitions_for(len(listed), most=source.frames_per_partition, cores=context.defaultParallelism,
                                 frames=len(listed))
    # Naive times (from a Spark collect) are this process's local time, as Spark gave them.
    modified = [None if time is None else time.astimezone(dt.timezone.utc) for _, time, _ in listed]
    # Each frame's camera and capture time, read here on the driver, where the listing is.
    fields = [camera_and_time(path, time, source=source) for (path, _, _), time in zip(listed, modified)]
    frame = pd.DataFrame({
        "path": pd.Series([path for path, _, _ in listed], dtype=object),
        "modification_time": pd.to_datetime(modified, utc=True),
        "length": pd.array([length for _, _, length in listed], dtype="Int64"),
        "camera_id": pd.Series([camera for camera, _ in fields], dtype=object),
        "captured_at": pd.to_datetime([when for _, when in fields], utc=True)})
    # Through Arrow the JVM decodes the rows itself: listing, counting and fingerprinting start no Python worker.
    with run_conf(spark, {"spark.sql.execution.arrow.pyspark.enabled": "true",
                          "spark.sql.execution.arrow.pyspark.fallback.enabled": "false"}):
        listing = spark.createDataFrame(frame, struct(LISTED_COLUMNS)).repartition(partitions)

    def rows_of(wanted: DataFrame | None) -> DataFrame:
        if wanted is None:
            return listing
        # A subset comes out of a join, its partitions shuffled and coalesced (often to one): spread it
        # over the cores again, as the listing is.
        count = wanted.count()
        return wanted.select(*names(LISTED_COLUMNS)).repartition(
            partitions_for(count, most=source.frames_per_partition, cores=context.defaultParallelism, frames=count))

    return listing, rows_of

