"""What reading camera and capture time from N listed paths costs in Spark: camscore's one reading
(camscore.io.spark_paths.with_path_fields, the Python function applied in Spark's Python workers) against the same
reading written as Spark expressions (the way camscore did it before, kept here only as the yardstick).

Run from the checkout: ``PYSPARK_PYTHON=.venv/bin/python .venv/bin/python -m tools.path_fields_cost 200000``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import time

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from camscore.config import SourceSettings, SparkSettings
from camscore.io.on_spark import with_path_fields
from camscore.spark.session import spark_session

REGEX = r"(?P<camera_id>cam-\d+)/(?P<captured_at>\d{8}T\d{6})"


def spark_expressions(frames: DataFrame, source: SourceSettings) -> DataFrame:
    """The yardstick: Java's regex and Spark's datetime parsing (they differ from Python's on Unicode digits)."""
    java = re.sub(r"\(\?P<\w+>", "(", source.path_regex)
    groups = re.compile(source.path_regex).groupindex
    camera = F.regexp_extract("path", java, groups["camera_id"])
    parsed = F.try_to_timestamp(F.regexp_extract("path", java, groups["captured_at"]),
                                F.lit(source.captured_at_format))
    return (frames.withColumn("camera_id", F.when(camera != "", camera))
            .withColumn("captured_at", F.coalesce(parsed, F.col("modification_time"))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", type=int, nargs="?", default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    spark = spark_session(SparkSettings(master="local[2]", conf={"spark.ui.enabled": "false"}))
    source = SourceSettings(path_regex=REGEX)
    modified = dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)
    rows = [(f"s3://frames/cam-{i % 1000:03d}/20261120T{i % 24:02d}{i % 60:02d}{i % 60:02d}-{i}.jpg", modified, 1)
            for i in range(args.paths)]
    listing = spark.createDataFrame(rows, "path string, modification_time timestamp, length bigint")
    listing = listing.repartition(4).cache()
    listing.count()
    readings = {"python (camscore)": lambda: with_path_fields(listing, source=source),
                "spark expressions": lambda: spark_expressions(listing, source)}
    for name, read in readings.items():
        seconds = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            read().agg(F.countDistinct("camera_id"), F.max("captured_at")).collect()
            seconds.append(time.perf_counter() - started)
        best = min(seconds)
        print(f"{name:<18} {args.paths} paths: best of {args.repeats} {best:.2f} s, "
              f"{best / args.paths * 1e6:.1f} us a path")


if __name__ == "__main__":
    main()
