"""The binaryfile reader (any other Hadoop URI): Spark's binaryFile source lists the files and reads their
bytes in the JVM's scan."""

from __future__ import annotations

import pandas as pd
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from camscore import storage
from camscore.config import SourceSettings
from camscore.errors import InputError
from camscore.io.partitioning import scan_conf
from camscore.io.paths import extension_glob, hadoop_path
from camscore.io.reader import GONE, TOO_LARGE, FetchedBatch, Opened
from camscore.rows import LISTING_COLUMNS, ErrorKind, FrameError, FrameRead, names
from camscore.spark.schema import struct

# What the scan gives each frame besides its listing: its bytes, or why not.
_SCANNED = ("content", "read_error", "read_error_kind")
_SCANNED_COLUMNS = T.StructType(struct(LISTING_COLUMNS).fields + [
    T.StructField("content", T.BinaryType(), True),
    T.StructField("read_error", T.StringType(), True),
    T.StructField("read_error_kind", T.StringType(), True),
])


def open_frames(spark: SparkSession, uri: str, *, source: SourceSettings) -> Opened:
    found = binary_files(spark, uri, source=source)
    # binaryFile tests a file's length before it reads the file, so frames over max_frame_mb are never read.
    max_bytes = source.max_frame_mb * 2 ** 20
    columns = listed_columns()
    listed = found.select(*columns)
    too_large = F.format_string(TOO_LARGE, "length", F.lit(source.max_frame_mb))
    frames = (found.where(F.col("length") <= max_bytes)
              .select(*columns, "content", F.lit(None).cast("string").alias("read_error"),
                      F.lit(None).cast("string").alias("read_error_kind"))
              .unionByName(found.where(F.col("length") > max_bytes)
                           .select(*columns, F.lit(None).cast("binary").alias("content"),
                                   too_large.alias("read_error"),
                                   F.lit(ErrorKind.TOO_LARGE.value).alias("read_error_kind"))))
    scanned = {row["path"]: row["length"] for row in listed.collect()}
    missed = unscanned(spark, set(scanned), listed=found.inputFiles())
    if missed:
        frames = frames.unionByName(spark.createDataFrame(
            [(path, time, length, b"", None, None) if length == 0
             else (path, None, None, None, GONE.message, GONE.kind.value) for path, time, length in missed],
            _SCANNED_COLUMNS))
    listing = frames.select(*names(LISTING_COLUMNS))

    def rows(wanted: DataFrame | None) -> DataFrame:
        if wanted is None:
            return frames
        # A broadcast semi-join: the listed paths travel to the scan, the bytes stay where they are read.
        return frames.join(F.broadcast(wanted.select("path")), "path", "left_semi")

    return Opened(listing, rows, as_scanned, scan_conf(spark, list(scanned.values())))


def as_scanned(batch: pd.DataFrame) -> FetchedBatch:
    """The scan read the bytes in the JVM, so its rows already carry them."""
    reads = [FrameRead(content) if error is None else FrameRead(None, FrameError(kind, error))
             for content, error, kind in zip(batch["content"], batch["read_error"], batch["read_error_kind"])]
    return FetchedBatch(batch.drop(columns=list(_SCANNED)), reads)


def binary_files(spark: SparkSession, uri: str, *, source: SourceSettings) -> DataFrame:
    """Spark's binaryFile source over ``uri``: every file with one of the extensions, recursively."""
    storage.check_spark_location(spark, uri)
    try:
        return (spark.read.format("binaryFile")
                .option("recursiveFileLookup", "true")
                .option("pathGlobFilter", extension_glob(source.extensions))
                .load(uri))
    except AnalysisException as exc:
        raise InputError(f"cannot read frames from {uri}: {str(exc).splitlines()[0]}") from exc


def listed_columns() -> list[Column]:
    """binaryFile's columns as a listing's."""
    return [F.col("path"), F.col("modificationTime").alias("modification_time"), F.col("length")]


def unscanned(spark: SparkSession, scanned: set[str], *, listed: list[str]) -> list[tuple]:
    """``(path, modification_time, length)`` of the files among ``listed`` that a scan left out.

    Spark's file scan skips zero-byte files (``scanned`` are the paths it found), but they are
    frames the camera wrote, and each must get its own row (with an ``empty`` error). A file gone
    since it was listed has neither time nor length.
    """
    missing = sorted({hadoop_path(uri) for uri in listed} - scanned)
    statuses = [(path, storage.file_status(spark, path)) for path in missing]
    return [(path, None, None) if status is None else (path, status[1], 0)
            for path, status in statuses if status is None or status[0] == 0]
