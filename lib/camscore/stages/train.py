"""The training job: labelled frames -> cached features -> K-fold LightGBM on Spark -> a model directory."""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from pyspark import TaskContext
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from camscore import storage
from camscore.config import Settings, TrainSettings
from camscore.labels import label_names
from camscore.errors import ConfigError, InputError
from camscore.io.on_spark import FrameSource, parent_folder, path_group, read_frames
from camscore.model.conversion import graph_for, quantized
from camscore.model.choice import FeaturizerChoice, chosen
from camscore.model.featurizer import FeaturizerSpec, Graph, OpenVinoGraph, OpenVinoModel
from camscore.model.imaging import DecodeOptions
from camscore.model.model_dir import OPENVINO_FILES, Manifest, make_manifest, save_model
from camscore.model.training import (DEFAULT_PARAMS, Fit, FoldResult, assign_folds, fit_booster, format_table,
                                     json_ready, run_fold, summarize)
from camscore.model.weights import Weights, load_weights
from camscore.spark.session import run_conf
from camscore.stages import calibration, plots
from camscore.stages.batches import arrow_batch_conf, worker_meter
from camscore.stages.feature_cache import features_for

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
CONFUSION_FILE = "confusion_matrix.png"
ROC_FILE = "roc.png"


@dataclass(frozen=True)
class Dataset:
    """Labelled feature vectors on the driver, sorted by path."""

    paths: list[str]
    features: np.ndarray
    labels: np.ndarray
    cameras: list[str]
    captured_at: list[Any]
    fingerprint: str


@dataclass(frozen=True)
class TrainResult:
    """What a training run made and measured."""

    manifest: Manifest
    model_out: str
    dataset: Dataset
    folds: list[FoldResult]
    table: str
    featurization: dict[str, Any]


@dataclass(frozen=True)
class PreparedTraining:
    """A training run checked before Spark starts: its settings, weights and featurizer choice."""

    settings: Settings
    weights: Weights
    featurizer: FeaturizerChoice


@dataclass(frozen=True)
class LabelledFrames:
    """The frames a training run learns from, with label_name, and the frames it skipped by label."""

    source: FrameSource
    wanted: DataFrame
    skipped: dict[str, int]


@dataclass(frozen=True)
class Featurized:
    """The featurizer a training run used and the dataset its features made."""

    graph: Graph
    spec: FeaturizerSpec
    dataset: Dataset
    excluded: Counter
    summary: dict[str, Any]


def prepare_train(settings: Settings) -> PreparedTraining:
    """Every check that needs no Spark: required settings, the model directory's location, the weights.

    Raises:
        ConfigError: --input or --model-out is missing, or the model directory cannot be written.
        ModelError: the weights cannot be loaded, or the runtime has no such precision.
    """
    job = settings.train
    for flag, value in (("--input", job.input), ("--model-out", job.model_out)):
        if not value:
            raise ConfigError(f"{flag} is required (or train.{flag[2:].replace('-', '_')} in the config file)")
    storage.check_writable(job.model_out, s3=settings.s3)
    choice = chosen(settings.featurizer)
    weights = load_weights(choice.weights, seed=choice.seed, files=storage.StorageFiles(settings.s3))
    return PreparedTraining(settings, weights, choice)


def run_train(spark: SparkSession, run: PreparedTraining) -> TrainResult:
    """Cross-validates, fits the final booster on all frames and writes the model directory.

    Raises:
        InputError: the input is empty, a label has no frames or fewer frames than folds.
    """
    job = run.settings.train
    labelled = list_labelled(spark, run)
    with run_conf(spark, {**arrow_batch_conf(run.settings.featurizer.batch_size), **labelled.source.conf}):
        featurized = featurize(spark, run, labelled)
    assignment = assign_folds(featurized.dataset.labels, folds=job.folds, seed=job.seed,
                              groups=groups_of(featurized.dataset, job))
    folds = cross_validate(spark, featurized.dataset, assignment, job=job)
    final_rounds = int(np.median([r.rounds for r in folds])) if job.early_stopping_rounds else job.rounds
    final = fit_booster(featurized.dataset.features, featurized.dataset.labels, params=job.params,
                        rounds=final_rounds, seed=job.seed)
    manifest = write_model(run, labelled, featurized, folds, final)
    return TrainResult(manifest, job.model_out, featurized.dataset, folds, format_table(folds), featurized.summary)


def list_labelled(spark: SparkSession, run: PreparedTraining) -> LabelledFrames:
    """The frames under train.input whose label is one of train.labels."""
    job = run.settings.train
    source = read_frames(spark, job.input, source=run.settings.source, s3=run.settings.s3)
    labelled = source.listing.withColumn("label_name", _label_column(job))
    found = {row["label_name"]: row["count"] for row in labelled.groupBy("label_name").count().collect()}
    _check_counts(found, job.labels, folds=job.folds, uri=job.input, stage="found")
    skipped = {name: count for name, count in found.items() if name not in job.labels}
    if skipped:
        log.info("skipped %d frames that match no label (%s)", sum(skipped.values()),
                 ", ".join(f"{name or '?'}: {count}" for name, count in sorted(skipped.items(), key=str)))
    return LabelledFrames(source, labelled.where(F.col("label_name").isin(list(job.labels))), skipped)


def featurize(spark: SparkSession, run: PreparedTraining, labelled: LabelledFrames) -> Featurized:
    """The labelled frames' features (from the cache where it has them) on the driver, as a Dataset."""
    job, choice = run.settings.train, run.featurizer
    decode = run.settings.featurizer.decode_options(choice.resample)
    graph = _graph(spark, run, labelled, decode)
    spec = FeaturizerSpec(layer=graph.layer, weights=run.weights.identity, weights_source=run.weights.source,
                          runtime=graph.runtime, precision=graph.precision, graph=graph.identity,
                          resample=choice.resample)
    features = features_for(spark, labelled.source, labelled.wanted, spec=spec, graph=graph, decode=decode,
                            cache=job.feature_cache, meter=worker_meter(spark))
    log.info("features of %d frames in %.1fs (%d computed with ResNet50, %d from the cache)",
             features.computed + features.cached, features.seconds, features.computed, features.cached)
    dataset, excluded = _collect(features.rows, job.labels)
    if excluded:
        log.info("left out %d frames that failed to decode: %s", sum(excluded.values()),
                 ", ".join(f"{kind} {count}" for kind, count in sorted(excluded.items())))
    _check_counts(Counter(label_names(job.labels)[label] for label in dataset.labels), job.labels, folds=job.folds,
                  uri=job.input, stage="decoded")
    summary = {"frames": features.computed + features.cached, "computed": features.computed,
               "cached": features.cached, "seconds": round(features.seconds, 2)}
    return Featurized(graph, spec, dataset, excluded, summary)


def _graph(spark: SparkSession, run: PreparedTraining, labelled: LabelledFrames, decode: DecodeOptions) -> Graph:
    """The featurizer's graph. int8 is calibrated once per feature cache and input: a later run over more
    frames of the same input reuses the int8 model the first one stored in the cache, so the features cached
    so far stay valid."""
    choice, cache, s3 = run.featurizer, run.settings.train.feature_cache, run.settings.s3
    if choice.precision != "int8":
        return graph_for(run.weights, layer=choice.layer, runtime=choice.runtime, precision=choice.precision)
    fp32 = graph_for(run.weights, layer=choice.layer, runtime=choice.runtime, precision="fp32")
    if not cache:
        return quantized(fp32, calibration.of_source(labelled.source, labelled.wanted, decode=decode))
    key = hashlib.sha256(json.dumps([fp32.identity, asdict(decode), run.settings.train.input]).encode()).hexdigest()
    # A pointer names the folder that holds the model: the first run to create it wins, and a run that loses
    # the race uses the winner's model, so no two models share one folder.
    stem = f"{cache.rstrip('/')}/int8={key[:16]}"
    store = storage.resolve(stem, s3=s3, spark=spark)
    if not store.exists(f"{stem}.json"):
        graph = quantized(fp32, calibration.of_source(labelled.source, labelled.wanted, decode=decode))
        folder = f"{stem}-{graph.identity.removeprefix('sha256:')[:16]}"
        for name, data in zip(OPENVINO_FILES, (graph.model.xml, graph.model.bin)):
            store.write(f"{folder}/{name}", data)
        if store.create(f"{stem}.json", json.dumps({"folder": folder}).encode()) is not None:
            return graph
    folder = json.loads(store.read(f"{stem}.json"))["folder"]
    log.info("the int8 featurizer calibrated by an earlier run over this input and feature cache: %s", folder)
    model = OpenVinoModel(*(store.read(f"{folder}/{name}") for name in OPENVINO_FILES))
    return OpenVinoGraph(layer=choice.layer, precision="int8", model=model)


def write_model(run: PreparedTraining, labelled: LabelledFrames, featurized: Featurized, folds: list[FoldResult],
                final: Fit) -> Manifest:
    """Writes the model directory: booster, manifest, featurizer, metrics and plots."""
    job, s3, dataset = run.settings.train, run.settings.s3, featurized.dataset
    names = label_names(job.labels)
    manifest = make_manifest(final.booster_text, featurizer=featurized.spec, label_names=names,
                             training={
        "input": job.input,
        "fingerprint": dataset.fingerprint,
        "frames": {names[value]: int((dataset.labels == value).sum()) for value in (0, 1)},
        "left_out": dict(featurized.excluded),
        "skipped_unlabelled": sum(labelled.skipped.values()),
        "folds": job.folds, "group_by": job.group_by, "seed": job.seed,
        "params": {**DEFAULT_PARAMS, **job.params}, "rounds": final.rounds,
        "cv": json_ready(summarize(folds)),
    })
    metrics = {"folds": [r.metrics() for r in folds], "summary": summarize(folds), "group_by": job.group_by,
               "model_id": manifest.model_id, "featurization": featurized.summary}
    graph = featurized.graph
    save_model(job.model_out, final.booster_text, manifest,
               openvino=graph.model if isinstance(graph, OpenVinoGraph) else None, files=storage.StorageFiles(s3))
    storage.write_bytes(storage.join(job.model_out, METRICS_FILE),
                        json.dumps(json_ready(metrics), indent=2, allow_nan=False).encode(), s3=s3)
    storage.write_bytes(storage.join(job.model_out, CONFUSION_FILE),
                        plots.confusion_matrix_png(folds, names), s3=s3)
    storage.write_bytes(storage.join(job.model_out, ROC_FILE), plots.roc_png(folds, dataset.labels), s3=s3)
    return manifest


def cross_validate(spark: SparkSession, dataset: Dataset, assignment: np.ndarray, *,
                   job: TrainSettings, threshold: float = 0.5) -> list[FoldResult]:
    """Trains the folds side by side as Spark tasks, one fold per task, LightGBM threads = task cores."""
    context = spark.sparkContext
    data = context.broadcast((dataset.features, dataset.labels, assignment))
    params, rounds, seed = dict(job.params), job.rounds, job.seed
    early, fraction = job.early_stopping_rounds, job.validation_fraction

    def train_fold(fold: int) -> FoldResult:
        features, labels, folds = data.value
        task = TaskContext.get()
        return run_fold(fold, features, labels, folds, params=params, rounds=rounds, seed=seed,
                        threads=task.cpus() if task else None, early_stopping_rounds=early,
                        validation_fraction=fraction, threshold=threshold)

    count = int(assignment.max()) + 1
    try:
        return context.parallelize(range(count), count).map(train_fold).collect()
    finally:
        data.unpersist()


def groups_of(dataset: Dataset, job: TrainSettings) -> list[str] | None:
    """Cross-validation groups: none, the camera, or the camera and a time window."""
    if job.group_by == "none":
        return None
    cameras = [camera or "?" for camera in dataset.cameras]
    if job.group_by == "camera":
        return cameras
    window = job.group_window_minutes * 60
    return [f"{camera}@{int(moment.timestamp()) // window}" for camera, moment in zip(cameras, dataset.captured_at)]


def _label_column(job: TrainSettings) -> Column:
    return path_group(job.label_regex, "label") if job.label_regex else parent_folder()


def _check_counts(found: dict[str, int], labels: dict[str, int], *, folds: int, uri: str, stage: str) -> None:
    described = ", ".join(f"{name or '?'}: {count}" for name, count in sorted(found.items(), key=str)) or "nothing"
    if not found:
        raise InputError(f"no frames under {uri}")
    for name in labels:
        if not found.get(name):
            raise InputError(f"label {name!r} has no frames under {uri} ({stage}: {described}); labels come "
                             f"from the parent folder, or from train.label_regex")
    for name in labels:
        count = found[name]
        if count < folds:
            raise InputError(f"label {name!r} has {count} frames ({stage}), fewer than the {folds} folds; "
                             f"add frames or use fewer --folds")


def _collect(frames: DataFrame, labels: dict[str, int]) -> tuple[Dataset, Counter]:
    rows = (frames.select("path", "length", "modification_time", "camera_id", "captured_at", "label_name",
                          "features", "error_kind")
            .orderBy("path").collect())
    good = [row for row in rows if row["error_kind"] is None]
    excluded = Counter(row["error_kind"] for row in rows if row["error_kind"] is not None)
    digest = hashlib.sha256()
    for row in good:
        digest.update(f"{row['path']}|{row['length']}|{row['modification_time']}|{row['label_name']}\n".encode())
    dataset = Dataset(
        paths=[row["path"] for row in good],
        features=np.array([row["features"] for row in good], dtype=np.float32),
        labels=np.array([labels[row["label_name"]] for row in good], dtype=np.int32),
        cameras=[row["camera_id"] for row in good],
        captured_at=[row["captured_at"] for row in good],
        fingerprint=digest.hexdigest(),
    )
    return dataset, excluded
