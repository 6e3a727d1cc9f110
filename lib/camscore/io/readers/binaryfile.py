"""The binaryfile reader (any other Hadoop URI): Spark's binaryFile source lists the files and reads their
bytes in the JVM's scan."""

from __future__ import annotations

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from camscore.config import SourceSettings
from camscore.io.readers.base import GONE, TOO_LARGE, FetchedBatch, Opened
from camscore.io.readers.listing import binary_files, listed_columns, unscanned
from camscore.io.readers.partitioning import scan_conf
from camscore.io.spark_paths import with_path_fields
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
    # The scan's listing is Spark's: each frame's camera and time are read in Spark's Python workers.
    listing = with_path_fields(frames.select(*names(LISTING_COLUMNS)), source=source)

    def rows(wanted: DataFrame | None) -> DataFrame:
        if wanted is None:
            return with_path_fields(frames, source=source)
        # A broadcast semi-join: the listed paths travel to the scan, the bytes stay where they are read.
        return with_path_fields(frames.join(F.broadcast(wanted.select("path")), "path", "left_semi"), source=source)

    return Opened(listing, rows, as_scanned, scan_conf(spark, list(scanned.values())))


def as_scanned(batch: pd.DataFrame) -> FetchedBatch:
    """The scan read the bytes in the JVM, so its rows already carry them."""
    reads = [FrameRead(content) if error is None else FrameRead(None, FrameError(kind, error))
             for content, error, kind in zip(batch["content"], batch["read_error"], batch["read_error_kind"])]
    return FetchedBatch(batch.drop(columns=list(_SCANNED)), reads)
