"""Reading frames: Spark's binaryFile source or a boto3 reader, one schema.

Both readers give ``path, modification_time, length, content, read_error``
(``read_error`` is set, and ``content`` null, when a listed object could not
be fetched), then ``camera_id`` and ``captured_at`` taken from the path. The
boto3 reader adds ``content`` and ``read_error`` in the Python worker that
uses the frames (see FrameSource.fetch).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterator
from urllib.parse import unquote, urlsplit

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError
from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from camscore import storage
from camscore.config import S3Settings, SourceSettings
from camscore.errors import InputError

LISTING_COLUMNS = T.StructType([
    T.StructField("path", T.StringType(), False),
    T.StructField("modification_time", T.TimestampType(), True),
    T.StructField("length", T.LongType(), True),
])
FRAME_COLUMNS = T.StructType(LISTING_COLUMNS.fields + [
    T.StructField("content", T.BinaryType(), True),
    T.StructField("read_error", T.StringType(), True),
])


Fetch = Callable[[pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True)
class FrameSource:
    """Frames at one location.

    Attributes:
        uri: where they were listed.
        listing: path, modification_time, length, camera_id, captured_at of every
            frame; reading it fetches no bytes.
        rows: every frame as the Python workers get it. binaryFile rows carry
            ``content`` and ``read_error``; boto3 rows do not, and ``fetch`` adds them
            to each pandas batch in the worker that uses it, so the bytes never pass
            through the JVM.
        rows_of: ``rows`` of some rows of the listing only.
        fetch: adds ``content`` and ``read_error`` to a pandas batch of rows, or None.
    """

    uri: str
    listing: DataFrame
    rows: DataFrame
    rows_of: Callable[[DataFrame], DataFrame]
    fetch: Fetch | None

    @property
    def frames(self) -> DataFrame:
        """Every frame with its bytes in Spark: the columns of FRAME_COLUMNS plus camera_id and captured_at."""
        return self._fetched(self.rows)

    def frames_of(self, rows: DataFrame) -> DataFrame:
        """The frames of some rows of the listing, with their bytes in Spark."""
        return self._fetched(self.rows_of(rows))

    def _fetched(self, rows: DataFrame) -> DataFrame:
        if self.fetch is None:
            return rows
        fetch = self.fetch
        schema = T.StructType(rows.schema.fields + FRAME_COLUMNS.fields[len(LISTING_COLUMNS.fields):])
        return rows.mapInPandas(lambda batches: map(fetch, batches), schema)


def read_frames(spark: SparkSession, uri: str, *, source: SourceSettings, s3: S3Settings) -> FrameSource:
    """The frames under ``uri``.

    Args:
        spark: the session.
        uri: ``s3://bucket/prefix`` (boto3 reader unless source.reader says otherwise),
            or any Hadoop URI or local path (binaryFile, recursive).
        source: extensions, path regex and partitioning.
        s3: endpoint and retries of the boto3 reader.

    Raises:
        InputError: the location does not exist or cannot be listed.
    """
    fetch = None
    if source.reader == "boto3" or (source.reader == "auto" and storage.is_s3(uri)):
        listing, rows, rows_of, fetch = _read_with_boto3(spark, uri, source=source, s3=s3)
    else:
        listing, rows, rows_of = _read_with_binaryfile(spark, uri, source=source)
    return FrameSource(uri, with_path_fields(listing, source=source), with_path_fields(rows, source=source),
                       lambda wanted: with_path_fields(rows_of(wanted), source=source), fetch)


def fetched_ahead(batches: Iterator[pd.DataFrame], fetch: Fetch | None) -> Iterator[pd.DataFrame]:
    """Each batch with its bytes; fetches the next batch while the caller works on this one."""
    if fetch is None:
        yield from batches
        return
    ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="camscore-fetch-ahead")
    try:
        pending = None
        for batch in batches:
            upcoming = ahead.submit(fetch, batch)
            if pending is not None:
                yield pending.result()
            pending = upcoming
        if pending is not None:
            yield pending.result()
    finally:
        # A consumer that stops early (a limit, a failure downstream) does not wait for the next batch.
        ahead.shutdown(wait=False, cancel_futures=True)


def extension_glob(extensions: tuple[str, ...]) -> str:
    """A Hadoop glob matching file names with any of the extensions, in any letter case."""
    def any_case(extension: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in extension)
    return "*.{" + ",".join(any_case(e.lstrip(".")) for e in extensions) + "}"


def has_extension(path: str, extensions: tuple[str, ...]) -> bool:
    return path.lower().endswith(tuple("." + e.lstrip(".").lower() for e in extensions))


def with_path_fields(frames: DataFrame, *, source: SourceSettings) -> DataFrame:
    """Adds camera_id and captured_at from the path by source.path_regex, with the defaults
    (parent folder, modification time) where the regex names no group or does not match."""
    camera_id = parent_folder()
    captured_at = F.col("modification_time")
    if source.path_regex:
        groups = re.compile(source.path_regex).groupindex
        if "camera_id" in groups:
            found = path_group(source.path_regex, "camera_id")
            camera_id = F.when(found != "", found).otherwise(camera_id)
        if "captured_at" in groups:
            parsed = F.try_to_timestamp(path_group(source.path_regex, "captured_at"),
                                        F.lit(source.captured_at_format))
            captured_at = F.coalesce(parsed, captured_at)
    return (frames
            .withColumn("camera_id", F.when(camera_id != "", camera_id))
            .withColumn("captured_at", captured_at))


def parent_folder() -> Column:
    """The name of the folder a frame is in."""
    return F.regexp_extract("path", r"([^/]+)/[^/]*$", 1)


def path_group(pattern: str, name: str) -> Column:
    """What the named group of a Python regex matches in ``path`` ("" when it does not match)."""
    # Java regex group names allow no underscore: refer to the group by number instead.
    java_pattern = re.sub(r"\(\?P<\w+>", "(", pattern)
    return F.regexp_extract("path", java_pattern, re.compile(pattern).groupindex[name])


def _read_with_binaryfile(spark: SparkSession, uri: str, *,
                          source: SourceSettings) -> tuple[DataFrame, DataFrame, Callable[[DataFrame], DataFrame]]:
    try:
        found = (spark.read.format("binaryFile")
                 .option("recursiveFileLookup", "true")
                 .option("pathGlobFilter", extension_glob(source.extensions))
                 .load(uri))
    except AnalysisException as exc:
        raise InputError(f"cannot read frames from {uri}: {str(exc).splitlines()[0]}") from exc
    frames = found.select("path", F.col("modificationTime").alias("modification_time"), "length", "content",
                          F.lit(None).cast("string").alias("read_error"))
    scanned = {row["path"]: row["length"] for row in frames.select("path", "length").collect()}
    _balance_partitions(spark, list(scanned.values()))
    empty = _empty_files(spark, set(scanned), listed=found.inputFiles())
    if empty is not None:
        frames = frames.unionByName(empty)
    listing = frames.select(*LISTING_COLUMNS.fieldNames())

    def frames_of(rows: DataFrame) -> DataFrame:
        # A broadcast semi-join: the listed paths travel to the scan, the bytes stay where they are read.
        return frames.join(F.broadcast(rows.select("path")), "path", "left_semi")

    return listing, frames, frames_of


def balanced_partitions(lengths: list[int], *, open_cost: int, max_partition_bytes: int, cores: int) -> int:
    """How many partitions files of these lengths should fill: a multiple of ``cores``, each
    partition at most ``max_partition_bytes``.

    Spark counts a file as its length plus ``open_cost`` when it packs files into partitions.
    Left to itself it fills partitions up to max_partition_bytes and leaves one remainder, so
    the last wave of tasks can leave all cores but one idle for a whole task.
    """
    return _partitions_for(sum(length + open_cost for length in lengths), most=max_partition_bytes, cores=cores)


def _partitions_for(amount: int, *, most: int, cores: int) -> int:
    """The fewest partitions, in a multiple of ``cores``, that hold ``amount`` at ``most`` each."""
    return cores * max(1, math.ceil(amount / (cores * most)))


def _balance_partitions(spark: SparkSession, lengths: list[int]) -> None:
    """Makes file scans pack about equal partitions, as many as balanced_partitions says.

    Spark splits a scan's bytes by spark.sql.files.minPartitionNum unless that makes
    partitions larger than spark.sql.files.maxPartitionBytes or smaller than
    spark.sql.files.openCostInBytes, so a later read in the same session (the output's
    Parquet, say) at worst gets as many partitions as this scan, never smaller than that.
    """
    as_bytes = spark.sparkContext._jvm.org.apache.spark.network.util.JavaUtils.byteStringAsBytes
    partitions = balanced_partitions(
        lengths, open_cost=as_bytes(spark.conf.get("spark.sql.files.openCostInBytes")),
        max_partition_bytes=as_bytes(spark.conf.get("spark.sql.files.maxPartitionBytes")),
        cores=spark.sparkContext.defaultParallelism)
    spark.conf.set("spark.sql.files.minPartitionNum", str(partitions))


def _empty_files(spark: SparkSession, scanned: set[str], *, listed: list[str]) -> DataFrame | None:
    """The zero-byte files among ``listed``, as frames with empty content.

    Spark's file scan skips zero-byte files (``scanned`` are the paths it found), but they are
    frames the camera wrote, and each must get its own row (with an ``empty`` error).
    """
    missing = sorted({hadoop_path(uri) for uri in listed} - scanned)
    if not missing:
        return None
    jvm = spark.sparkContext._jvm
    configuration = spark.sparkContext._jsc.hadoopConfiguration()
    rows = []
    for path in missing:
        hadoop = jvm.org.apache.hadoop.fs.Path(path)
        try:
            status = hadoop.getFileSystem(configuration).getFileStatus(hadoop)
        except Py4JJavaError as exc:
            if "FileNotFoundException" not in str(exc):
                raise
            rows.append((path, None, None, None, "FileNotFound: gone between listing and reading"))
            continue
        if status.getLen() == 0:
            modified = dt.datetime.fromtimestamp(status.getModificationTime() / 1000, dt.timezone.utc)
            rows.append((path, modified, 0, b"", None))
    return spark.createDataFrame(rows, FRAME_COLUMNS) if rows else None


def hadoop_path(uri: str) -> str:
    """A URI as Spark's ``path`` column spells it: ``file:///a%20b`` becomes ``file:/a b``."""
    parts = urlsplit(uri)
    path = unquote(parts.path)
    return f"{parts.scheme}://{parts.netloc}{path}" if parts.netloc else f"{parts.scheme}:{path}"


def list_frames(uri: str, *, source: SourceSettings, s3: S3Settings) -> list[storage.S3Object]:
    """Every frame under an s3:// prefix (all pages), filtered by extension."""
    try:
        return [item for item in storage.list_objects(uri, s3) if has_extension(item.uri, source.extensions)]
    except (ClientError, BotoCoreError) as exc:
        raise InputError(f"cannot list {uri}: {exc}") from exc


def _read_with_boto3(spark: SparkSession, uri: str, *, source: SourceSettings, s3: S3Settings
                     ) -> tuple[DataFrame, DataFrame, Callable[[DataFrame], DataFrame], Fetch]:
    objects = list_frames(uri, source=source, s3=s3)
    context = spark.sparkContext
    partitions = _partitions_for(len(objects), most=source.frames_per_partition, cores=context.defaultParallelism)
    rows = [(item.uri, item.last_modified, item.size) for item in objects]
    listing = spark.createDataFrame(context.parallelize(rows, partitions), LISTING_COLUMNS)

    def rows_of(wanted: DataFrame) -> DataFrame:
        return wanted.select(*LISTING_COLUMNS.fieldNames())

    return listing, listing, rows_of, functools.partial(fetch_batch, s3=s3)


def fetch_batch(batch: pd.DataFrame, *, s3: S3Settings) -> pd.DataFrame:
    """The batch with ``content`` and ``read_error`` of the object at each ``path``, fetched in parallel."""
    fetched = list(_fetch_pool(s3.fetch_threads).map(functools.partial(_fetch, settings=s3), batch["path"]))
    return batch.assign(content=[content for content, _ in fetched], read_error=[error for _, error in fetched])


@functools.lru_cache(maxsize=1)
def _fetch_pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="camscore-fetch")


class _CpuMeter:
    """CPU seconds that several threads add to."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds = 0.0

    def add(self, seconds: float) -> None:
        with self._lock:
            self._seconds += seconds

    @property
    def seconds(self) -> float:
        with self._lock:
            return self._seconds


_FETCH_CPU = _CpuMeter()


def fetch_cpu_seconds() -> float:
    """CPU seconds this process has spent fetching objects so far, on all its threads."""
    return _FETCH_CPU.seconds


def _fetch(uri: str, *, settings: S3Settings) -> tuple[bytes | None, str | None]:
    started = time.thread_time()
    try:
        return storage.read_bytes(uri, settings), None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return None, f"{error.get('Code', 'ClientError')}: {error.get('Message', exc)}"
    except BotoCoreError as exc:
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        _FETCH_CPU.add(time.thread_time() - started)
