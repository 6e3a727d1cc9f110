"""Reading frames: three readers, one contract (FrameSource).

Every reader lists ``path, modification_time, length`` and ``camera_id`` and
``captured_at`` taken from the path; a Python worker gets each batch's
``content`` and ``read_error`` (set, and ``content`` null, when a listed frame
could not be read) from FrameSource.fetch. The boto3 reader (s3://) and the
local reader (the local filesystem) list on the driver and fetch the bytes
there, in the worker, so they never pass through the JVM; the binaryfile reader
(any other Hadoop URI) lists and reads them in Spark's scan.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import os
import re
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Mapping
from urllib.parse import unquote, urlsplit

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from camscore import storage
from camscore.config import S3Settings, SourceSettings
from camscore.errors import InputError
from camscore.spark.session import run_conf

log = logging.getLogger(__name__)

LISTING_COLUMNS = T.StructType([
    T.StructField("path", T.StringType(), False),
    T.StructField("modification_time", T.TimestampType(), True),
    T.StructField("length", T.LongType(), True),
])
FRAME_COLUMNS = T.StructType(LISTING_COLUMNS.fields + [
    T.StructField("content", T.BinaryType(), True),
    T.StructField("read_error", T.StringType(), True),
    T.StructField("read_error_kind", T.StringType(), True),
])


Fetch = Callable[[pd.DataFrame], pd.DataFrame]
FETCHED_COLUMNS = ("content", "read_error", "read_error_kind", "read_retries")
# The read error of a listed frame deleted before it was read.
GONE = "FileNotFound: gone between listing and reading"
TOO_LARGE = "%d bytes exceeds max_frame_mb %d"  # of a frame listed larger, never read
TASKS_PER_CORE = 4
FEWEST_FRAMES_PER_TASK = 16  # below it a task's fixed cost (its Arrow stream, its write) starts to show


@dataclass(frozen=True)
class FrameSource:
    """Frames at one location, read the same way whichever reader listed them.

    Attributes:
        uri: where they were listed.
        listing: path, modification_time, length, camera_id and captured_at of every
            frame; reading it reads no frame.
        fetch: in a Python worker, a pandas batch of ``rows()`` with FETCHED_COLUMNS:
            each frame's bytes (``content``) or why they could not be read (``read_error``, and
            ``read_error_kind``: ``read`` for a passing fault a later run tries again,
            ``unreadable`` for a refusal, ``too_large`` for a frame over source.max_frame_mb,
            which is never read), and the retries the read took.
        conf: Spark SQL properties the reads of these frames want while they run
            (the partitioning of a file scan, the bytes of an Arrow batch); see session.run_conf.
        max_batch_mb: the most bytes of frames a worker takes in one batch (fetched_ahead).
    """

    uri: str
    listing: DataFrame
    fetch: Fetch
    conf: Mapping[str, str]
    max_batch_mb: int
    _rows: Callable[[DataFrame | None], DataFrame]

    def rows(self, wanted: DataFrame | None = None) -> DataFrame:
        """The frames, all or those of ``wanted`` (rows of ``listing``), as the Python workers get them:
        each pandas batch goes through ``fetch`` (or ``fetched_ahead``) for its bytes."""
        return self._rows(wanted)


def read_frames(spark: SparkSession, uri: str, *, source: SourceSettings, s3: S3Settings) -> FrameSource:
    """The frames under ``uri``.

    Args:
        spark: the session.
        uri: ``s3://bucket/prefix`` (boto3 reader unless source.reader says otherwise),
            or any Hadoop URI or local path (binaryFile, recursive).
        source: extensions, path regex and partitioning.
        s3: endpoint and retries of the boto3 reader.

    Raises:
        InputError: the location does not exist or cannot be listed, or the boto3 reader is asked to
            read anything but s3://.
        ConfigError: no Hadoop filesystem serves the location (binaryFile).
    """
    if source.reader == "boto3" or (source.reader == "auto" and storage.is_s3(uri)):
        if not storage.is_s3(uri):
            raise InputError(f"source.reader boto3 reads s3:// URIs only; got {uri!r}: use reader auto or binaryfile")
        listing, rows, fetch, conf = _read_with_boto3(spark, uri, source=source, s3=s3)
    elif source.reader != "binaryfile" and storage.on_local_disk(spark, uri):
        listing, rows, fetch, conf = _read_local_files(spark, uri, source=source)
    elif source.reader == "local":
        raise InputError(f"source.reader local reads the local filesystem only; got {uri!r}: use reader auto")
    else:
        listing, rows, fetch, conf = _read_with_binaryfile(spark, uri, source=source)
    # Spark 4 cuts Arrow batches at this many bytes as well as at their frames (3.5 by frames only).
    conf = {**conf, "spark.sql.execution.arrow.maxBytesPerBatch": str(source.max_batch_mb * 2 ** 20)}
    return FrameSource(uri, with_path_fields(listing, source=source), fetch, conf, source.max_batch_mb,
                       lambda wanted=None: with_path_fields(rows(wanted), source=source))


def fetched_ahead(batches: Iterator[pd.DataFrame], fetch: Fetch, *, max_batch_mb: int) -> Iterator[pd.DataFrame]:
    """Each batch with its bytes, cut where its frames' listed lengths reach ``max_batch_mb``; fetches
    the next batch while the caller works on this one."""
    ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="camscore-fetch-ahead")
    try:
        pending = None
        for batch in _within_bytes(batches, max_batch_mb * 2 ** 20):
            upcoming = ahead.submit(fetch, batch)
            if pending is not None:
                yield pending.result()
            pending = upcoming
        if pending is not None:
            yield pending.result()
    finally:
        # A consumer that stops early (a limit, a failure downstream) does not wait for the next batch.
        ahead.shutdown(wait=False, cancel_futures=True)


def _within_bytes(batches: Iterable[pd.DataFrame], most: int) -> Iterator[pd.DataFrame]:
    """The batches, each cut before the frame that would take its ``length`` sum past ``most``
    (a frame larger than ``most`` alone)."""
    for batch in batches:
        start, total = 0, 0
        for at, length in enumerate(batch["length"].fillna(0)):
            if total + length > most and at > start:
                yield batch.iloc[start:at]
                start, total = at, 0
            total += length
        if start < len(batch):
            yield batch.iloc[start:] if start else batch


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


def _binary_files(spark: SparkSession, uri: str, *, source: SourceSettings) -> DataFrame:
    """Spark's binaryFile source over ``uri``: every file with one of the extensions, recursively."""
    storage.check_spark_location(spark, uri)
    try:
        return (spark.read.format("binaryFile")
                .option("recursiveFileLookup", "true")
                .option("pathGlobFilter", extension_glob(source.extensions))
                .load(uri))
    except AnalysisException as exc:
        raise InputError(f"cannot read frames from {uri}: {str(exc).splitlines()[0]}") from exc


def _listed_columns() -> list[Column]:
    return [F.col("path"), F.col("modificationTime").alias("modification_time"), F.col("length")]


def _read_with_binaryfile(spark: SparkSession, uri: str, *, source: SourceSettings):
    found = _binary_files(spark, uri, source=source)
    # binaryFile tests a file's length before it reads the file, so frames over max_frame_mb are never read.
    max_bytes = source.max_frame_mb * 2 ** 20
    listed_columns = _listed_columns()
    listed = found.select(*listed_columns)
    frames = (found.where(F.col("length") <= max_bytes)
              .select(*listed_columns, "content", F.lit(None).cast("string").alias("read_error"),
                      F.lit(None).cast("string").alias("read_error_kind"))
              .unionByName(found.where(F.col("length") > max_bytes)
                           .select(*listed_columns, F.lit(None).cast("binary").alias("content"),
                                   F.format_string(TOO_LARGE, "length", F.lit(source.max_frame_mb))
                                   .alias("read_error"), F.lit("too_large").alias("read_error_kind"))))
    scanned = {row["path"]: row["length"] for row in listed.collect()}
    unscanned = _unscanned(spark, set(scanned), listed=found.inputFiles())
    if unscanned:
        frames = frames.unionByName(spark.createDataFrame(
            [(path, time, length, b"", None, None) if length == 0 else (path, None, None, None, GONE, "unreadable")
             for path, time, length in unscanned], FRAME_COLUMNS))
    listing = frames.select(*LISTING_COLUMNS.fieldNames())

    def rows(wanted: DataFrame | None) -> DataFrame:
        if wanted is None:
            return frames
        # A broadcast semi-join: the listed paths travel to the scan, the bytes stay where they are read.
        return frames.join(F.broadcast(wanted.select("path")), "path", "left_semi")

    # The scan reads the bytes in the JVM, so its rows already carry them.
    return listing, rows, _as_scanned, _scan_conf(spark, list(scanned.values()))


def _read_local_files(spark: SparkSession, uri: str, *, source: SourceSettings):
    """The driver lists the folder as Spark's file index would (a Hadoop glob is left to Spark, through
    binaryFile without ``content``, which reads no file); each worker reads its own files."""
    if _HADOOP_GLOB.search(uri):
        found = _binary_files(spark, uri, source=source)
        listed = [tuple(row) for row in found.select(*_listed_columns()).collect()]
        listed += _unscanned(spark, {path for path, _, _ in listed}, listed=found.inputFiles())
    else:
        listed = local_frames(uri, extensions=source.extensions)
    listing, rows = _listed_on_driver(spark, listed, source=source)
    return listing, rows, functools.partial(read_files, max_frame_mb=source.max_frame_mb), {}


_HADOOP_GLOB = re.compile(r"[*?\[{]")


def local_frames(uri: str, *, extensions: tuple[str, ...]) -> list[tuple[str, dt.datetime | None, int | None]]:
    """``(path, modification_time, length)`` of the frames under a local folder (or of a local file), with
    ``path`` spelled as Spark spells it: the files binaryFile would list, zero-byte ones included.

    Folder links are followed, each folder once (a link back up lists nothing twice); a folder that
    cannot be listed is logged. A frame whose status cannot be read is listed without time and length,
    so its worker's read gives its row an error; anything but a regular file (a FIFO) is no frame.

    Raises:
        InputError: the location does not exist.
    """
    root = os.path.abspath(_local_path(uri))
    if not os.path.exists(root):
        raise InputError(f"cannot read frames from {uri}: Path does not exist: file:{root}")
    if os.path.isfile(root):
        found = [root] if has_extension(root, extensions) else []
    else:
        found, seen = [], set()
        for folder, folders, files in os.walk(root, followlinks=True, onerror=_unlisted):
            seen.add(os.path.realpath(folder))
            folders[:] = [name for name in folders if not hidden_by_hadoop(name, folder=True)
                          and os.path.realpath(os.path.join(folder, name)) not in seen]
            found += [os.path.join(folder, name) for name in files
                      if not hidden_by_hadoop(name) and has_extension(name, extensions)]
    listed = []
    for path in found:
        spelled = "file:" + os.fsencode(path).decode("utf-8", "replace")  # as Java decodes a name
        try:
            status = os.stat(path)
        except FileNotFoundError:
            continue  # gone while listed: as if listed a moment later
        except OSError:  # a link loop, a name too long: the worker's read says why
            listed.append((spelled, None, None))
            continue
        if stat.S_ISREG(status.st_mode):
            modified = dt.datetime.fromtimestamp(status.st_mtime_ns // 10 ** 6 / 1000, dt.timezone.utc)
            listed.append((spelled, modified, status.st_size))
    return listed


def _local_path(uri: str) -> str:
    """The path of a local URI as Hadoop reads it: ``file:/a``, ``file:///a`` and ``/a`` are ``/a``
    (``#`` and ``%`` are part of the name)."""
    if not uri.startswith("file:"):
        return uri
    path = uri[len("file:"):]
    return "/" + path.lstrip("/") if path.startswith("//") else path


def _unlisted(error: OSError) -> None:
    log.warning("camscore: cannot list %s (%s): its frames are not read", error.filename, error.strerror)


def hidden_by_hadoop(name: str, *, folder: bool = False) -> bool:
    """Whether Spark's file index leaves out a file or folder of this name (as it does the ``_SUCCESS``
    and ``.crc`` files next to the data): names starting with ``_`` (but partition folders such as
    ``date=...``) or ``.``, and files being copied; it still enters folders named like Parquet's
    ``_metadata`` summaries, whose own files it lists."""
    left_out = (name.startswith("_") and "=" not in name) or name.startswith(".") or name.endswith("._COPYING_")
    return left_out and not (folder and name.startswith(("_common_metadata", "_metadata")))


def read_files(batch: pd.DataFrame, *, max_frame_mb: int) -> pd.DataFrame:
    """The batch with the FETCHED_COLUMNS of the local file at each ``path``; a file listed over
    ``max_frame_mb`` is not read."""
    started = time.thread_time()
    outcomes = [_read_file(path, length, max_frame_mb=max_frame_mb)
                for path, length in zip(batch["path"], batch["length"])]
    _FETCH_CPU.add(time.thread_time() - started)
    return batch.assign(content=[data for data, _, _ in outcomes], read_error=[error for _, error, _ in outcomes],
                        read_error_kind=[kind for _, _, kind in outcomes], read_retries=0)


def _read_file(path: str, length: float, *, max_frame_mb: int) -> tuple[bytes | None, str | None, str | None]:
    """A local file's bytes, or why not and the error kind."""
    if pd.notna(length) and length > max_frame_mb * 2 ** 20:
        return None, TOO_LARGE % (length, max_frame_mb), "too_large"
    try:
        with open(_local_path(path), "rb") as file:
            return file.read(), None, None
    except FileNotFoundError:
        return None, GONE, "unreadable"
    except (PermissionError, IsADirectoryError) as exc:
        return None, f"{type(exc).__name__}: {exc.strerror}", "unreadable"
    except OSError as exc:  # an I/O error of the disk or a network mount: a later run may read it
        return None, f"{type(exc).__name__}: {exc.strerror or exc}", "read"


def _as_scanned(batch: pd.DataFrame) -> pd.DataFrame:
    return batch.assign(read_retries=0)


def balanced_partitions(lengths: list[int], *, open_cost: int, max_partition_bytes: int, cores: int) -> int:
    """How many partitions files of these lengths should fill: a multiple of ``cores``, each
    partition at most ``max_partition_bytes``.

    Spark counts a file as its length plus ``open_cost`` when it packs files into partitions.
    Left to itself it fills partitions up to max_partition_bytes and leaves one remainder, so
    the last wave of tasks can leave all cores but one idle for a whole task.
    """
    return _partitions_for(sum(length + open_cost for length in lengths), most=max_partition_bytes, cores=cores,
                           frames=len(lengths))


def _partitions_for(amount: int, *, most: int, cores: int, frames: int) -> int:
    """Partitions, in a multiple of ``cores``, that hold ``amount`` at ``most`` each and give each core
    TASKS_PER_CORE tasks while each holds FEWEST_FRAMES_PER_TASK of the ``frames`` or more: a frame
    that retries then holds back its own task, not a core's whole share, and progress moves in small steps."""
    needed = max(math.ceil(amount / most), min(cores * TASKS_PER_CORE, frames // FEWEST_FRAMES_PER_TASK))
    return cores * max(1, math.ceil(needed / cores))


def _scan_conf(spark: SparkSession, lengths: list[int]) -> dict[str, str]:
    """What makes a file scan of files of these lengths pack as many equal partitions as balanced_partitions says.

    Spark splits a scan's bytes by spark.sql.files.minPartitionNum unless that makes
    partitions larger than spark.sql.files.maxPartitionBytes or smaller than
    spark.sql.files.openCostInBytes, so another read while it is set (the output's
    Parquet, say) at worst gets as many partitions as this scan, never smaller than that.
    """
    as_bytes = spark.sparkContext._jvm.org.apache.spark.network.util.JavaUtils.byteStringAsBytes
    partitions = balanced_partitions(
        lengths, open_cost=as_bytes(spark.conf.get("spark.sql.files.openCostInBytes")),
        max_partition_bytes=as_bytes(spark.conf.get("spark.sql.files.maxPartitionBytes")),
        cores=spark.sparkContext.defaultParallelism)
    return {"spark.sql.files.minPartitionNum": str(partitions)}


def _unscanned(spark: SparkSession, scanned: set[str], *, listed: list[str]) -> list[tuple]:
    """``(path, modification_time, length)`` of the files among ``listed`` that a scan left out.

    Spark's file scan skips zero-byte files (``scanned`` are the paths it found), but they are
    frames the camera wrote, and each must get its own row (with an ``empty`` error). A file gone
    since it was listed has neither time nor length.
    """
    missing = sorted({hadoop_path(uri) for uri in listed} - scanned)
    statuses = [(path, storage.file_status(spark, path)) for path in missing]
    return [(path, None, None) if status is None else (path, status[1], 0)
            for path, status in statuses if status is None or status[0] == 0]


def hadoop_path(uri: str) -> str:
    """A URI as Spark's ``path`` column spells it: ``file:///a%20b`` becomes ``file:/a b``."""
    parts = urlsplit(uri)
    path = unquote(parts.path)
    return f"{parts.scheme}://{parts.netloc}{path}" if parts.netloc else f"{parts.scheme}:{path}"


def list_frames(uri: str, *, source: SourceSettings, s3: S3Settings) -> list[storage.S3Object]:
    """Every frame under an s3:// prefix (all pages), filtered by extension."""
    try:
        listed = storage.list_objects(uri, s3, depth=source.list_depth, threads=s3.list_threads)
        return [item for item in listed if has_extension(item.uri, source.extensions)]
    except (ClientError, BotoCoreError) as exc:
        raise InputError(f"cannot list {uri}: {exc}") from exc


def _read_with_boto3(spark: SparkSession, uri: str, *, source: SourceSettings, s3: S3Settings):
    listed = [(item.uri, item.last_modified, item.size) for item in list_frames(uri, source=source, s3=s3)]
    listing, rows = _listed_on_driver(spark, listed, source=source)
    return listing, rows, functools.partial(fetch_batch, s3=s3, max_frame_mb=source.max_frame_mb), {}


def _listed_on_driver(spark: SparkSession, listed: list[tuple], *, source: SourceSettings):
    """The listing of frames listed on the driver, ``(path, modification_time, length)`` each, spread over
    the cores, and the rows a subset of it becomes."""
    context = spark.sparkContext
    partitions = _partitions_for(len(listed), most=source.frames_per_partition, cores=context.defaultParallelism,
                                 frames=len(listed))
    frame = pd.DataFrame({
        "path": pd.Series([path for path, _, _ in listed], dtype=object),
        # Naive times (from a Spark collect) are this process's local time, as Spark gave them.
        "modification_time": pd.to_datetime([None if time is None else time.astimezone(dt.timezone.utc)
                                             for _, time, _ in listed], utc=True),
        "length": pd.array([length for _, _, length in listed], dtype="Int64")})
    # Through Arrow the JVM decodes the rows itself: listing, counting and fingerprinting start no Python worker.
    with run_conf(spark, {"spark.sql.execution.arrow.pyspark.enabled": "true",
                          "spark.sql.execution.arrow.pyspark.fallback.enabled": "false"}):
        listing = spark.createDataFrame(frame, LISTING_COLUMNS).repartition(partitions)

    def rows_of(wanted: DataFrame | None) -> DataFrame:
        if wanted is None:
            return listing
        # A subset comes out of a join, its partitions shuffled and coalesced (often to one): spread it
        # over the cores again, as the listing is.
        count = wanted.count()
        return wanted.select(*LISTING_COLUMNS.fieldNames()).repartition(
            _partitions_for(count, most=source.frames_per_partition, cores=context.defaultParallelism, frames=count))

    return listing, rows_of


def fetch_batch(batch: pd.DataFrame, *, s3: S3Settings, max_frame_mb: int) -> pd.DataFrame:
    """The batch with the FETCHED_COLUMNS of the object at each ``path``, fetched in parallel; an object
    listed over ``max_frame_mb`` is not fetched."""
    def read(path: str, length: int) -> tuple[storage.ObjectRead, str | None]:
        if length > max_frame_mb * 2 ** 20:
            return storage.ObjectRead(None, TOO_LARGE % (length, max_frame_mb)), "too_large"
        got = _fetch(path, settings=s3)
        return got, None if got.error is None else "read" if got.passing else "unreadable"

    outcomes = list(_fetch_pool(s3.fetch_threads).map(read, batch["path"], batch["length"]))
    return batch.assign(content=[got.data for got, _ in outcomes], read_error=[got.error for got, _ in outcomes],
                        read_error_kind=[kind for _, kind in outcomes],
                        read_retries=[got.retries for got, _ in outcomes])


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


def _fetch(uri: str, *, settings: S3Settings) -> storage.ObjectRead:
    started = time.thread_time()
    try:
        return storage.get_object(uri, settings)
    finally:
        _FETCH_CPU.add(time.thread_time() - started)
