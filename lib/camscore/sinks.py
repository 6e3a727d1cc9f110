"""Writing scores as Parquet and the run summary beside them."""

from __future__ import annotations

import json
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from camscore.errors import ConfigError

OUTPUT_ORDER = ("path", "camera_id", "captured_at", "date", "probability", "label", "label_name",
                "error", "model_id", "scored_at", "batch")
PARTITION_COLUMNS = ("date", "batch")
SUMMARY_FILE = "_summary.json"


def check_writable(spark: SparkSession, output: str) -> None:
    """Stops before any Spark work when no Hadoop filesystem serves the output's scheme."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(output)
    try:
        path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    except Py4JJavaError as exc:
        if "UnsupportedFileSystemException" not in str(exc):
            raise
        scheme = output.split("://", 1)[0]
        raise ConfigError(
            f"no Hadoop filesystem for output {output} (scheme {scheme!r}); write to a local path, "
            f"hdfs://, or s3a:// on a cluster with hadoop-aws") from None


def write_scores(scores: DataFrame, output: str) -> None:
    """Appends the run's rows, replacing only the (date, batch) partitions this run writes.

    ``batch`` is a fingerprint of the run's input and model, so re-running the
    same input replaces its own rows and never touches other runs' rows of the
    same day (plain dynamic overwrite of date= partitions would delete them).
    """
    (scores.select(*OUTPUT_ORDER)
     .write.mode("overwrite")
     .option("partitionOverwriteMode", "dynamic")
     .partitionBy(*PARTITION_COLUMNS)
     .parquet(output))


def count_outcomes(spark: SparkSession, output: str, *, batch: str) -> dict[str, int]:
    """Rows of one batch in the output by outcome: ``scored`` or the error kind."""
    try:
        rows = spark.read.parquet(output).where(F.col("batch") == batch)
    except AnalysisException:
        return {}
    kind = F.when(F.col("error").isNull(), F.lit("scored")).otherwise(F.split("error", ":").getItem(0))
    return {row["kind"]: row["count"] for row in rows.groupBy(kind.alias("kind")).count().collect()}


def write_summary(spark: SparkSession, output: str, summary: dict[str, Any]) -> str:
    """Writes ``_summary.json`` in the output folder through Hadoop's filesystem; returns its URI."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(output.rstrip("/") + "/" + SUMMARY_FILE)
    stream = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).create(path, True)
    try:
        stream.write(bytearray(json.dumps(summary, indent=2, sort_keys=True).encode()))
    finally:
        stream.close()
    return path.toString()
