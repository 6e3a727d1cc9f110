"""Scoring job: frames in S3 or any Hadoop URI -> ResNet50 + LightGBM -> Parquet.

Run locally as ``./submit.sh score ...`` or on a cluster as ``spark-submit jobs/score.py ...``.
"""

from __future__ import annotations

import argparse
import sys


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="score", description=__doc__.splitlines()[0],
        epilog="Flags override the config file; the config file overrides built-in defaults.")
    parser.add_argument("--input", help="frames: s3://bucket/prefix (boto3) or a Hadoop URI / local folder")
    parser.add_argument("--model", help="model directory with booster.txt and manifest.json (local or s3://)")
    parser.add_argument("--output", help="Parquet output folder (local path, hdfs://, s3a://)")
    parser.add_argument("--config", help="YAML config file (e.g. conf/local.yaml)")
    parser.add_argument("--master", help="Spark master, e.g. local[2]; default: spark.master in the config, "
                                         "else what spark-submit sets")
    parser.add_argument("--batch-size", type=int, help="frames per Arrow batch and forward pass (default 64)")
    parser.add_argument("--layer", choices=("avg_pool", "predictions"),
                        help="feature layer; default: the model manifest's")
    parser.add_argument("--weights", help="imagenet, a weights file, an s3:// URI or none; "
                                          "default: the model manifest's")
    parser.add_argument("--allow-weights-mismatch", action="store_const", const=True, default=None,
                        help="score even when the weights differ from those the model was trained on")
    parser.add_argument("--only-new", action="store_const", const=True, default=None,
                        help="skip frames that already have a row by this model in the output "
                             "(for schedulers re-reading a growing prefix)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from camscore.cli import run_main
    from camscore.config import load_settings
    from camscore.score_job import run_score
    from camscore.session import spark_session

    def body() -> None:
        settings = load_settings(args.config, overrides={
            "score.input": args.input, "score.model": args.model, "score.output": args.output,
            "score.allow_weights_mismatch": args.allow_weights_mismatch, "score.only_new": args.only_new,
            "featurizer.batch_size": args.batch_size, "featurizer.layer": args.layer,
            "featurizer.weights": args.weights})
        summary = run_score(spark_session(settings.spark, master=args.master), settings)
        print(summary.format())

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
