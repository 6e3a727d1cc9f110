"""Wraps a bare LightGBM booster file (such as the original notebook's) into a model directory."""

import sys
from pathlib import Path

from camscore.cli import run_job
from camscore.config import ImportOptions


def main(argv: list[str] | None = None) -> int:
    def body(settings, options: ImportOptions) -> None:
        from camscore import storage
        from camscore.stages import calibration
        from camscore.config import label_names
        from camscore.model.model_dir import import_booster

        decode = settings.featurizer.decode_options(options.resample)
        frames = calibration.of_folder(Path(options.calibration), decode=decode) if options.calibration else None
        manifest = import_booster(options.booster, options.out, layer=options.layer, weights=options.weights,
                                  seed=options.weights_seed, runtime=options.runtime, precision=options.precision,
                                  resample=options.resample, calibration=frames, label_names=label_names(options.labels),
                                  threshold=options.threshold, files=storage.Files(settings.s3))
        print(f"model {manifest.model_id} written to {options.out}")

    return run_job(argv, __doc__, prog="import-booster", options=ImportOptions, body=body)


if __name__ == "__main__":
    sys.exit(main())
