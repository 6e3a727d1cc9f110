"""Where the per-frame core meets Spark: the partition functions that score or featurize frames.

The driver broadcasts the run's CoreSpec (camscore.model.spec: the ResNet50 graph, the booster text, decoding)
once; each Python worker builds its FrameCore from it on first use and keeps it under the key the driver made
(CoreSpec.cache_key: what the core is made of), for every later batch and task of the job, and of later jobs of
the session with the same models.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections import Counter
from typing import Iterator

import pandas as pd
from pyspark import Accumulator, AccumulatorParam, TaskContext
from pyspark.broadcast import Broadcast
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from camscore.io import Fetch, FetchedBatch, fetched_ahead
from camscore.io.on_spark import FrameSource
from camscore.model.core import FrameCore, error_columns
from camscore.model.featurizer import Graph
from camscore.model.imaging import DecodeOptions
from camscore.model.spec import CoreSpec
from camscore.rows import CORE_COLUMNS, FEATURE_COLUMNS, PATH_FIELD_COLUMNS, SCORE_COLUMNS, names, run_values
from camscore.spark.schema import struct

log = logging.getLogger(__name__)

STAGES = ("setup", "fetch", "decode", "signals", "featurize", "classify")
READ_COUNTS = ("read_retries",)


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


def _worker_core(key: str, spec: Broadcast) -> FrameCore:
    """The per-frame core of this job in this Python worker, built from the broadcast spec on first use and kept
    under ``key`` (made on the driver)."""
    if key not in _WORKER_CORES:
        _WORKER_CORES.clear()  # other models: free the previous ones first
        context = TaskContext.get()
        value: CoreSpec = spec.value
        _WORKER_CORES[key] = value.build(threads=context.cpus() if context else None)
    return _WORKER_CORES[key]


def _broadcast(frames: DataFrame, spec: CoreSpec) -> tuple[str, Broadcast]:
    """The key workers keep the spec's core under (a new one each job for a Keras graph: see CoreSpec.cache_key),
    and the spec broadcast once."""
    return spec.cache_key() or uuid.uuid4().hex, frames.sparkSession.sparkContext.broadcast(spec)


def _run_partition(batches: Iterator[pd.DataFrame], *, key: str, spec: Broadcast, fetch: Fetch,
                   max_batch_mb: int, meter: Accumulator | None, step) -> Iterator[pd.DataFrame]:
    """Applies ``step(core, fetched batch) -> (rows, seconds)`` to each batch of a partition, its bytes
    fetched ahead; adds the partition's CPU seconds per stage to ``meter``."""
    started = time.process_time()
    core = _worker_core(key, spec)
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
    """A batch's listed columns that its score rows keep: the path and what it gives (rows.PATH_FIELD_COLUMNS)."""
    return {name: fetched.rows[name] for name in ("path", *names(PATH_FIELD_COLUMNS))}


# The core's numeric columns as pandas' nullable types (rows.CORE_COLUMNS declares them), so that their nulls stay
# nulls beside numbers and Arrow writes them as such.
_NULLABLE = {"double": "Float64", "int": "Int32", "bigint": "Int64"}
_NULLABLE_NUMBERS = {column.name: _NULLABLE[column.type] for column in CORE_COLUMNS if column.type in _NULLABLE}


def score_frames(source: FrameSource, wanted: DataFrame | None = None, *, spec: CoreSpec,
                 meter: Accumulator | None = None) -> DataFrame:
    """One row per frame: probability, label and label name, or an error; and its picture signals.

    Args:
        source: where the frames are.
        wanted: the frames to score, rows of ``source.listing``; None: all of them.
        spec: the scorer (CoreSpec.from_model), broadcast once; each worker builds its core from it.
        meter: where workers add their CPU seconds per stage (see worker_meter); None: nowhere.

    Returns:
        DataFrame with the columns of rows.SCORE_COLUMNS.

    Raises:
        ValueError: the spec has no booster (it only featurizes).
    """
    if spec.booster_text is None:
        raise ValueError("score_frames needs a CoreSpec with a booster; featurize_frames takes one without")
    # The partition function takes only what workers need: a FrameSource also holds DataFrames.
    frames, fetch, max_batch_mb = source.rows(wanted), source.fetch, source.max_batch_mb
    key, broadcast = _broadcast(frames, spec)

    def step(core: FrameCore, fetched: FetchedBatch) -> tuple[pd.DataFrame, dict[str, float]]:
        scored = core.score(fetched.reads)
        for path, error in zip(fetched.rows["path"], scored.errors):
            if error is not None:
                log.debug("frame %s not scored: %s", path, error)  # its row holds the error
        columns = scored.columns()
        typed = {name: pd.array(columns.pop(name), dtype=dtype) for name, dtype in _NULLABLE_NUMBERS.items()}
        return pd.DataFrame({**_frame_columns(fetched), **typed, **columns}), scored.seconds

    def score_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return _run_partition(batches, key=key, spec=broadcast, fetch=fetch, max_batch_mb=max_batch_mb, meter=meter,
                              step=step)

    return frames.mapInPandas(score_partition, struct(SCORE_COLUMNS))


def featurize_frames(source: FrameSource, wanted: DataFrame | None = None, *, graph: Graph,
                     decode: DecodeOptions, meter: Accumulator | None = None) -> DataFrame:
    """One row per frame: its feature vector, or an error. The same core scoring uses, built from a CoreSpec
    without a booster.

    Args:
        source, wanted, meter: as score_frames.
        graph: the featurizer graph.
        decode: decoding options, as the model's features must be decoded.

    Returns:
        DataFrame with the columns of rows.FEATURE_COLUMNS.
    """
    frames, fetch, max_batch_mb = source.rows(wanted), source.fetch, source.max_batch_mb
    key, broadcast = _broadcast(frames, CoreSpec(graph=graph, decode=decode))

    def step(core: FrameCore, fetched: FetchedBatch) -> tuple[pd.DataFrame, dict[str, float]]:
        featurized = core.featurize(fetched.reads)
        rows = fetched.rows
        return pd.DataFrame({
            "path": rows["path"], "length": rows["length"], "modification_time": rows["modification_time"],
            "camera_id": rows["camera_id"], "captured_at": rows["captured_at"],
            "features": featurized.per_frame(), **error_columns(featurized.errors)}), featurized.seconds

    def featurize_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return _run_partition(batches, key=key, spec=broadcast, fetch=fetch, max_batch_mb=max_batch_mb, meter=meter,
                              step=step)

    return frames.mapInPandas(featurize_partition, struct(FEATURE_COLUMNS))


def arrow_batch_conf(frames_per_batch: int) -> dict[str, str]:
    """The Spark property that makes each Arrow batch reaching a worker one forward pass of
    ``frames_per_batch`` frames; a run sets it with session.run_conf."""
    return {"spark.sql.execution.arrow.maxRecordsPerBatch": str(frames_per_batch)}


def with_output_columns(scores: DataFrame, *, model_id: str, batch_id: str, scored_at: dt.datetime) -> DataFrame:
    """Adds date (of captured_at), model_id, scored_at (when the run started) and the batch partition key."""
    stamped = scores.withColumn("date", F.to_date("captured_at"))  # the session's time zone is UTC
    for name, value in run_values(model_id=model_id, scored_at=scored_at).items():
        stamped = stamped.withColumn(name, F.lit(value))
    return stamped.withColumn("batch", F.lit(batch_id))
