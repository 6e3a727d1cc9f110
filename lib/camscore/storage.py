"""Small reads and writes of whole files, by scheme: s3:// through boto3, any Hadoop URI through
Spark's filesystems (given a SparkSession), else the local filesystem. Also S3 listing and clients.

Credentials come only from boto3's standard chain (environment, shared
credentials file, instance role); nothing here takes a key.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator
from urllib.parse import unquote, urlsplit

import boto3
import urllib3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import (BotoCoreError, ClientError, IncompleteReadError, ReadTimeoutError,
                                 ResponseStreamingError)
from botocore.retries.standard import (ExponentialBackoff, RetryContext, ThrottledRetryableChecker,
                                       TransientRetryableChecker)
from py4j.protocol import Py4JJavaError

from camscore.config import S3Settings, SparkSettings
from camscore.errors import ConfigError, InputError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass(frozen=True)
class S3Uri:
    """An s3://bucket/key location."""

    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> "S3Uri":
        if not is_s3(uri):
            raise ValueError(f"not an s3:// URI: {uri!r}")
        bucket, _, key = uri[len("s3://"):].partition("/")
        if not bucket:
            raise InputError(f"s3 URI without a bucket: {uri!r}; expected s3://bucket/prefix")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def join(self, name: str) -> "S3Uri":
        return S3Uri(self.bucket, f"{self.key.rstrip('/')}/{name}" if self.key else name)


@dataclass(frozen=True)
class S3Object:
    """One listed object."""

    uri: str
    size: int
    last_modified: object  # datetime, timezone-aware


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


@functools.lru_cache(maxsize=8)
def client(settings: S3Settings | None) -> BaseClient:
    """A boto3 S3 client for these settings, one per process (clients are thread-safe)."""
    if settings is None:
        raise ValueError("an s3:// location needs S3Settings (a SparkSession reads s3a:// instead)")
    config = Config(
        retries={"mode": settings.retry_mode, "total_max_attempts": settings.max_attempts},
        s3={"addressing_style": settings.addressing_style},
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        max_pool_connections=max(10, settings.fetch_threads * 2),
    )
    made = boto3.session.Session().client(
        "s3", endpoint_url=settings.endpoint_url, region_name=settings.region, config=config)
    made.meta.events.register("needs-retry.s3.GetObject", _no_retry_past_limits)
    return made


@dataclass(frozen=True)
class ObjectRead:
    """An object's bytes, or why they could not be read, and the retries spent on it.

    Attributes:
        passing: the failure was a passing one (throttling, 5xx, a broken connection or
            body, the deadline), which a later read may not meet; not one that stays
            (no such key, access denied, no credentials).
    """

    data: bytes | None
    error: str | None = None
    retries: int = 0
    passing: bool = False


class _GaveUp(Exception):
    """A read ended by its limits; ``attempts``: those of the request under way, not yet counted."""

    def __init__(self, message: str, attempts: int):
        super().__init__(message)
        self.attempts = attempts


# What can break while an answer's body streams in, after botocore is done with the request.
_BODY_ERRORS = (ResponseStreamingError, IncompleteReadError, ReadTimeoutError)
_BODY_CHUNK = 1 << 16
# The attempts and the time one frame's read has left, for the needs-retry hook of the thread reading it.
_limits = threading.local()


def get_object(uri: str, settings: S3Settings) -> ObjectRead:
    """Reads one s3:// object, never raising: at most ``settings.max_attempts`` requests (botocore's
    retries included) within ``settings.frame_deadline`` seconds.

    botocore retries the request (throttling, 5xx, connection errors) in its retry mode; a body
    that breaks mid-read is asked for again, with botocore's backoff, from the attempts left.
    """
    location = S3Uri.parse(uri)
    deadline = time.monotonic() + settings.frame_deadline
    backoff, used = ExponentialBackoff(), 0
    try:
        while True:
            _limits.attempts, _limits.deadline = settings.max_attempts - used, deadline
            answer = client(settings).get_object(Bucket=location.bucket, Key=location.key)
            used += answer["ResponseMetadata"].get("RetryAttempts", 0) + 1
            try:
                return ObjectRead(_read_body(answer["Body"], deadline), retries=used - 1)
            except _BODY_ERRORS as exc:
                delay = backoff.delay_amount(RetryContext(attempt_number=used))
                if used >= settings.max_attempts or time.monotonic() + delay > deadline:
                    return ObjectRead(None, f"gave up after {used} attempts: {type(exc).__name__}: {exc}",
                                      used - 1, passing=True)
                time.sleep(delay)
    except _GaveUp as exc:
        return ObjectRead(None, str(exc), used + exc.attempts - 1, passing=True)
    except (ClientError, BotoCoreError) as exc:
        response = getattr(exc, "response", {})
        retried = response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        error = response.get("Error", {})
        message = (f"{error.get('Code', 'ClientError')}: {error.get('Message', exc)}" if error
                   else f"{type(exc).__name__}: {exc}")
        return ObjectRead(None, message, used + retried, passing=_passing(exc))
    finally:
        _limits.attempts = _limits.deadline = None


def _read_body(body, deadline: float) -> bytes:
    """The whole body, read as it arrives so that a body trickling in cannot outlast the deadline.

    One read of botocore's body waits for all the bytes it asks for; urllib3's ``read1`` under it
    returns what one socket read brings, within ``read_timeout``.
    """
    raw, parts, received = body._raw_stream, [], 0
    try:
        while chunk := raw.read1(_BODY_CHUNK):
            parts.append(chunk)
            received += len(chunk)
            if time.monotonic() > deadline:
                raise _GaveUp("deadline: the body was still arriving at s3.frame_deadline", 0)
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise ReadTimeoutError(endpoint_url=None, error=exc) from exc
    except urllib3.exceptions.ProtocolError as exc:
        raise ResponseStreamingError(error=exc) from exc
    finally:
        body.close()
    if body._content_length is not None and received != int(body._content_length):
        raise IncompleteReadError(actual_bytes=received, expected_bytes=int(body._content_length))
    return b"".join(parts)


def _passing(exc: Exception) -> bool:
    """Whether botocore counts a failure as one that retrying may cure (transient or throttling)."""
    context = RetryContext(attempt_number=1, parsed_response=getattr(exc, "response", None),
                           http_response=None, caught_exception=None if isinstance(exc, ClientError) else exc)
    status = (getattr(exc, "response", None) or {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return (status >= 500 or TransientRetryableChecker().is_retryable(context)
            or ThrottledRetryableChecker().is_retryable(context))


def _no_retry_past_limits(response=None, caught_exception=None, attempts: int = 0, **_) -> None:
    """botocore's needs-retry hook: a failed attempt ends a frame's read when its attempts are used up
    (a read started after a broken body has fewer left) or when the longest wait botocore may take
    before the next (its throttling backoff) would end past the deadline."""
    left, deadline = getattr(_limits, "attempts", None), getattr(_limits, "deadline", None)
    failed = caught_exception is not None or (response is not None and response[0].status_code >= 500)
    if deadline is None or not failed:
        return
    last = caught_exception or response[1].get("Error", {}).get("Code", response[0].status_code)
    if time.monotonic() + min(2 ** (attempts - 1), ExponentialBackoff._MAX_BACKOFF) > deadline:
        raise _GaveUp(f"deadline: gave up after {attempts} attempts (s3.frame_deadline), last: {last}", attempts)
    if attempts >= left:
        raise _GaveUp(f"gave up after {attempts} attempts (s3.max_attempts), last: {last}", attempts)


def list_objects(uri: str, settings: S3Settings, *, depth: int = 0, threads: int = 1) -> Iterator[S3Object]:
    """Every object under an s3:// prefix, page by page (any number of keys).

    The prefix is a folder, as a Hadoop path is: ``s3://b/in`` lists ``in/...``, not ``inbox/...``.
    With ``depth`` > 0 its folders down to that depth are found first (a listing with a delimiter
    per folder), then each folder's keys are listed on ``threads`` threads at once: one folder per
    camera (depth 1) or per camera and day, so the listing's time falls with the threads.
    """
    location = S3Uri.parse(uri)
    prefix = location.key if not location.key or location.key.endswith("/") else location.key + "/"
    listing = client(settings)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="camscore-list") as pool:
        folders = [prefix]
        for _ in range(depth):
            levels = list(pool.map(lambda folder: _one_level(listing, location.bucket, folder), folders))
            folders = [folder for level_folders, _ in levels for folder in level_folders]
            for _, found in levels:
                yield from found
        for found in pool.map(lambda folder: list(_keys(listing, location.bucket, folder)), folders):
            yield from found


def _one_level(listing: BaseClient, bucket: str, prefix: str) -> tuple[list[str], list[S3Object]]:
    """The folders right under ``prefix`` and the objects directly in it."""
    folders, found = [], []
    for page in listing.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        folders += [entry["Prefix"] for entry in page.get("CommonPrefixes", [])]
        found += [S3Object(f"s3://{bucket}/{item['Key']}", item["Size"], item["LastModified"])
                  for item in page.get("Contents", [])]
    return folders, found


def _keys(listing: BaseClient, bucket: str, prefix: str) -> Iterator[S3Object]:
    for page in listing.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield S3Object(f"s3://{bucket}/{item['Key']}", item["Size"], item["LastModified"])


def read_bytes(uri: str, settings: S3Settings) -> bytes:
    """The bytes of an s3:// object or a local file."""
    if is_s3(uri):
        location = S3Uri.parse(uri)
        return client(settings).get_object(Bucket=location.bucket, Key=location.key)["Body"].read()
    return _local(uri).read_bytes()


def write_bytes(uri: str, data: bytes, settings: S3Settings | None = None, *,
                spark: SparkSession | None = None) -> str:
    """Writes (or replaces) one file and returns where: through Spark's filesystems when ``spark`` is
    given (the location as Spark sees it: any scheme it serves, a bare path on its default
    filesystem), else an s3:// object through boto3 or a local file (parent folders created)."""
    if spark is not None:
        path, filesystem = hadoop_fs(spark, uri)
        stream = filesystem.create(path, True)
        try:
            stream.write(bytearray(data))
        finally:
            stream.close()
        return filesystem.makeQualified(path).toString()
    if is_s3(uri):
        location = S3Uri.parse(uri)
        client(settings).put_object(Bucket=location.bucket, Key=location.key, Body=data)
        return uri
    _local(uri).parent.mkdir(parents=True, exist_ok=True)
    _local(uri).write_bytes(data)
    return uri


def exists(uri: str, settings: S3Settings | None = None, *, spark: SparkSession | None = None) -> bool:
    """Whether anything is at ``uri`` (a file, a folder, an object or a prefix), seen as write_bytes sees it."""
    if spark is not None:
        path, filesystem = hadoop_fs(spark, uri)
        return bool(filesystem.exists(path))
    if is_s3(uri):
        location = S3Uri.parse(uri)
        key = location.key.rstrip("/")
        found = client(settings).list_objects_v2(Bucket=location.bucket, Prefix=key, MaxKeys=2)
        return any(item["Key"] == key or item["Key"].startswith(key + "/") for item in found.get("Contents", []))
    return _local(uri).exists()


def file_status(spark: SparkSession, uri: str) -> tuple[int, dt.datetime] | None:
    """Length and modification time of a file through Spark's filesystems; None when it is gone."""
    path, filesystem = hadoop_fs(spark, uri)
    try:
        status = filesystem.getFileStatus(path)
    except Py4JJavaError as exc:
        if "FileNotFoundException" not in str(exc):
            raise
        return None
    return status.getLen(), dt.datetime.fromtimestamp(status.getModificationTime() / 1000, dt.timezone.utc)


def folders(spark: SparkSession, uri: str) -> list[str]:
    """The names of the folders right in ``uri``, through Spark's filesystems."""
    path, filesystem = hadoop_fs(spark, uri)
    return [status.getPath().getName() for status in filesystem.listStatus(path) if status.isDirectory()]


def size(spark: SparkSession, uri: str) -> int:
    """The bytes of every file under ``uri``, through Spark's filesystems."""
    path, filesystem = hadoop_fs(spark, uri)
    return filesystem.getContentSummary(path).getLength()


def delete(spark: SparkSession, uri: str) -> None:
    """Deletes ``uri`` and everything under it, if it is there, through Spark's filesystems."""
    path, filesystem = hadoop_fs(spark, uri)
    filesystem.delete(path, True)


def rename(spark: SparkSession, source: str, target: str) -> None:
    """Moves ``source`` to ``target`` (which must not exist), through Spark's filesystems: one atomic step
    on HDFS and local disks, a copy and a delete on object stores."""
    path, filesystem = hadoop_fs(spark, source)
    if not filesystem.rename(path, hadoop_fs(spark, target)[0]):
        raise OSError(f"could not move {source} to {target}")


def is_local_to(uri: str, spark_settings: SparkSettings) -> bool:
    """Whether Spark will see ``uri`` on the local filesystem: a file: URI, or a bare path when Spark
    runs locally on its default filesystem."""
    if uri.startswith("file:"):
        return True
    return not _scheme(uri) and (spark_settings.master or "").startswith("local") and \
        "spark.hadoop.fs.defaultFS" not in spark_settings.conf


def check_spark_location(spark: SparkSession, uri: str) -> None:
    """Stops before any Spark work when no Hadoop filesystem serves the URI's scheme.

    Raises:
        ConfigError: naming the schemes that do.
    """
    hadoop_fs(spark, uri)


def on_local_disk(spark: SparkSession, uri: str) -> bool:
    """Whether Spark's filesystem for ``uri`` is the local one (a file: URI, or a bare path on a local default
    filesystem), whose files a Python worker can open itself."""
    scheme = _scheme(uri)
    return scheme == "file" if scheme else hadoop_fs(spark, uri)[1].getScheme() == "file"


def hadoop_fs(spark: SparkSession, uri: str):
    """The Hadoop Path of ``uri`` and the FileSystem that serves it (ConfigError when none does)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    try:
        return path, path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    except Py4JJavaError as exc:
        # No filesystem for the scheme, or one configured (s3a:// by Spark's defaults) whose jar is missing.
        if "UnsupportedFileSystemException" not in str(exc) and "ClassNotFoundException" not in str(exc):
            raise
        scheme = uri.split("://", 1)[0]
        frames = "; s3:// frames need none with the boto3 reader (source.reader: auto or boto3)" \
            if scheme == "s3" else ""
        raise ConfigError(f"no Hadoop filesystem for {uri} (scheme {scheme!r}); use a local path, hdfs://, "
                          f"or s3a:// on a cluster with hadoop-aws{frames}") from None


def check_writable(uri: str, settings: S3Settings | None = None, *, spark: SparkSession | None = None) -> None:
    """Stops early when the folder ``uri`` cannot be written: it is a file, a local folder without
    write access, or no such bucket; seen as write_bytes sees it (through Spark's filesystems when
    ``spark`` is given: there only a file in its place is found early, as permissions are the
    filesystem's to check when the folder is written).

    Raises:
        ConfigError: with the location and why.
    """
    if spark is not None:
        path, filesystem = hadoop_fs(spark, uri)
        try:
            if filesystem.exists(path) and not filesystem.getFileStatus(path).isDirectory():
                raise ConfigError(f"cannot write to {uri}: it is a file, not a folder")
        except Py4JJavaError as exc:
            raise ConfigError(f"cannot write to {uri}: {str(exc.java_exception).splitlines()[0]}") from None
        return
    if is_s3(uri):
        bucket = S3Uri.parse(uri).bucket
        try:
            client(settings).head_bucket(Bucket=bucket)
        except (ClientError, BotoCoreError) as exc:
            raise ConfigError(f"cannot write to {uri}: bucket {bucket!r} is not reachable ({exc})") from None
        return
    existing = _local(uri).absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"cannot write to {uri}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK):
        raise ConfigError(f"cannot write to {uri}: this user cannot write to {existing}")


def _scheme(uri: str) -> str:
    """The URI's scheme, "" for a bare path."""
    found = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]+):", uri)
    return found.group(1) if found else ""


def _local(uri: str) -> Path:
    """The local path of a path or a file: URI; other schemes are refused, as only Spark reads them."""
    scheme = _scheme(uri)
    if scheme == "file":
        return Path(unquote(urlsplit(uri).path))
    if scheme:
        raise ConfigError(f"models, boosters and weights are read and written as local paths or s3:// URIs; "
                          f"got {uri!r} (scheme {scheme!r})")
    return Path(uri)


def join(uri: str, name: str) -> str:
    """``uri/name`` for an s3:// URI or a local path."""
    return str(S3Uri.parse(uri).join(name)) if is_s3(uri) else os.path.join(uri, name)
