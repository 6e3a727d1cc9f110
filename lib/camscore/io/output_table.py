"""The output table on Spark: score rows written as Parquet (and the run summary beside them), and read back
(the rows of a batch or of dates, what a run already scored, its outcomes)."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from camscore import storage
from camscore.rows import (NO_DATE, OUTPUT_COLUMNS, OUTPUT_ORDER, PARTITION_COLUMNS, PASSING_KINDS, SCORE_COLUMNS,
                           SUMMARY_FILE, FrameError)
from camscore.spark.schema import struct

OUTPUT_SCHEMA = struct(OUTPUT_COLUMNS)


def write_scores(scores: DataFrame, output: str, *, append: bool = False) -> None:
    """Writes the run's rows, replacing only the (date, batch) partitions this run writes, or with
    ``append`` adding to them (more rows of a batch just written).

    ``batch`` is a fingerprint of the run's input and model, so re-running the
    same input replaces its own rows and never touches other runs' rows of the
    same day (plain dynamic overwrite of date= partitions would delete them).
    """
    writer = scores.select(*OUTPUT_ORDER).write.partitionBy(*PARTITION_COLUMNS)
    if append:
        writer.mode("append").parquet(output)
    else:
        writer.mode("overwrite").option("partitionOverwriteMode", "dynamic").parquet(output)


def error_rows(frames: DataFrame, error: FrameError) -> DataFrame:
    """Score rows of these frames (rows of a listing) that all carry one error and no probability."""
    given = {"error_kind": F.lit(error.kind.value), "error": F.lit(error.message)}
    return frames.select(*(
        F.col(column.name) if column.name in frames.columns and column.name not in given
        else given.get(column.name, F.lit(None)).cast(column.type).alias(column.name) for column in SCORE_COLUMNS))


def date_folder() -> Column:
    """The ``date=`` partition value of a frame's row (scoring.with_output_columns dates it by captured_at)."""
    return F.coalesce(F.to_date("captured_at").cast("string"), F.lit(NO_DATE))


def partition_dates(frames: DataFrame) -> list[str]:
    """The ``date=`` partition values the rows of these frames are written to."""
    return sorted(row[0] for row in frames.select(date_folder()).distinct().collect())


def rows_under(spark: SparkSession, output: str, folders: list[str] | None = None) -> DataFrame:
    """The output's rows in these partition folders (those that exist; None: the whole output), read with
    the output's schema, so files written before a column existed (``error_kind``) read as null. No other
    folder is listed or read: the cost follows the folders, not the output's history."""
    base = output.rstrip("/")
    wanted = [base] if folders is None else [f"{base}/{folder}" for folder in folders]
    found = [location for location in wanted if storage.exists(location, s3=None, spark=spark)]
    if not found:
        return spark.createDataFrame([], OUTPUT_SCHEMA)
    return spark.read.schema(OUTPUT_SCHEMA).option("basePath", base).parquet(*found)


def batch_rows(spark: SparkSession, output: str, *, batch_id: str, dates: list[str]) -> DataFrame:
    """The rows of one batch in the output, whose frames fall on ``dates``; none when no row has been written."""
    return rows_under(spark, output, [f"date={date}/batch={batch_id}" for date in dates])


def count_outcomes(spark: SparkSession, output: str, *, batch_id: str, dates: list[str]) -> dict[str, int]:
    """Rows of one batch in the output by outcome: ``scored`` or the error kind."""
    rows = batch_rows(spark, output, batch_id=batch_id, dates=dates)
    kind = F.coalesce(F.col("error_kind"), F.lit("scored"))
    return {row["kind"]: row["count"] for row in rows.groupBy(kind.alias("kind")).count().collect()}


def passing_paths(spark: SparkSession, output: str, *, batch_id: str, dates: list[str]) -> list[str]:
    """Paths of one batch's frames whose rows are passing errors (a later run reads them again)."""
    rows = batch_rows(spark, output, batch_id=batch_id, dates=dates)
    return [row[0] for row in rows.where(F.col("error_kind").isin(*PASSING_KINDS)).select("path").collect()]


def done_paths(spark: SparkSession, output: str, *, model_id: str, dates: list[str]) -> DataFrame:
    """Paths on ``dates`` that have a row by this model in the output, and whether every such row is an error
    that may pass (``passing``: a passing fault kept the frame from being read, and a later run tries again)."""
    rows = rows_under(spark, output, [f"date={date}" for date in dates]).where(F.col("model_id") == model_id)
    # Outputs before 0.2.0 have no error_kind; their error began with the kind.
    passing = F.coalesce(F.col("error_kind").isin(*PASSING_KINDS),
                         F.col("error").rlike("^(" + "|".join(PASSING_KINDS) + "):"), F.lit(False))
    return rows.groupBy("path").agg(F.min(passing).alias("passing"))


def write_summary(spark: SparkSession, output: str, text: str) -> str:
    """Writes ``_summary.json`` (its JSON text) in the output folder; returns its URI."""
    return storage.write_bytes(storage.join(output, SUMMARY_FILE), text.encode(), s3=None, spark=spark)
