"""Wraps a bare LightGBM booster file (such as the original notebook's) into a model directory."""

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from camscore.cli import run_job
from camscore.settings_engine import probability, setting
from camscore.labels import label_names, parse_labels
from camscore.policy import IMPORT_PRECISION, IMPORT_RESAMPLE, IMPORT_RUNTIME
from camscore.vocabulary import FEATURE_SIZES, PRECISIONS, RESAMPLING, RUNTIMES


@dataclass(frozen=True, kw_only=True)
class ImportOptions:
    """What import-booster takes besides the config file (which gives it the s3 section)."""

    booster: str = setting(help="LightGBM text model file (local or s3://)", required=True)
    layer: str = setting(help="the feature layer the booster was trained on", allowed=FEATURE_SIZES,
                         required=True)
    weights: str = setting(help="weights its features came from: imagenet, a weights file, an s3:// URI or none",
                           required=True)
    out: str = setting(help="model directory to write (local or s3://)", required=True)
    weights_seed: int = setting(0, "seed of the random weights when --weights none (featurizer.seed to train; "
                                   "its --seed is the folds')")
    runtime: str = setting(IMPORT_RUNTIME, "runtime it is scored with by default (openvino: the model directory "
                                           "carries the converted featurizer, and scoring needs no TensorFlow)",
                           allowed=RUNTIMES)
    precision: str = setting(IMPORT_PRECISION, "precision it is scored with by default (fp32: the features it was "
                                               "trained on; docs/BENCHMARKS.md gives the others' agreement); int8 needs "
                                               "--calibration", allowed=PRECISIONS)
    calibration: str | None = setting(None, "local folder of frames like those to be scored: int8 is quantized "
                                            "on 300 of them")
    resample: str = setting(IMPORT_RESAMPLE, "Pillow filter its frames were resized to 224x224 with (nearest: the "
                                             "original notebook's Keras load_img)", allowed=RESAMPLING)
    labels: Mapping[str, int] = setting({"bus": 0, "car": 1}, "label names and values, as train.labels",
                                        parse=parse_labels)
    threshold: float = setting(0.5, "probability at or above which the label is 1", check=probability)


def main(argv: list[str] | None = None) -> int:
    def body(settings, options: ImportOptions) -> None:
        from camscore import storage
        from camscore.stages import calibration
        from camscore.model.model_dir import import_booster

        decode = settings.featurizer.decode_options(options.resample)
        frames = calibration.of_folder(Path(options.calibration), decode=decode) if options.calibration else None
        manifest = import_booster(options.booster, options.out, layer=options.layer, weights=options.weights,
                                  seed=options.weights_seed, runtime=options.runtime, precision=options.precision,
                                  resample=options.resample, calibration=frames, label_names=label_names(options.labels),
                                  threshold=options.threshold, files=storage.StorageFiles(settings.s3))
        print(f"model {manifest.model_id} written to {options.out}")

    return run_job(argv, __doc__, prog="import-booster", options=ImportOptions, body=body)


if __name__ == "__main__":
    sys.exit(main())
