"""Prints the output's table and frames view for an engine, its column table or the service's answer keys.

All are made from the row contract (camscore.rows), as README shows them; the frames view keeps one row per
frame by the rule compaction and the report use."""

import sys
from dataclasses import dataclass

from camscore.cli import run_job
from camscore.settings_engine import setting
from camscore.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class DdlOptions:
    """What ddl takes: one of --dialect, --columns and --answer-keys."""

    dialect: str | None = setting(None, "the engine whose statements to print",
                                  allowed=("trino", "athena", "spark", "duckdb"))
    location: str | None = setting(None, "the output folder the table reads (default: a placeholder, "
                                         "s3://bucket/scores/, or /data/scores for duckdb)")
    columns: bool = setting(False, "print the output's columns as a Markdown table instead")
    answer_keys: bool = setting(False, "print the service's answer keys as a Markdown table instead")


def main(argv: list[str] | None = None) -> int:
    def body(_, options: DdlOptions) -> None:
        from camscore import ddl

        if sum((options.dialect is not None, options.columns, options.answer_keys)) != 1:
            raise ConfigError("ddl prints one thing: give one of --dialect trino|athena|spark|duckdb, --columns "
                              "and --answer-keys")
        if options.dialect:
            print(ddl.ddl(options.dialect, location=options.location))
        else:
            print(ddl.column_table() if options.columns else ddl.answer_keys())

    return run_job(argv, __doc__, prog="ddl", options=DdlOptions, body=body, config=False)


if __name__ == "__main__":
    sys.exit(main())
