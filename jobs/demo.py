"""The embedded default: scores generated camera frames on local Spark against an embedded S3 server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="demo", description=__doc__)
    parser.add_argument("--config", help="YAML config file (default: built-in defaults)")
    parser.add_argument("--master", default=None, help="Spark master (default: the config's, else local[2])")
    parser.add_argument("--workdir", default="out/demo", help="where the model and scores go (default out/demo)")
    parser.add_argument("--per-class", type=int, default=120, help="labelled frames per class (default 120)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from camscore.cli import run_main
    from camscore.config import load_settings
    from camscore.devtools.demo import run_demo

    def body() -> None:
        settings = load_settings(args.config)
        run_demo(settings, master=args.master or settings.spark.master or "local[2]",
                 workdir=Path(args.workdir), per_class=args.per_class)

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
