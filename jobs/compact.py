"""Rewrites one day of the scoring job's output, every run's partition, into one partition of few files."""

import sys
from dataclasses import dataclass

from camscore.cli import run_job
from camscore.settings_engine import iso_date, positive, setting

FLAGS = ("spark.master",)


@dataclass(frozen=True, kw_only=True)
class CompactOptions:
    """What compact takes besides the config file (which gives it the s3 and spark sections)."""

    output: str = setting(help="the scoring job's Parquet output folder", required=True)
    date: str = setting(help="the day whose run partitions become one, as its folder names it: 2026-11-20",
                        required=True, check=iso_date)
    file_mb: int = setting(128, "about how large each Parquet file of the compacted day is (MiB)", check=positive)


def main(argv: list[str] | None = None) -> int:
    def body(settings, options: CompactOptions) -> None:
        from camscore.stages.compact import compact_day
        from camscore.spark.session import spark_session

        print(compact_day(spark_session(settings.spark), settings, output=options.output, date=options.date,
                          file_mb=options.file_mb).format())

    return run_job(argv, __doc__, prog="compact", settings=FLAGS, options=CompactOptions, body=body, spark=True)


if __name__ == "__main__":
    sys.exit(main())
