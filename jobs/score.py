"""Scoring job: frames in S3 or any Hadoop URI -> ResNet50 + LightGBM -> Parquet.

Run locally as ``./submit.sh score ...`` or on a cluster as ``spark-submit jobs/score.py ...``.
"""

import sys

from camscore.cli import run_job

FLAGS = ("score.input", "score.model", "score.output", "spark.master", "featurizer.batch_size", "featurizer.layer",
         "featurizer.weights", "score.allow_weights_mismatch", "score.only_new",
         "score.held_exit_code", "score.run_label")


def main(argv: list[str] | None = None) -> int:
    def body(settings) -> None:
        from camscore.errors import LeaseHeld, one_line
        from camscore.stages.score import prepare_score, run_score
        from camscore.spark.session import spark_session

        run = prepare_score(settings)  # before Spark starts: a bad model or config stops the job at once
        try:
            print(run_score(spark_session(settings.spark), run).format())
        except LeaseHeld as held:
            if settings.score.held_exit_code:
                raise
            print(one_line(held).replace("error:", "skipped:", 1) + " (score.held_exit_code 0)", file=sys.stderr)

    return run_job(argv, __doc__, prog="score", settings=FLAGS, body=body, spark=True)


if __name__ == "__main__":
    sys.exit(main())
