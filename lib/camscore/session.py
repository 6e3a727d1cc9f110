"""The SparkSession of a camscore job."""

from __future__ import annotations

import contextlib
import re
from typing import Iterator, Mapping

from pyspark.sql import SparkSession

from camscore.config import SparkSettings

TASK_FAILURES = 4  # spark.task.maxFailures' default on a cluster
# Defaults every camscore job relies on; spark.conf in the config file overrides them.
_DEFAULTS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    # Spark counts each file as at least this many bytes when packing files into partitions. At the
    # 4 MB default a partition of binaryFile frames holds about 30 of them; at 1 MB about 110,
    # which measured 20% faster end to end (fewer, fuller Arrow batches and tasks).
    "spark.sql.files.openCostInBytes": "1048576",
    # A frame deleted between listing and reading must not fail the job: the scan skips it and the
    # scoring job writes its row with a read error.
    "spark.sql.files.ignoreMissingFiles": "true",
}


def spark_session(settings: SparkSettings) -> SparkSession:
    """Gets or creates the session; no master in the settings leaves it to spark-submit."""
    builder = SparkSession.builder.appName(settings.app_name)
    if settings.master:
        builder = builder.master(tolerant_master(settings.master))
    for key, value in {**_DEFAULTS, **settings.conf}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def tolerant_master(master: str) -> str:
    """A local master that retries a failed task as a cluster does (spark.task.maxFailures, 4), where
    Spark's own local mode gives up at the first failure: ``local[2]`` becomes ``local[2,4]``. A
    master that names its failures (``local[2,1]``), or is not local, stays as it is."""
    found = re.fullmatch(r"local(?:\[(\d+|\*)\])?", master)
    return f"local[{found.group(1) or 1},{TASK_FAILURES}]" if found else master


@contextlib.contextmanager
def run_conf(spark: SparkSession, values: Mapping[str, str]) -> Iterator[None]:
    """Sets Spark SQL properties a run needs for the length of the block, then restores the session's own."""
    before = {key: spark.conf.get(key, None) for key in values}
    for key, value in values.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)
