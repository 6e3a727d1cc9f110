"""Rewrites one day of the scoring job's output, every run's partition, into one partition of few files."""

import sys

from camscore.cli import run_job
from camscore.config import CompactOptions

FLAGS = ("spark.master",)


def main(argv: list[str] | None = None) -> int:
    def body(settings, options: CompactOptions) -> None:
        from camscore.stages.compact import compact_day
        from camscore.spark.session import spark_session

        print(compact_day(spark_session(settings.spark), settings, output=options.output, date=options.date,
                          file_mb=options.file_mb).format())

    return run_job(argv, __doc__, prog="compact", settings=FLAGS, options=CompactOptions, body=body, spark=True)


if __name__ == "__main__":
    sys.exit(main())
