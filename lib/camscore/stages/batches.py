"""Where the per-frame core meets Spark: the partition functions that score or featurize frames.

The driver broadcasts the ResNet50 graph and the booster text once; each Python worker builds its
FrameCore on first use and keeps it, keyed by what it is made of (models_key), for every later batch
and task of the job, and of later jobs of the session with the same models.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Iterator

import pandas as pd
from pyspark import Accumulator, AccumulatorParam, TaskContext
from pyspark.broadcast import Broadcast
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from camscore.io.fetching import fetched_ahead
from camscore.io.frames import FrameSource
from camscore.io.reader import Fetch, FetchedBatch
from camscore.model.classifier import Classifier, Model
from camscore.model.core import FrameCore, error_columns
from camscore.model.featurizer import Graph, KerasGraph, featurizer_for
from camscore.model.imaging import DecodeOptions
from camscore.rows import FEATURE_COLUMNS, SCORE_COLUMNS
from camscore.spark.schema import struct

log = logging.getLogger(__name__)

STAGES = ("setup", "fetch", "decode", "signals", "featurize", "classify")
READ_COUNTS = ("read_retries",)


@dataclass(frozen=True)
class Assets:
    """What every Python worker needs; broadcast once per job."""

    graph: Graph
    decode: DecodeOptions
    booster_text: str | None = None
    threshold: float = 0.5
    label_names: tuple[str, str] = ("0", "1")
    skip_blank: bool = False


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

    CPU rather than wall seconds: with one worker per core, wall time would also count the moments a
    worker waits for its core while the JVM or another process has it. Fetching counts the CPU of the
    threads that read, decoding and classifying the calling thread's; featurizing is the rest of the
    worker process's CPU over the partition, as TensorFlow and OpenVINO infer on threads of their own.
    """
    return spark.sparkContext.accumulator({}, _SumsParam())


_WORKER_CORES: dict[str, FrameCore] = {}


def models_key(graph: Graph, decode: DecodeOptions, booster_text: str | None, threshold: float,
               skip_blank: bool = False) -> str:
    """What a worker's core is made of: equal keys, equal cores. A Keras graph's weights have no
    cheap identity here, so its key is new each job."""
    if isinstance(graph, KerasGraph):
        return uuid.uuid4().hex
    digest = hashlib.sha256(f"{graph.identity}:{graph.layer}:{graph.precision}:{threshold}:{skip_blank}:"
                            f"{sorted(asdict(decode).items())}".encode())
    digest.update((booster_text or "").encode())
    return digest.hexdigest()


def _worker_core(key: str, assets: Broadcast) -> FrameCore:
    """The per-frame core of this job in this Python worker, built on first use."""
    if key not in _WORKER_CORES:
        _WORKER_CORES.clear()  # other models: free the previous ones first
        value: Assets = assets.value
        context = TaskContext.get()
        featurizer = featurizer_for(value.graph, threads=context.cpus() if context else None)
        classifier = (Classifier(value.booster_text, threshold=value.threshold)
                      if value.booster_text is not None else None)
        _WORKER_CORES[key] = FrameCore(featurizer, decode=value.decode, classifier=classifier,
                                       label_names=value.label_names, signals=classifier is not None,
                                       skip_blank=value.skip_blank)
    return _WORKER_CORES[key]


def _run_partition(batches: Iterator[pd.DataFrame], *, key: str, assets: Broadcast, fetch: Fetch,
                   max_batch_mb: int, meter: Accumulator | None, step) -> Iterator[pd.DataFrame]:
    """Applies ``step(core, fetched batch) -> (rows, seconds)`` to each batch of a partition, its bytes
    fetched ahead; adds the partition's CPU seconds per stage to ``meter``."""
    started = time.process_time()
    core = _worker_core(key, assets)
    seconds: Counter = Counter(setup=time.process_time() - started)
    for fetched in fetched_ahead(batches, fetch, max_batch_mb=max_batch_mb):
        seconds["fetch"] += fetched.cpu_seconds
        seconds["read_retries"] += fetched.retries
        rows, spent = step(core, fetched)
        seconds.update({name: value for name, value in spent.items() if name != "featurize"})
        yield rows
    if meter is not None:
        # Featurizing is what the process spent besides the stages measured on their own threads.
        seconds["featurize"] = time.process_time() - started - sum(
            seconds[name] for name in STAGES if name != "featurize")
        meter.add(dict(seconds))


def _frame_columns(fetched: FetchedBatch) -> dict[str, pd.Series]:
    rows = fetched.rows
    return {"path": rows["path"], "camera_id": rows["camera_id"], "captured_at": rows["captured_at"]}


# Score columns whose nulls pandas must keep as nulls beside numbers (Arrow then writes them as nulls).
_NULLABLE_NUMBERS = {"probability": "Float64", "label": "Int32", "brightness": "Float64", "contrast": "Float64",
                     "dark_fraction": "Float64", "bright_fraction": "Float64", "sharpness": "Float64",
                     "phash": "Int64"}


def score_frames(source: FrameSource, wanted: DataFrame | None = None, *, model: Model, graph: Graph,
                 decode: DecodeOptions, skip_blank: bool = False, meter: Accumulator | None = None) -> DataFrame:
    """One row per frame: probability, label and label name, or an error; and its picture signals.

    Args:
        source: where the frames are.
        wanted: the frames to score, rows of ``source.listing``; None: all of them.
        model: the loaded model directory.
        graph: the featurizer graph matching the model's featurizer.
        decode: decoding options.
        skip_blank: leave absolutely dark, white or uniform pictures out of the model (score.skip_unhealthy).
        meter: where workers add their CPU seconds per stage (see worker_meter); None: nowhere.

    Returns:
        DataFrame with the columns of rows.SCORE_COLUMNS.
    """
    # The partition function takes only what workers need: a FrameSource also holds DataFrames.
    frames, fetch, max_batch_mb = source.rows(wanted), source.fetch, source.max_batch_mb
    manifest = model.manifest
    assets = frames.sparkSession.sparkContext.broadcast(Assets(
        graph=graph, decode=decode, booster_text=model.booster_text, threshold=manifest.threshold,
        label_names=tuple(manifest.label_names), skip_blank=skip_blank))
    key = models_key(graph, decode, model.booster_text, manifest.threshold, skip_blank)

    def step(core: FrameCore, fetched: FetchedBatch) -> tuple[pd.DataFrame, dict[str, float]]:
        scored = core.score(fetched.reads)
        for path, error in zip(fetched.rows["path"], scored.errors):
            if error is not None:
                log.debug("frame %s not scored: %s", path, error)  # its row holds the error
        columns = scored.columns()
        typed = {name: pd.array(columns.pop(name), dtype=dtype) for name, dtype in _NULLABLE_NUMBERS.items()}
        return pd.DataFrame({**_frame_columns(fetched), **typed, **columns}), scored.seconds

    def score_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return _run_partition(batches, key=key, assets=assets, fetch=fetch, max_batch_mb=max_batch_mb, meter=meter,
                              step=step)

    return frames.mapInPandas(score_partition, struct(SCORE_COLUMNS))


def featurize_frames(source: FrameSource, wanted: DataFrame | None = None, *, graph: Graph,
                     decode: DecodeOptions, meter: Accumulator | None = None) -> DataFrame:
    """One row per frame: its feature vector, or an error. The same core scoring uses.

    Args: as score_frames.

    Returns:
        DataFrame with the columns of rows.FEATURE_COLUMNS.
    """
    frames, fetch, max_batch_mb = source.rows(wanted), source.fetch, source.max_batch_mb
    assets = frames.sparkSession.sparkContext.broadcast(Assets(graph=graph, decode=decode))
    key = models_key(graph, decode, None, 0.5)

    def step(core: FrameCore, fetched: FetchedBatch) -> tuple[pd.DataFrame, dict[str, float]]:
        featurized = core.featurize(fetched.reads)
        rows = fetched.rows
        return pd.DataFrame({
            "path": rows["path"], "length": rows["length"], "modification_time": rows["modification_time"],
            "camera_id": rows["camera_id"], "captured_at": rows["captured_at"],
            "features": featurized.per_frame(), **error_columns(featurized.errors)}), featurized.seconds

    def featurize_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return _run_partition(batches, key=key, assets=assets, fetch=fetch, max_batch_mb=max_batch_mb, meter=meter,
                              step=step)

    return frames.mapInPandas(featurize_partition, struct(FEATURE_COLUMNS))


def arrow_batch_conf(frames_per_batch: int) -> dict[str, str]:
    """The Spark property that makes each Arrow batch reaching a worker one forward pass of
    ``frames_per_batch`` frames; a run sets it with session.run_conf."""
    return {"spark.sql.execution.arrow.maxRecordsPerBatch": str(frames_per_batch)}


def with_output_columns(scores: DataFrame, *, model_id: str, batch_id: str, scored_at: dt.datetime) -> DataFrame:
    """Adds date (of captured_at), model_id, scored_at (when the run started) and the batch partition key."""
    return (scores
            .withColumn("date", F.to_date("captured_at"))
            .withColumn("model_id", F.lit(model_id))
            .withColumn("scored_at", F.lit(scored_at).cast("timestamp"))
            .withColumn("batch", F.lit(batch_id)))
