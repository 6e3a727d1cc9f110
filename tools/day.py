"""What compaction gives analysts (by hand, not in CI).

    python -m tools.day [--runs 288 --frames-per-run 350]

Writes a day scored every five minutes (``runs`` batches of ``frames-per-run`` rows, as the
scoring job writes them), times an analyst's DuckDB query over it, compacts the day, and times
the same query again (the median of five each), with the window compaction left readers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
from pyspark.sql import functions as F

from camscore.stages.compact import compact_day
from camscore.config import load_settings
from camscore.stages.batches import with_output_columns
from camscore.spark.session import spark_session
from camscore.io.on_spark import write_scores

QUERY = ("select camera_id, date, count(*), avg(probability), count(error_kind) "
         "from read_parquet('{output}/*/*/*.parquet', hive_partitioning = true) group by all")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=288)
    parser.add_argument("--frames-per-run", type=int, default=350)
    args = parser.parse_args(argv)
    output = str(Path(tempfile.mkdtemp(prefix="camscore-day-")) / "scores")
    settings = load_settings(None, overrides={"spark.master": "local[2]"})
    spark = spark_session(settings.spark)
    day = dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)
    started = time.perf_counter()
    for run in range(args.runs):
        at = day + dt.timedelta(minutes=5 * run)
        rows = (spark.range(args.frames_per_run, numPartitions=1)
                .select(F.format_string(f"s3://frames/cam-%d/{run}-%d.jpg", F.col("id") % 20, F.col("id"))
                        .alias("path"),
                        (F.col("id") % 20).cast("string").alias("camera_id"),
                        F.lit(at).cast("timestamp").alias("captured_at"), F.rand(run).alias("probability"),
                        F.lit(1).alias("label"), F.lit("car").alias("label_name"),
                        F.lit(None).cast("string").alias("error_kind"), F.lit(None).cast("string").alias("error")))
        write_scores(with_output_columns(rows, model_id="m", batch_id=f"b{run:04d}", scored_at=at), output)
    print(f"{args.runs} runs of {args.frames_per_run} rows written in {time.perf_counter() - started:.1f} s")
    before = _median_seconds(output)
    print(f"before: {_files(output)} files, DuckDB query {before * 1000:.0f} ms")
    print(compact_day(spark, settings, output=output, date="2026-11-20", file_mb=128).format())
    after = _median_seconds(output)
    print(f"after:  {_files(output)} files, DuckDB query {after * 1000:.0f} ms ({before / after:.1f}x faster)")


def _median_seconds(output: str) -> float:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        duckdb.sql(QUERY.format(output=output)).fetchall()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _files(output: str) -> int:
    return len(list(Path(output).glob("*/*/*.parquet")))


if __name__ == "__main__":
    main()
