"""Where imaging, featurizer and classifier meet Spark: the per-partition functions.

The driver broadcasts the ResNet50 weights and the booster text once; each
Python worker builds its Featurizer and Classifier on first use and keeps them,
keyed by what they are made of (models_key), for every later batch and task of
the job, and of later jobs of the session with the same models.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pandas as pd
from pyspark import Accumulator, AccumulatorParam, TaskContext
from pyspark.broadcast import Broadcast
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from camscore.model.classifier import Classifier, Model
from camscore.model.featurizer import Featurizer, Graph, KerasGraph
from camscore.model.imaging import DecodeOptions, FrameError, decode_frame
from camscore.io.sources import Fetch, FrameSource, fetch_cpu_seconds, fetched_ahead

log = logging.getLogger(__name__)

SCORE_COLUMNS = T.StructType([
    T.StructField("path", T.StringType(), False),
    T.StructField("camera_id", T.StringType(), True),
    T.StructField("captured_at", T.TimestampType(), True),
    T.StructField("probability", T.DoubleType(), True),
    T.StructField("label", T.IntegerType(), True),
    T.StructField("label_name", T.StringType(), True),
    T.StructField("error_kind", T.StringType(), True),
    T.StructField("error", T.StringType(), True),
])
FEATURE_COLUMNS = T.StructType([
    T.StructField("path", T.StringType(), False),
    T.StructField("length", T.LongType(), True),
    T.StructField("modification_time", T.TimestampType(), True),
    T.StructField("camera_id", T.StringType(), True),
    T.StructField("captured_at", T.TimestampType(), True),
    T.StructField("features", T.ArrayType(T.FloatType(), False), True),
    T.StructField("error_kind", T.StringType(), True),
    T.StructField("error", T.StringType(), True),
])
STAGES = ("setup", "fetch", "decode", "featurize", "classify")
READ_COUNTS = ("read_retries",)


@dataclass(frozen=True)
class Assets:
    """What every Python worker needs; broadcast once per job."""

    graph: Graph
    decode: DecodeOptions
    booster_text: str | None = None
    threshold: float = 0.5


class _SumsParam(AccumulatorParam):
    """Adds dicts of seconds key by key."""

    def zero(self, value: dict) -> dict:
        return {}

    def addInPlace(self, left: dict, right: dict) -> dict:
        for key, amount in right.items():
            left[key] = left.get(key, 0) + amount
        return left


def worker_meter(spark: SparkSession) -> Accumulator:
    """An accumulator that workers add to: the CPU seconds of each stage (see STAGES) and, under
    READ_COUNTS, the retries their reads took.

    CPU rather than wall seconds: with one worker per core, wall time would also count the
    moments a worker waits for its core while the JVM or another process has it. Decoding runs
    on the calling thread and counts that thread's CPU; fetching counts the CPU of the threads
    that fetch; the other stages count the whole worker process's, because TensorFlow and
    OpenVINO infer on threads of their own, less what fetching the next batch took meanwhile.
    """
    return spark.sparkContext.accumulator({}, _SumsParam())


_WORKER_MODELS: dict[str, tuple[Featurizer, Classifier | None]] = {}


def models_key(graph: Graph, booster_text: str | None, threshold: float) -> str:
    """What a worker's models are made of: equal keys, equal models. A Keras graph's weights have no
    cheap identity here, so its key is new each job."""
    if isinstance(graph, KerasGraph):
        return uuid.uuid4().hex
    digest = hashlib.sha256(f"{graph.identity}:{graph.layer}:{graph.precision}:{threshold}".encode())
    digest.update((booster_text or "").encode())
    return digest.hexdigest()


def _worker_models(key: str, assets) -> tuple[Featurizer, Classifier | None]:
    """The models of this job in this Python worker, built on first use."""
    if key not in _WORKER_MODELS:
        _WORKER_MODELS.clear()  # other models: free the previous ones first
        value: Assets = assets.value
        context = TaskContext.get()
        threads = context.cpus() if context else None
        featurizer = Featurizer(value.graph, threads=threads)
        classifier = (Classifier(value.booster_text, threshold=value.threshold)
                      if value.booster_text is not None else None)
        _WORKER_MODELS[key] = (featurizer, classifier)
    return _WORKER_MODELS[key]


def _featurize_batch(batch: pd.DataFrame, featurizer: Featurizer, options: DecodeOptions,
                     seconds: Counter) -> tuple[np.ndarray, list[FrameError | None]]:
    """Features of the frames that decode, and one error (or None) per row."""
    started = time.thread_time()
    arrays, errors = [], []
    for path, content, read_error, kind in zip(batch["path"], batch["content"], batch["read_error"],
                                               batch["read_error_kind"]):
        if read_error is not None:
            errors.append(FrameError(kind, read_error))
            log.warning("camscore: frame %s not read: %s", path, read_error)
            continue
        try:
            arrays.append(decode_frame(content, options))
            errors.append(None)
        except FrameError as exc:
            errors.append(exc)
            log.warning("camscore: frame %s skipped: %s", path, exc)
    seconds["decode"] += time.thread_time() - started
    stacked = np.stack(arrays) if arrays else np.zeros((0, options.size, options.size, 3), np.uint8)
    decoded = _cpu_besides_fetching()
    features = featurizer(stacked)
    seconds["featurize"] += _cpu_besides_fetching() - decoded
    return features, errors


def _error_columns(errors: list[FrameError | None]) -> dict[str, list[str | None]]:
    """The ``error_kind`` and ``error`` (message) columns of one batch."""
    return {"error_kind": [error.kind if error else None for error in errors],
            "error": [error.message if error else None for error in errors]}


def _cpu_besides_fetching() -> float:
    """This worker's CPU seconds on all threads, less those spent fetching the next batch meanwhile."""
    return time.process_time() - fetch_cpu_seconds()


def _featurized_batches(batches: Iterator[pd.DataFrame], *, key: str, assets: Broadcast, fetch: Fetch,
                        max_batch_mb: int, meter: Accumulator | None,
                        ) -> Iterator[tuple[pd.DataFrame, np.ndarray, list[FrameError | None]]]:
    """Each batch, its bytes fetched, with the features of its decodable frames and one error (or None) per row."""
    seconds: Counter = Counter()  # and READ_COUNTS
    started, fetch_started = time.process_time(), fetch_cpu_seconds()
    featurizer, _ = _worker_models(key, assets)
    seconds["setup"] += time.process_time() - started
    decode = assets.value.decode
    for batch in fetched_ahead(batches, fetch, max_batch_mb=max_batch_mb):
        for name in READ_COUNTS:
            seconds[name] += int(batch[name].sum())
        features, errors = _featurize_batch(batch, featurizer, decode, seconds)
        yield batch, features, errors
    seconds["fetch"] += fetch_cpu_seconds() - fetch_started
    if meter is not None:
        meter.add(dict(seconds))


def arrow_batch_conf(frames_per_batch: int) -> dict[str, str]:
    """The Spark property that makes each Arrow batch reaching a worker one forward pass of
    ``frames_per_batch`` frames; a run sets it with session.run_conf."""
    return {"spark.sql.execution.arrow.maxRecordsPerBatch": str(frames_per_batch)}


def score_frames(source: FrameSource, wanted: DataFrame | None = None, *, model: Model, graph: Graph,
                 decode: DecodeOptions, meter: Accumulator | None = None) -> DataFrame:
    """One row per frame: probability, label and label name, or an error.

    Args:
        source: where the frames are.
        wanted: the frames to score, rows of ``source.listing``; None: all of them.
        model: the loaded model directory.
        graph: the featurizer graph matching the model's featurizer.
        decode: decoding options.
        meter: where workers add their CPU seconds per stage (see worker_meter); None: nowhere.

    Returns:
        DataFrame with the columns of SCORE_COLUMNS.
    """
    frames, fetch, max_batch_mb = source.rows(wanted), source.fetch, source.max_batch_mb
    manifest = model.manifest
    assets = frames.sparkSession.sparkContext.broadcast(Assets(
        graph=graph, decode=decode, booster_text=model.booster_text, threshold=manifest.threshold))
    key = models_key(graph, model.booster_text, manifest.threshold)
    label_names = np.array(manifest.label_names, dtype=object)

    def score_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        featurized = _featurized_batches(batches, key=key, assets=assets, fetch=fetch, max_batch_mb=max_batch_mb,
                                         meter=meter)
        for batch, features, errors in featurized:
            started = _cpu_besides_fetching()
            _, classifier = _worker_models(key, assets)  # built by _featurized_batches, under its setup timer
            probabilities = classifier.probabilities(features)
            labels = classifier.labels(probabilities)
            scored = np.array([error is None for error in errors], dtype=bool)
            probability = pd.array([None] * len(batch), dtype="Float64")
            probability[scored] = probabilities
            label = pd.array([None] * len(batch), dtype="Int32")
            label[scored] = labels
            name = np.full(len(batch), None, dtype=object)
            name[scored] = label_names[labels]
            yield pd.DataFrame({
                "path": batch["path"], "camera_id": batch["camera_id"], "captured_at": batch["captured_at"],
                "probability": probability, "label": label, "label_name": name, **_error_columns(errors),
            })
            if meter is not None:
                meter.add({"classify": _cpu_besides_fetching() - started})

    return frames.mapInPandas(score_partition, SCORE_COLUMNS)


def featurize_frames(source: FrameSource, wanted: DataFrame | None = None, *, graph: Graph,
                     decode: DecodeOptions, meter: Accumulator | None = None) -> DataFrame:
    """One row per frame: its feature vector, or an error. The same path scoring uses.

    Args: as score_frames.

    Returns:
        DataFrame with the columns of FEATURE_COLUMNS.
    """
    frames, fetch, max_batch_mb = source.rows(wanted), source.fetch, source.max_batch_mb
    assets = frames.sparkSession.sparkContext.broadcast(Assets(graph=graph, decode=decode))
    key = models_key(graph, None, 0.5)

    def featurize_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch, features, errors in _featurized_batches(batches, key=key, assets=assets, fetch=fetch,
                                                           max_batch_mb=max_batch_mb, meter=meter):
            rows = iter(features)
            yield pd.DataFrame({
                "path": batch["path"], "length": batch["length"], "modification_time": batch["modification_time"],
                "camera_id": batch["camera_id"], "captured_at": batch["captured_at"],
                "features": [None if error else next(rows) for error in errors], **_error_columns(errors),
            })

    return frames.mapInPandas(featurize_partition, FEATURE_COLUMNS)


def with_output_columns(scores: DataFrame, *, model_id: str, batch_id: str, scored_at: dt.datetime) -> DataFrame:
    """Adds date (of captured_at), model_id, scored_at (when the run started) and the batch partition key."""
    return (scores
            .withColumn("date", F.to_date("captured_at"))
            .withColumn("model_id", F.lit(model_id))
            .withColumn("scored_at", F.lit(scored_at).cast("timestamp"))
            .withColumn("batch", F.lit(batch_id)))

