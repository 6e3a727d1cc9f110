"""Model quality on real photos: the resize filter and the classifier, each measured with the same folds.

Every filter trains a model with the training job (its defaults otherwise) on the same photos; the
classifiers are then compared on one filter's cached features with the folds the job used, each fold a
Spark task. Beside each filter: its decoding cost per frame (JPEG draft decoding, then the filter) on a
32x32 photo and on the seed's 960x576 CCTV frame as a camera sends it, and what the trained model says
of the seed's car frames (downscaled, where nearest aliases).
"""

from __future__ import annotations

import dataclasses
import io
import statistics
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
from PIL import Image
from pyspark.sql import SparkSession

from camscore.config import Settings
from camscore.model.imaging import DecodeOptions, decode_frame
from camscore.model.model_dir import load_model
from camscore.model.spec import CoreSpec
from camscore.model.training import DEFAULT_PARAMS, ORIGINAL_PARAMS, FoldResult, evaluate
from camscore.policy import TRAINING_RESAMPLE, TRAINING_ROUNDS
from camscore.rows import FrameRead
from camscore.stages.train import cross_validate, prepare_train, run_train
from camscore.vocabulary import ORIGINAL_RESAMPLE, RESAMPLING

# name: LightGBM parameters and rounds, or ("logistic", C) for a logistic regression on standardized features.
CLASSIFIERS: Mapping[str, tuple[Any, Any]] = {
    "original (256 leaves, 100 rounds)": (ORIGINAL_PARAMS, 100),
    f"camscore (15 leaves, ff 0.2, lr 0.05, {TRAINING_ROUNDS} rounds)": (DEFAULT_PARAMS, TRAINING_ROUNDS),
    f"31 leaves, ff 0.2, lr 0.05, {TRAINING_ROUNDS} rounds": ({**DEFAULT_PARAMS, "num_leaves": 31}, TRAINING_ROUNDS),
    "7 leaves, ff 0.1, lr 0.05, 800 rounds": ({**DEFAULT_PARAMS, "num_leaves": 7, "feature_fraction": 0.1}, 800),
    "logistic regression, C 0.01": ("logistic", 0.01),
    "logistic regression, C 0.1": ("logistic", 0.1),
}
DECODE_REPEATS = 200
CCTV_FRAME = "car_cctv_960x576.png"


def measure(spark: SparkSession, settings: Settings, photos: Path, *, labels: Mapping[str, int],
            seed_frames: Path, workdir: Path, filters: tuple[str, ...] = RESAMPLING,
            report: Callable[[str], None] = print) -> dict[str, Any]:
    """CV AUC and accuracy of the training job per filter, the classifiers on the default filter's features
    (and on nearest's), and each filter's decoding cost; ``settings`` gives weights and featurizer."""
    photo = next(iter(sorted(photos.rglob("*.png")))).read_bytes()
    cctv = _as_camera_jpeg(seed_frames / CCTV_FRAME) if (seed_frames / CCTV_FRAME).exists() else None
    seed_cars = sorted(seed_frames.glob("car_*.png")) if seed_frames.is_dir() else []
    results: dict[str, Any] = {"photos": str(photos), "filters": {}, "classifiers": {}}
    trained = {}
    for name in filters:
        run = dataclasses.replace(
            settings, featurizer=dataclasses.replace(settings.featurizer, resample=name),
            train=dataclasses.replace(settings.train, input=str(photos.resolve()), labels=dict(labels),
                                      model_out=str(workdir / "models" / name),
                                      feature_cache=str(workdir / "feature-cache")))
        trained[name] = result = run_train(spark, prepare_train(run))
        measured = {"frames": len(result.dataset.labels), **_summary(result.folds),
                    "ms_photo": _decode_ms(photo, name),
                    "ms_cctv": _decode_ms(cctv, name) if cctv else None,
                    "seed_cars": _seed_probabilities(result.model_out, seed_cars)}
        results["filters"][name] = measured
        report(f"resample {name}: CV AUC {measured['auc']:.4f} ± {measured['auc_std']:.4f}, accuracy "
               f"{measured['accuracy']:.3f}; decode {measured['ms_photo']:.2f} ms (32x32 PNG), "
               f"{measured['ms_cctv'] or float('nan'):.2f} ms (960x576 JPEG)")
    for name in dict.fromkeys(f for f in (TRAINING_RESAMPLE, ORIGINAL_RESAMPLE) if f in trained):
        dataset = trained[name].dataset
        assignment = np.empty(len(dataset.labels), dtype=int)
        for fold in trained[name].folds:
            assignment[fold.held_out] = fold.fold
        results["classifiers"][name] = compared = {}
        for label, (method, value) in CLASSIFIERS.items():
            folds = (_logistic_folds(spark, dataset.features, dataset.labels, assignment, c=value)
                     if method == "logistic" else
                     cross_validate(spark, dataset, assignment, job=dataclasses.replace(
                         settings.train, params=method, rounds=value, early_stopping_rounds=None)))
            compared[label] = _summary(folds)
            report(f"{name} features, {label}: CV AUC {compared[label]['auc']:.4f} ± {compared[label]['auc_std']:.4f}")
    return results


def format_quality(results: dict[str, Any]) -> str:
    """The filter table and the classifier table."""
    lines = [f"model quality on real photos ({results['photos']}): the training job's CV AUC by resize filter; "
             f"decoding cost a frame (median of {DECODE_REPEATS}, JPEG draft decoding then the filter); "
             "p(car) of the seed's car frames by that filter's model",
             f"{'resample':<9} {'frames':>6} {'CV AUC':>7} {'±':>6} {'acc':>6} {'ms 32x32':>8} {'ms 960x576':>10}  "
             "p(seed cars)"]
    for name, measured in results["filters"].items():
        cctv = measured["ms_cctv"]
        lines.append(f"{name:<9} {measured['frames']:>6} {measured['auc']:>7.4f} {measured['auc_std']:>6.4f} "
                     f"{measured['accuracy']:>6.3f} {measured['ms_photo']:>8.2f} "
                     f"{cctv if cctv is not None else float('nan'):>10.2f}  "
                     + ", ".join(f"{p:.3f}" for p in measured["seed_cars"]))
    for name, compared in results["classifiers"].items():
        lines += ["", f"classifiers on the {name} features, the same folds",
                  f"{'classifier':<52} {'CV AUC':>7} {'±':>6} {'acc':>6}"]
        for label, measured in compared.items():
            lines.append(f"{label:<52} {measured['auc']:>7.4f} {measured['auc_std']:>6.4f} "
                         f"{measured['accuracy']:>6.3f}")
    return "\n".join(lines)


def _summary(folds: list[FoldResult]) -> dict[str, float]:
    return {"auc": float(np.mean([f.auc for f in folds])), "auc_std": float(np.std([f.auc for f in folds])),
            "accuracy": float(np.mean([f.accuracy for f in folds]))}


def _logistic_folds(spark: SparkSession, features: np.ndarray, labels: np.ndarray, assignment: np.ndarray, *,
                    c: float) -> list[FoldResult]:
    """A logistic regression on standardized features per fold, the folds side by side as Spark tasks."""
    context = spark.sparkContext
    data = context.broadcast((features, labels, assignment))

    def fold_result(fold: int) -> FoldResult:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        x, y, folds = data.value
        train, held_out = folds != fold, np.flatnonzero(folds == fold)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
        model.fit(x[train], y[train])
        return evaluate(fold, y[held_out], model.predict_proba(x[held_out])[:, 1], held_out=held_out, rounds=0)

    count = int(assignment.max()) + 1
    try:
        return context.parallelize(range(count), count).map(fold_result).collect()
    finally:
        data.unpersist()


def _as_camera_jpeg(path: Path) -> bytes:
    """A frame as a camera uploads it: JPEG, quality 90."""
    buffer = io.BytesIO()
    Image.open(path).convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _decode_ms(data: bytes, resample: str) -> float:
    options = DecodeOptions(resample=resample)
    times = []
    for _ in range(DECODE_REPEATS):
        started = time.perf_counter()
        decode_frame(data, options)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def _seed_probabilities(model_dir: str, frames: list[Path]) -> list[float]:
    """What the model in ``model_dir`` says of each frame, scored as the service scores it."""
    if not frames:
        return []
    scored = CoreSpec.from_model(load_model(model_dir), Settings(), carried_only=True).build().score(
        [FrameRead(path.read_bytes()) for path in frames])
    failed = [f"{path}: {error}" for path, error in zip(frames, scored.errors) if error is not None]
    if failed:
        raise ValueError(f"seed frames not scored: {'; '.join(failed)}")
    return scored.probability
