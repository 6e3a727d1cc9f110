"""Training job: labelled frames -> ResNet50 features -> stratified K-fold LightGBM -> a model directory.

Run locally as ``./submit.sh train ...`` or on a cluster as ``spark-submit jobs/train.py ...``.
"""

from __future__ import annotations

import argparse
import sys


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="train", description=__doc__.splitlines()[0],
        epilog="Flags override the config file; the config file overrides built-in defaults.")
    parser.add_argument("--input", help="labelled frames: s3://bucket/prefix or a Hadoop URI / local folder; "
                                        "the label is the parent folder (bus/..., car/...) unless "
                                        "train.label_regex says otherwise")
    parser.add_argument("--model-out", help="model directory to write (local or s3://)")
    parser.add_argument("--config", help="YAML config file (e.g. conf/local.yaml)")
    parser.add_argument("--master", help="Spark master, e.g. local[2]; default: spark.master in the config")
    parser.add_argument("--labels", help="label names and values (default bus=0,car=1)")
    parser.add_argument("--folds", type=int, help="cross-validation folds (default 5)")
    parser.add_argument("--seed", type=int, help="seed of the folds and of LightGBM (default 2048)")
    parser.add_argument("--group-by", choices=("none", "camera", "time"),
                        help="keep each camera (or camera and time window) in one fold (default none)")
    parser.add_argument("--feature-cache", help="Parquet location of cached features (a Hadoop URI or path)")
    parser.add_argument("--layer", choices=("avg_pool", "predictions"), help="feature layer (default avg_pool)")
    parser.add_argument("--weights", help="imagenet (default), a weights file, an s3:// URI or none")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from camscore.cli import run_main
    from camscore.config import load_settings
    from camscore.session import spark_session
    from camscore.train_job import run_train

    def body() -> None:
        settings = load_settings(args.config, overrides={
            "train.input": args.input, "train.model_out": args.model_out, "train.labels": args.labels,
            "train.folds": args.folds, "train.seed": args.seed, "train.group_by": args.group_by,
            "train.feature_cache": args.feature_cache, "featurizer.layer": args.layer,
            "featurizer.weights": args.weights})
        result = run_train(spark_session(settings.spark, master=args.master), settings)
        print(result.table)
        print(f"model {result.manifest.model_id} written to {settings.train.model_out}")

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
