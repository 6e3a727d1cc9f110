"""The SparkSession of a camscore job."""

from __future__ import annotations

from pyspark.sql import SparkSession

from camscore.config import SparkSettings

# Defaults every camscore job relies on; spark.conf in the config file overrides them.
_DEFAULTS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}


def spark_session(settings: SparkSettings, *, master: str | None = None) -> SparkSession:
    """Gets or creates the session; ``master`` (a flag) wins over ``settings.master``."""
    builder = SparkSession.builder.appName(settings.app_name)
    chosen = master or settings.master
    if chosen:
        builder = builder.master(chosen)
    for key, value in {**_DEFAULTS, **settings.conf}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
