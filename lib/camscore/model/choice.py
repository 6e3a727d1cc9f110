"""Which featurizer a run uses: the config's featurizer.* settings over the trained model's or a new model's
defaults, one resolution for scoring and training (import-booster is told each value)."""

from __future__ import annotations

from dataclasses import dataclass

from camscore.config import (TRAINING_LAYER, TRAINING_PRECISION, TRAINING_RUNTIME, TRAINING_WEIGHTS,
                             FeaturizerSettings)
from camscore.model.featurizer import FeaturizerSpec, check_runtime


@dataclass(frozen=True, kw_only=True)
class FeaturizerChoice:
    """The featurizer a run asks for, before its weights are loaded and its graph made.

    Attributes:
        weights: where the weights come from: imagenet, a file, an s3:// URI or none.
        seed: the seed of the random weights when weights is none.
    """

    layer: str
    weights: str
    seed: int
    runtime: str
    precision: str


def chosen(requested: FeaturizerSettings, trained: FeaturizerSpec | None = None) -> FeaturizerChoice:
    """Each ``featurizer.*`` setting, else the trained model's (scoring), else a new model's (training).

    Raises:
        ModelError: the runtime has no such precision.
    """
    if trained is None:
        layer, weights, seed = TRAINING_LAYER, TRAINING_WEIGHTS, requested.seed
        runtime = requested.runtime or TRAINING_RUNTIME
        precision = requested.precision or TRAINING_PRECISION[runtime]
    else:
        layer, weights, seed = trained.layer, trained.weights_source, requested.seed
        if requested.weights is None and trained.weights.startswith("none:seed="):
            seed = int(trained.weights.split("=", 1)[1])
        runtime = requested.runtime or trained.runtime
        precision = requested.precision or trained.precision
    check_runtime(runtime, precision)
    return FeaturizerChoice(layer=requested.layer or layer, weights=requested.weights or weights, seed=seed,
                            runtime=runtime, precision=precision)
