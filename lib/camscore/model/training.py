"""Fitting and cross-validating LightGBM boosters on feature vectors. No Spark here."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

import lightgbm
import numpy as np
from sklearn import metrics
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, train_test_split

from camscore.model.classifier import load_booster
from camscore.errors import InputError

# The original notebook's parameters (chosen for another data set); its saved booster records 100 rounds.
ORIGINAL_PARAMS: Mapping[str, Any] = {
    "objective": "binary",
    "num_leaves": 256,
    "learning_rate": 0.1,
    "min_split_gain": 0.1,
    "min_child_weight": 30,
    "reg_lambda": 1.0,
    "feature_fraction": 1.0,
}
# Measured on real photos with the same folds (docs/BENCHMARKS.md, model quality): small trees, each over a
# fifth of the features, learning slowly over train.rounds' default, beat the original's and need no more
# than a few hundred frames.
DEFAULT_PARAMS: Mapping[str, Any] = {**ORIGINAL_PARAMS, "num_leaves": 15, "min_child_weight": 1.0,
                                     "feature_fraction": 0.2, "learning_rate": 0.05}
METRICS = ("accuracy", "precision", "recall", "f1", "auc")


@dataclass(frozen=True, kw_only=True)
class Fit:
    """A fitted booster in LightGBM's text format and the rounds it kept."""

    booster_text: str
    rounds: int


def fit_booster(features: np.ndarray, labels: np.ndarray, *, params: Mapping[str, Any] | None = None,
                rounds: int, threads: int | None = None, seed: int = 2048,
                early_stopping_rounds: int | None = None, validation_fraction: float = 0.1) -> Fit:
    """Fits a binary booster.

    Args:
        features: ``(n, feature_count)`` array.
        labels: ``(n,)`` array of 0 and 1.
        params: LightGBM parameters over DEFAULT_PARAMS.
        rounds: boosting rounds (the most, with early stopping).
        threads: LightGBM threads; None lets LightGBM choose.
        seed: LightGBM's seed and the validation split's.
        early_stopping_rounds: when set, a stratified ``validation_fraction`` of
            the frames is held out and training stops when its log loss has not
            improved for this many rounds.
    """
    chosen = {**DEFAULT_PARAMS, **(params or {}), "seed": seed, "verbose": -1}
    if threads:
        chosen["num_threads"] = threads
    features = np.asarray(features, dtype=np.float32)
    labels = np.asarray(labels)
    if not early_stopping_rounds:
        booster = lightgbm.train(chosen, lightgbm.Dataset(features, label=labels), num_boost_round=rounds)
        return Fit(booster_text=booster.model_to_string(), rounds=rounds)
    fit_x, valid_x, fit_y, valid_y = train_test_split(
        features, labels, test_size=validation_fraction, stratify=labels, random_state=seed)
    training = lightgbm.Dataset(fit_x, label=fit_y)
    booster = lightgbm.train(
        chosen, training, num_boost_round=rounds,
        valid_sets=[lightgbm.Dataset(valid_x, label=valid_y, reference=training)],
        callbacks=[lightgbm.early_stopping(early_stopping_rounds, verbose=False)])
    kept = booster.best_iteration or rounds
    return Fit(booster_text=booster.model_to_string(num_iteration=kept), rounds=kept)


def assign_folds(labels: np.ndarray, *, folds: int, seed: int, groups: Sequence[str] | None = None) -> np.ndarray:
    """The fold (0 to folds-1) of every frame.

    Without groups: StratifiedKFold with shuffling, as the original. With
    groups: StratifiedGroupKFold, so that no group is in two folds.

    Raises:
        InputError: there are fewer groups than folds.
    """
    assignment = np.full(len(labels), -1, dtype=np.int32)
    if groups is None:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        splits = splitter.split(np.zeros(len(labels)), labels)
    else:
        distinct = len(set(groups))
        if distinct < folds:
            raise InputError(f"grouped cross-validation needs at least {folds} groups (one per fold); "
                             f"found {distinct}: use fewer folds or another --group-by")
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        splits = splitter.split(np.zeros(len(labels)), labels, groups=list(groups))
    for fold, (_, held_out) in enumerate(splits):
        assignment[held_out] = fold
    return assignment


@dataclass(frozen=True, kw_only=True)
class FoldResult:
    """Scores of one fold's held-out frames."""

    fold: int
    frames: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    auc: float
    confusion_matrix: list[list[int]]
    rounds: int
    held_out: list[int]
    probabilities: list[float]

    def metrics(self) -> dict[str, Any]:
        values = asdict(self)
        del values["held_out"], values["probabilities"]
        return values


def evaluate(fold: int, labels: np.ndarray, probabilities: np.ndarray, *, held_out: np.ndarray,
             rounds: int, threshold: float = 0.5) -> FoldResult:
    """Accuracy, precision, recall, F1, AUC and the confusion matrix of one fold."""
    predicted = (probabilities >= threshold).astype(int)
    both_classes = len(set(labels.tolist())) == 2
    return FoldResult(
        fold=fold, frames=len(labels),
        accuracy=float(metrics.accuracy_score(labels, predicted)),
        precision=float(metrics.precision_score(labels, predicted, zero_division=0)),
        recall=float(metrics.recall_score(labels, predicted, zero_division=0)),
        f1=float(metrics.f1_score(labels, predicted, zero_division=0)),
        auc=float(metrics.roc_auc_score(labels, probabilities)) if both_classes else float("nan"),
        confusion_matrix=metrics.confusion_matrix(labels, predicted, labels=[0, 1]).tolist(),
        rounds=rounds, held_out=held_out.tolist(), probabilities=probabilities.tolist(),
    )


def run_fold(fold: int, features: np.ndarray, labels: np.ndarray, assignment: np.ndarray, *,
             params: Mapping[str, Any], rounds: int, seed: int, threads: int | None,
             early_stopping_rounds: int | None, validation_fraction: float, threshold: float) -> FoldResult:
    """Trains on every fold but ``fold`` and scores ``fold``."""
    train = assignment != fold
    fit = fit_booster(features[train], labels[train], params=params, rounds=rounds, threads=threads, seed=seed,
                      early_stopping_rounds=early_stopping_rounds, validation_fraction=validation_fraction)
    booster = load_booster(fit.booster_text)
    held_out = np.flatnonzero(~train)
    probabilities = booster.predict(features[held_out], num_threads=threads or 0)
    return evaluate(fold, labels[held_out], probabilities, held_out=held_out, rounds=fit.rounds,
                    threshold=threshold)


def json_ready(value: Any) -> Any:
    """NaN (the AUC of a fold with one class) as None, which JSON can hold."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    return value


def summarize(results: Sequence[FoldResult]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation of every metric over the folds."""
    return {name: {"mean": float(np.mean([getattr(r, name) for r in results])),
                   "std": float(np.std([getattr(r, name) for r in results]))} for name in METRICS}


def format_table(results: Sequence[FoldResult]) -> str:
    """Per-fold metrics and mean ± std, as the original notebook printed them."""
    header = f"{'fold':>4}  {'accuracy':>8}  {'precision':>9}  {'recall':>6}  {'F1':>6}  {'AUC':>6}  confusion matrix"
    lines = [header]
    for r in sorted(results, key=lambda r: r.fold):
        lines.append(f"{r.fold + 1:>4}  {r.accuracy:8.3f}  {r.precision:9.3f}  {r.recall:6.3f}  {r.f1:6.3f}  "
                     f"{r.auc:6.4f}  {r.confusion_matrix}")
    summary = summarize(results)
    lines.append("mean  " + "  ".join(
        f"{summary[name]['mean']:.3f}±{summary[name]['std']:.3f}" for name in METRICS))
    return "\n".join(lines)
