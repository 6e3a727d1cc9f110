"""What --only-new costs as the output's history grows (by hand, not in CI).

    CAMSCORE_ORIGINAL=<folder> python -m tools.history [--days 30 --rows-per-day 100000 --new 20]

The model is the original notebook's booster over random weights, from the folder CAMSCORE_ORIGINAL names;
without it the tool stops in one line (exit 2) saying how to add it.
Scores ``--new`` frames from a local object store (SeaweedFS) with --only-new into an empty output and into
one holding ``days`` x ``rows-per-day`` earlier rows of the same model, in turn, ``--rounds`` times
(the first run of a process also warms its Python workers), and prints each run's seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

from pyspark.sql import functions as F

from camscore import storage
from camscore.assets.original import require_original
from camscore.cli import run_main
from camscore.config import load_settings
from camscore.model.model_dir import import_booster, load_model
from camscore.stages.score import prepare_score, run_score
from camscore.stages.batches import with_output_columns
from camscore.spark.session import spark_session
from camscore.io.on_spark import write_scores

from tools import samples
from tools.object_store import LocalObjectStore


def main(argv: list[str] | None = None) -> int:
    """Parses the flags and runs the measurement; returns the exit code (2: the original's files are missing)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rows-per-day", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    return run_main(lambda: measure(args))


def measure(args: argparse.Namespace) -> None:
    """Scores the new frames into an empty output and into one with history, ``args.rounds`` times each.

    Raises:
        ConfigError: CAMSCORE_ORIGINAL names no folder holding the original notebook's files.
    """
    booster = require_original().booster
    work = Path(tempfile.mkdtemp(prefix="camscore-history-"))
    with LocalObjectStore() as server:
        model = str(work / "model")
        import_booster(str(booster), model, layer="predictions", weights="none")
        model_id = load_model(model).manifest.model_id
        bucket = server.create_bucket("history")
        today = dt.datetime(2026, 11, 26, 8, tzinfo=dt.timezone.utc)
        for i in range(args.new):
            data = samples.frame_jpeg(samples.KINDS[i % 2], seed=i)
            moment = today + dt.timedelta(minutes=i)
            storage.write_bytes(f"{bucket}/in/cam-1/{moment:%Y%m%dT%H%M%S}.jpg", data, s3=server.settings)
        settings = load_settings(None, overrides={
            "score.input": f"{bucket}/in", "score.model": model, "score.only_new": True,
            "source.path_regex": r"(?P<camera_id>[^/]+)/(?P<captured_at>\d{8}T\d{6})\.jpg$",
            "spark.master": "local[2]"})
        settings = dataclasses.replace(settings, s3=server.settings)
        spark = spark_session(settings.spark)
        started = time.perf_counter()
        history = (spark.range(args.days * args.rows_per_day)
                   .select(F.format_string("s3://old/cam-%d/%d.jpg", F.col("id") % 50, F.col("id")).alias("path"),
                           (F.col("id") % 50).cast("string").alias("camera_id"),
                           (F.lit(today.timestamp()) - F.lit(86400) * (1 + F.col("id") % args.days)
                            ).cast("timestamp").alias("captured_at"),
                           F.lit(0.5).alias("probability"), F.lit(1).alias("label"), F.lit("car").alias("label_name"),
                           F.lit(None).cast("string").alias("error_kind"), F.lit(None).cast("string").alias("error")))
        for round_ in range(args.rounds):
            write_scores(with_output_columns(history, model_id=model_id, batch_id="bhistory", scored_at=today),
                         str(work / f"history-{round_}"))
        print(f"history: {args.days * args.rows_per_day:,} rows on {args.days} days, written {args.rounds} times "
              f"in {time.perf_counter() - started:.1f} s")
        for round_ in range(args.rounds):
            for name in ("empty", "history"):
                output = str(work / f"{name}-{round_}")
                run = prepare_score(dataclasses.replace(settings, score=dataclasses.replace(settings.score,
                                                                                             output=output)))
                summary = run_score(spark, run)
                print(f"{name}: {summary.frames_read} new frames scored; seconds {summary.seconds}")


if __name__ == "__main__":
    sys.exit(main())
