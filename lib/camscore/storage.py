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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator
from urllib.parse import unquote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (BotoCoreError, ClientError, IncompleteReadError, ReadTimeoutError,
                                 ResponseStreamingError)
from botocore.retries.standard import ExponentialBackoff, RetryContext
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
def client(settings: S3Settings):
    """A boto3 S3 client for these settings, one per process (clients are thread-safe)."""
    config = Config(
        retries={"mode": settings.retry_mode, "total_max_attempts": settings.max_attempts},
        s3={"addressing_style": settings.addressing_style},
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        max_pool_connections=max(10, settings.fetch_threads * 2),
    )
    made = boto3.session.Session().client(
        "s3", endpoint_url=settings.endpoint_url, region_name=settings.region, config=config)
    made.meta.events.register("needs-retry.s3.GetObject", _no_retry_past_deadline)
    return made


@dataclass(frozen=True)
class ObjectRead:
    """An object's bytes, or why they could not be read, and the retries spent on it.

    Attributes:
        gave_up: the failure was one retries are for (throttling, 5xx, a broken
            connection or body, the deadline), not one they cannot cure (no such key).
    """

    data: bytes | None
    error: str | None = None
    retries: int = 0
    gave_up: bool = False


class _DeadlinePassed(Exception):
    def __init__(self, message: str, retries: int):
        super().__init__(message)
        self.retries = retries


# What can break while an answer's body streams in, after botocore is done with the request.
_BODY_ERRORS = (ResponseStreamingError, IncompleteReadError, ReadTimeoutError)
_deadline = threading.local()


def get_object(uri: str, settings: S3Settings) -> ObjectRead:
    """Reads one s3:// object within ``settings.frame_deadline`` seconds, never raising.

    botocore retries the request (throttling, 5xx, connection errors) in its retry mode; a body
    that breaks mid-read is asked for again with botocore's own backoff, up to
    ``settings.max_attempts`` in all. No retry starts after the deadline.
    """
    location = S3Uri.parse(uri)
    deadline = time.monotonic() + settings.frame_deadline
    backoff, retries = ExponentialBackoff(), 0
    _deadline.at = deadline
    try:
        for attempt in range(1, settings.max_attempts + 1):
            try:
                answer = client(settings).get_object(Bucket=location.bucket, Key=location.key)
                retries += answer["ResponseMetadata"].get("RetryAttempts", 0)
                return ObjectRead(answer["Body"].read(), retries=retries)
            except _BODY_ERRORS as exc:
                delay = backoff.delay_amount(RetryContext(attempt_number=attempt))
                if attempt == settings.max_attempts or time.monotonic() + delay > deadline:
                    return ObjectRead(None, f"{type(exc).__name__}: {exc}", retries, gave_up=True)
                retries += 1
                time.sleep(delay)
    except _DeadlinePassed as exc:
        return ObjectRead(None, str(exc), retries + exc.retries, gave_up=True)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        retried = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        return ObjectRead(None, f"{error.get('Code', 'ClientError')}: {error.get('Message', exc)}",
                          retries + retried, gave_up=retried > 0)
    except BotoCoreError as exc:
        return ObjectRead(None, f"{type(exc).__name__}: {exc}", retries, gave_up=True)
    finally:
        _deadline.at = None
    raise AssertionError("unreachable: the last attempt returns")


def _no_retry_past_deadline(response=None, caught_exception=None, attempts: int = 0, **_) -> None:
    """botocore's needs-retry hook: a failed attempt ends a frame's fetch when the longest wait
    botocore may take before the next one (its throttling backoff) would end past the deadline."""
    at = getattr(_deadline, "at", None)
    failed = caught_exception is not None or (response is not None and response[0].status_code >= 500)
    if at is not None and failed and time.monotonic() + min(2 ** (attempts - 1), 20) > at:
        last = caught_exception or response[1].get("Error", {}).get("Code", response[0].status_code)
        raise _DeadlinePassed(f"deadline: gave up after {attempts} attempts (s3.frame_deadline), last: {last}",
                              retries=attempts - 1)


def list_objects(uri: str, settings: S3Settings) -> Iterator[S3Object]:
    """Every object under an s3:// prefix, page by page (any number of keys).

    The prefix is a folder, as a Hadoop path is: ``s3://b/in`` lists ``in/...``, not ``inbox/...``.
    """
    location = S3Uri.parse(uri)
    prefix = location.key if not location.key or location.key.endswith("/") else location.key + "/"
    paginator = client(settings).get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=location.bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield S3Object(f"s3://{location.bucket}/{item['Key']}", item["Size"], item["LastModified"])


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
        path, filesystem = _hadoop(spark, uri)
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
        path, filesystem = _hadoop(spark, uri)
        return bool(filesystem.exists(path))
    if is_s3(uri):
        location = S3Uri.parse(uri)
        found = client(settings).list_objects_v2(Bucket=location.bucket, Prefix=location.key, MaxKeys=1)
        return found.get("KeyCount", 0) > 0
    return _local(uri).exists()


def file_status(spark: SparkSession, uri: str) -> tuple[int, dt.datetime] | None:
    """Length and modification time of a file through Spark's filesystems; None when it is gone."""
    path, filesystem = _hadoop(spark, uri)
    try:
        status = filesystem.getFileStatus(path)
    except Py4JJavaError as exc:
        if "FileNotFoundException" not in str(exc):
            raise
        return None
    return status.getLen(), dt.datetime.fromtimestamp(status.getModificationTime() / 1000, dt.timezone.utc)


def is_local_to(uri: str, spark_settings: SparkSettings) -> bool:
    """Whether Spark will see ``uri`` on the local filesystem: a file: URI, or a bare path when Spark
    runs locally on its default filesystem."""
    if uri.startswith("file:"):
        return True
    bare = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+:", uri) is None
    return bare and (spark_settings.master or "").startswith("local") and \
        "spark.hadoop.fs.defaultFS" not in spark_settings.conf


def check_spark_location(spark: SparkSession, uri: str) -> None:
    """Stops before any Spark work when no Hadoop filesystem serves the URI's scheme.

    Raises:
        ConfigError: naming the schemes that do.
    """
    _hadoop(spark, uri)


def _hadoop(spark: SparkSession, uri: str):
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    try:
        return path, path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    except Py4JJavaError as exc:
        if "UnsupportedFileSystemException" not in str(exc):
            raise
        scheme = uri.split("://", 1)[0]
        frames = "; s3:// frames need none with the boto3 reader (source.reader: auto or boto3)" \
            if scheme == "s3" else ""
        raise ConfigError(f"no Hadoop filesystem for {uri} (scheme {scheme!r}); use a local path, hdfs://, "
                          f"or s3a:// on a cluster with hadoop-aws{frames}") from None


def check_writable(uri: str, settings: S3Settings | None = None, *, spark: SparkSession | None = None) -> None:
    """Stops early when the folder ``uri`` cannot be written: it is a file, a local folder without
    write access, or no such bucket; seen as write_bytes sees it (through Spark's filesystems when
    ``spark`` is given, which then makes the folder, as a write would).

    Raises:
        ConfigError: with the location and why.
    """
    if spark is not None:
        path, filesystem = _hadoop(spark, uri)
        try:
            if filesystem.exists(path) and not filesystem.getFileStatus(path).isDirectory():
                raise ConfigError(f"cannot write to {uri}: it is a file, not a folder")
            filesystem.mkdirs(path)
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


def _local(uri: str) -> Path:
    """The local path of a path or a file: URI; other schemes are refused, as only Spark reads them."""
    scheme = uri.split(":", 1)[0] if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+:", uri) else ""
    if scheme == "file":
        return Path(unquote(urlsplit(uri).path))
    if scheme:
        raise ConfigError(f"models, boosters and weights are read and written as local paths or s3:// URIs; "
                          f"got {uri!r} (scheme {scheme!r})")
    return Path(uri)


def join(uri: str, name: str) -> str:
    """``uri/name`` for an s3:// URI or a local path."""
    return str(S3Uri.parse(uri).join(name)) if is_s3(uri) else os.path.join(uri, name)
