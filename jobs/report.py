"""Per camera and hour of the scoring job's output: frames, car share and errors, as Parquet; each camera's health
(dark, overexposed, covered, frozen, blurred, moved, silent) as camera_health.parquet; and index.html, one page of
both for operators: faulty cameras first with the frames that show the fault, a state timeline."""

import sys
from dataclasses import dataclass

from camscore.cli import run_job
from camscore.settings_engine import iso_date, setting

FLAGS = ("spark.master",)


@dataclass(frozen=True, kw_only=True)
class ReportOptions:
    """What report takes besides the config file."""

    output: str = setting(help="the scoring job's Parquet output folder", required=True)
    date: str | None = setting(None, "one day, as its folder names it: 2026-11-20; default: every day",
                               check=iso_date)
    to: str | None = setting(None, "where the report goes; default: the output's _reports/<date or all>")


def main(argv: list[str] | None = None) -> int:
    def body(settings, options: ReportOptions) -> None:
        from camscore.stages.report import write_report
        from camscore.spark.session import spark_session

        print(write_report(spark_session(settings.spark), options.output, date=options.date, to=options.to,
                           health=settings.health, s3=settings.s3).format())

    return run_job(argv, __doc__, prog="report", settings=FLAGS, options=ReportOptions, body=body, spark=True)


if __name__ == "__main__":
    sys.exit(main())
