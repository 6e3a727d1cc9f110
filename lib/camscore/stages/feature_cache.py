"""Features of frames with a Parquet cache, so ResNet50 runs once per frame and featurizer.

The cache is keyed by the frame (path, length, modification time) and the
featurizer id (layer, weights, input size, preprocessing, decoding), one
folder per featurizer: ``<cache>/featurizer=<id>/``.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass

from pyspark import Accumulator
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from camscore import storage
from camscore.model.featurizer import FeaturizerSpec, Graph
from camscore.model.imaging import DecodeOptions
from camscore.io.on_spark import FrameSource
from camscore.rows import FEATURE_COLUMNS, PASSING_KINDS
from camscore.spark.schema import struct
from camscore.stages.batches import featurize_frames

KEY = ("path", "length", "modification_time")
_COLUMNS = (*KEY, "features", "error_kind", "error")
_SCHEMA = struct(tuple(column for column in FEATURE_COLUMNS if column.name in _COLUMNS))


def featurizer_id(spec: FeaturizerSpec, decode: DecodeOptions) -> str:
    """Changes whenever the features of a frame would change."""
    described = {**spec.to_dict(), "decode": asdict(decode)}
    del described["weights_source"]  # the identity, not where the file was, decides the features
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Features:
    """Features of the wanted frames and how they were obtained.

    Attributes:
        rows: the wanted rows with ``features`` (null on error), ``error_kind`` and ``error``.
        computed: frames that went through ResNet50 in this run.
        cached: frames whose features came from the cache.
        seconds: time spent computing (and caching) the features.
    """

    rows: DataFrame
    computed: int
    cached: int
    seconds: float


def features_for(spark: SparkSession, source: FrameSource, wanted: DataFrame, *, spec: FeaturizerSpec,
                 graph: Graph, decode: DecodeOptions, cache: str | None,
                 meter: Accumulator | None = None) -> Features:
    """Features of ``wanted`` (rows of ``source.listing``), from the cache where it has them.

    Frames that fail to decode are cached with their error too, so a second
    run over the same frames does not start ResNet50 at all. Frames that could
    not be fetched (a passing fault, perhaps) are fetched again next run.
    """
    started = time.perf_counter()
    total = wanted.count()
    if cache is None:
        computed = featurize_frames(source, wanted, graph=graph, decode=decode, meter=meter).select(*_COLUMNS).cache()
        computed.count()
        return Features(wanted.join(computed, list(KEY)), total, 0, time.perf_counter() - started)

    storage.check_writable(cache, s3=None, spark=spark)
    location = f"{cache.rstrip('/')}/featurizer={featurizer_id(spec, decode)}"
    existing = _read(spark, location)
    settled = None if existing is None else existing.where(~_passing())
    missing = wanted if settled is None else wanted.join(settled.select(*KEY), list(KEY), "left_anti")
    to_compute = missing.count()
    if to_compute:
        computed = featurize_frames(source, missing, graph=graph, decode=decode, meter=meter)
        computed.select(*_COLUMNS).write.mode("append").parquet(location)
    return Features(wanted.join(_best(_read(spark, location)), list(KEY)), to_compute, total - to_compute,
                    time.perf_counter() - started)


def _passing():
    """Rows of frames whose error may pass: fetched again next run."""
    return F.coalesce(F.col("error_kind").isin(*PASSING_KINDS), F.lit(False))


def _best(rows: DataFrame) -> DataFrame:
    """One row per frame: features or a decode error rather than an earlier fetch failure."""
    ranked = Window.partitionBy(*KEY).orderBy(_passing().cast("int"))
    return rows.withColumn("_rank", F.row_number().over(ranked)).where("_rank = 1").drop("_rank")


def _read(spark: SparkSession, location: str) -> DataFrame | None:
    if not storage.exists(location, s3=None, spark=spark):
        return None  # nothing cached for this featurizer yet
    return spark.read.schema(_SCHEMA).parquet(location)
