"""Fitting LightGBM boosters on feature vectors. No Spark here."""

from __future__ import annotations

from typing import Any, Mapping

import lightgbm
import numpy as np

# The original notebook's parameters; its saved booster records 100 rounds.
DEFAULT_PARAMS: Mapping[str, Any] = {
    "objective": "binary",
    "num_leaves": 256,
    "learning_rate": 0.1,
    "min_split_gain": 0.1,
    "min_child_weight": 30,
    "reg_lambda": 1.0,
}
DEFAULT_ROUNDS = 100


def fit_booster(features: np.ndarray, labels: np.ndarray, *, params: Mapping[str, Any] | None = None,
                rounds: int = DEFAULT_ROUNDS, threads: int | None = None, seed: int = 2048) -> str:
    """Fits a binary booster and returns it in LightGBM's text format.

    Args:
        features: ``(n, feature_count)`` array.
        labels: ``(n,)`` array of 0 and 1.
        params: LightGBM parameters over DEFAULT_PARAMS.
        rounds: boosting rounds.
        threads: LightGBM threads; None lets LightGBM choose.
        seed: LightGBM's seed, for repeatable boosters.
    """
    chosen = {**DEFAULT_PARAMS, **(params or {}), "seed": seed, "verbose": -1}
    if threads:
        chosen["num_threads"] = threads
    dataset = lightgbm.Dataset(np.asarray(features, dtype=np.float32), label=np.asarray(labels))
    return lightgbm.train(chosen, dataset, num_boost_round=rounds).model_to_string()
