"""Training job: labelled frames -> ResNet50 features -> K-fold LightGBM -> a model directory.

Run locally as ``./submit.sh train ...`` or on a cluster as ``spark-submit jobs/train.py ...``.
"""

import sys

from camscore.cli import run_job

FLAGS = ("train.input", "train.model_out", "spark.master", "train.labels", "train.folds", "train.seed",
         "train.group_by", "train.feature_cache", "featurizer.layer", "featurizer.weights")


def main(argv: list[str] | None = None) -> int:
    def body(settings) -> None:
        from camscore.spark.session import spark_session
        from camscore.stages.train import prepare_train, run_train

        run = prepare_train(settings)  # before Spark starts: bad settings or weights stop the job at once
        result = run_train(spark_session(settings.spark), run)
        print(result.table)
        print(f"model {result.manifest.model_id} written to {settings.train.model_out}")

    return run_job(argv, __doc__, prog="train", settings=FLAGS, body=body, spark=True)


if __name__ == "__main__":
    sys.exit(main())
