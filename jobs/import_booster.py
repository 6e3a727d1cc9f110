"""Wraps a bare LightGBM booster file (such as the original notebook's) into a model directory."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from camscore.classifier import IMPORT_PRECISION, IMPORT_RUNTIME
from camscore.featurizer import FEATURE_SIZES, PRECISIONS, RUNTIMES


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="import-booster", description=__doc__)
    parser.add_argument("--booster", required=True, help="LightGBM text model file (local or s3://)")
    parser.add_argument("--layer", required=True, choices=tuple(FEATURE_SIZES),
                        help="the feature layer the booster was trained on")
    parser.add_argument("--weights", required=True,
                        help="weights its features came from: imagenet, a weights file, an s3:// URI or none")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights when --weights none")
    parser.add_argument("--runtime", choices=RUNTIMES, default=IMPORT_RUNTIME,
                        help=f"runtime it is scored with by default (default {IMPORT_RUNTIME}: the model "
                             f"directory carries the converted featurizer, and scoring needs no TensorFlow)")
    parser.add_argument("--precision", choices=PRECISIONS, default=IMPORT_PRECISION,
                        help=f"precision it is scored with by default (default {IMPORT_PRECISION}, the features "
                             f"it was trained on; README gives the others' agreement); int8 needs --calibration")
    parser.add_argument("--calibration", type=Path,
                        help="local folder of frames like those to be scored: int8 is quantized on 300 of them")
    parser.add_argument("--labels", default="bus,car", help="names of label 0 and label 1 (default bus,car)")
    parser.add_argument("--threshold", type=float, default=0.5, help="probability at or above which label is 1")
    parser.add_argument("--out", required=True, help="model directory to write (local or s3://)")
    parser.add_argument("--config", help="YAML config file (for the s3 endpoint)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from camscore import calibration
    from camscore.classifier import import_booster
    from camscore.cli import run_main
    from camscore.config import load_settings

    def body() -> None:
        settings = load_settings(args.config)
        frames = (calibration.of_folder(args.calibration, decode=settings.featurizer.decode_options())
                  if args.calibration else None)
        manifest = import_booster(args.booster, args.out, layer=args.layer, weights=args.weights,
                                  seed=args.seed, runtime=args.runtime, precision=args.precision,
                                  calibration=frames,
                                  label_names=tuple(args.labels.split(",")),
                                  threshold=args.threshold, s3=settings.s3)
        print(f"model {manifest.model_id} written to {args.out}")

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
