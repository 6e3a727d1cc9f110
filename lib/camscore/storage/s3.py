"""Object storage through boto3: clients, one object's read with retries and a deadline, listing, and
whole objects (S3Storage) with the conditional puts the lease needs.

s3:// and gs:// locations alike (see uri.S3Uri): gs:// is Cloud Storage through its S3-compatible XML API,
with ``s3.endpoint_url: https://storage.googleapis.com`` and HMAC keys. Every URI handed back keeps the
scheme it was asked with.

Credentials come only from boto3's standard chain (environment, shared
credentials file, instance role); nothing here takes a key.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterator, Mapping

import boto3
import urllib3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import (BotoCoreError, ClientError, IncompleteReadError, ReadTimeoutError,
                                 ResponseStreamingError)
from botocore.retries.standard import (ExponentialBackoff, RetryContext, ThrottledRetryableChecker,
                                       TransientRetryableChecker)

from camscore.config import S3Settings
from camscore.errors import ConfigError
from camscore.storage.uri import S3Uri

_MISSING = ("NoSuchKey", "404", "NoSuchBucket", "NotFound")
_CONFLICT = ("PreconditionFailed", "ConditionalRequestConflict")


class S3Storage:
    """Whole objects through boto3. Failures are OSErrors (FileNotFoundError for no such key or bucket);
    create and replace are conditional puts (``If-None-Match: *``, ``If-Match``), atomic on S3. (Nothing
    takes a lease on gs:// here: the batch job and compaction reach a gs:// output through Spark's GCS
    connector, see resolve, and the service takes none.)"""

    def __init__(self, settings: S3Settings):
        self.settings = settings

    def read(self, uri: str) -> bytes:
        return self.read_versioned(uri, missing_ok=False)[0]

    def write(self, uri: str, data: bytes) -> str:
        self._put(uri, data)
        return uri

    def exists(self, uri: str) -> bool:
        """Whether an object or a folder of objects is at ``uri``."""
        location = S3Uri.parse(uri)
        key = location.key.rstrip("/")
        found = self._call(uri, client_for(location, self.settings).list_objects_v2, Bucket=location.bucket,
                           Prefix=key, MaxKeys=2)
        return any(item["Key"] == key or item["Key"].startswith(key + "/") for item in found.get("Contents", []))

    def create(self, uri: str, data: bytes) -> object | None:
        return self._put(uri, data, IfNoneMatch="*")

    def read_versioned(self, uri: str, *, missing_ok: bool = True) -> tuple[bytes, object] | None:
        location = S3Uri.parse(uri)
        try:
            found = self._call(uri, client_for(location, self.settings).get_object, Bucket=location.bucket,
                               Key=location.key)
            return found["Body"].read(), found["ETag"]
        except FileNotFoundError:
            if missing_ok:
                return None
            raise

    def replace(self, uri: str, data: bytes, token: object) -> object | None:
        return self._put(uri, data, IfMatch=token)

    def delete(self, uri: str) -> None:
        location = S3Uri.parse(uri)
        self._call(uri, client_for(location, self.settings).delete_object, Bucket=location.bucket,
                   Key=location.key)

    def check_writable(self, uri: str) -> None:
        location = S3Uri.parse(uri)
        bucket = location.bucket
        try:
            client_for(location, self.settings).head_bucket(Bucket=bucket)
        except (ClientError, BotoCoreError) as exc:
            raise ConfigError(f"cannot write to {uri}: bucket {bucket!r} is not reachable ({exc})") from None

    def _put(self, uri: str, data: bytes, **condition) -> object | None:
        location = S3Uri.parse(uri)
        try:
            return client_for(location, self.settings).put_object(
                Bucket=location.bucket, Key=location.key, Body=data, **condition)["ETag"]
        except ClientError as exc:
            if condition and exc.response.get("Error", {}).get("Code") in _CONFLICT:
                return None
            raise _os_error(uri, exc) from None
        except BotoCoreError as exc:
            raise _os_error(uri, exc) from None

    @staticmethod
    def _call(uri: str, method, **kwargs):
        try:
            return method(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise _os_error(uri, exc) from None


def _os_error(uri: str, exc: Exception) -> OSError:
    """A boto3 failure as the OSError a file's would be: FileNotFoundError for no such key or bucket,
    ConnectionError for a passing fault (throttling, 5xx, the network) that outlasted botocore's retries."""
    code = getattr(exc, "response", {}).get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
    if code in _MISSING:
        return FileNotFoundError(f"{uri}: {code}")
    return (ConnectionError if _passing(exc) else OSError)(f"{uri}: {exc}")


@dataclass(frozen=True)
class S3Object:
    """One listed object: its URI, and its key and the folder it was listed in (keys of the bucket)."""

    uri: str
    size: int
    last_modified: dt.datetime  # timezone-aware
    key: str
    folder: str


def client_for(location: S3Uri, settings: S3Settings) -> BaseClient:
    """The client that reaches ``location``: Cloud Storage's for a gs:// one."""
    return client(settings, cloud_storage=True) if location.scheme == "gs" else client(settings)


@functools.lru_cache(maxsize=8)
def client(settings: S3Settings, *, cloud_storage: bool = False) -> BaseClient:
    """A boto3 S3 client for these settings, one per process (clients are thread-safe).

    Args:
        cloud_storage: for gs:// objects: checksums only where an operation requires one, as botocore did
            before 1.36; Cloud Storage's XML API refuses the CRC32 trailer of an aws-chunked body botocore
            sends by default (PutObject answered SignatureDoesNotMatch, boto/boto3#4400). Elsewhere botocore's
            own choice (its default, or AWS_REQUEST_CHECKSUM_CALCULATION and the shared config file).
    """
    checksums = "when_required" if cloud_storage else None
    config = Config(
        retries={"mode": settings.retry_mode, "total_max_attempts": settings.max_attempts},
        s3={"addressing_style": settings.addressing_style},
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        max_pool_connections=max(10, settings.fetch_threads * 2),
        request_checksum_calculation=checksums,
        response_checksum_validation=checksums,
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
        modified: the object's Last-Modified, when read.
    """

    data: bytes | None
    error: str | None = None
    retries: int = 0
    passing: bool = False
    modified: dt.datetime | None = None


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
    """Reads one s3:// or gs:// object, never raising: at most ``settings.max_attempts`` requests (botocore's
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
            answer = client_for(location, settings).get_object(Bucket=location.bucket, Key=location.key)
            used += answer["ResponseMetadata"].get("RetryAttempts", 0) + 1
            try:
                return ObjectRead(_read_body(answer["Body"], deadline), retries=used - 1,
                                  modified=answer.get("LastModified"))
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


def list_objects(uri: str, settings: S3Settings, *, depth: int = 0, threads: int = 1,
                 after: Mapping[str, str] | None = None) -> Iterator[S3Object]:
    """Every object under an s3:// or gs:// prefix, page by page (any number of keys); see _list_objects.

    Raises:
        OSError: the prefix cannot be listed.
    """
    try:
        yield from _list_objects(uri, settings, depth=depth, threads=threads, after=after or {})
    except (ClientError, BotoCoreError) as exc:
        raise _os_error(uri, exc) from None


def _list_objects(uri: str, settings: S3Settings, *, depth: int, threads: int,
                  after: Mapping[str, str]) -> Iterator[S3Object]:
    """Every object under an s3:// or gs:// prefix, page by page (any number of keys), named with its scheme.

    The prefix is a folder, as a Hadoop path is: ``s3://b/in`` lists ``in/...``, not ``inbox/...``.
    With ``depth`` > 0 its folders down to that depth are found first (a listing with a delimiter
    per folder), then each folder's keys are listed on ``threads`` threads at once: one folder per
    camera (depth 1) or per camera and day, so the listing's time falls with the threads. A folder
    (a key of the bucket ending in ``/``, the prefix itself at depth 0) named in ``after`` is listed only
    past the key it maps to (S3's StartAfter): what sorts after it.
    """
    location = S3Uri.parse(uri)
    prefix = location.key if not location.key or location.key.endswith("/") else location.key + "/"
    listing = client_for(location, settings)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="camscore-list") as pool:
        folders = [prefix]
        for _ in range(depth):
            levels = list(pool.map(lambda folder: _one_level(listing, location, folder), folders))
            folders = [folder for level_folders, _ in levels for folder in level_folders]
            for _, found in levels:
                yield from found
        for found in pool.map(lambda folder: list(_keys(listing, location, folder, after.get(folder))), folders):
            yield from found


def _one_level(listing: BaseClient, location: S3Uri, prefix: str) -> tuple[list[str], list[S3Object]]:
    """The folders right under ``prefix`` (a key of ``location``'s bucket) and the objects directly in it."""
    folders, found = [], []
    pages = listing.get_paginator("list_objects_v2").paginate(Bucket=location.bucket, Prefix=prefix, Delimiter="/")
    for page in pages:
        folders += [entry["Prefix"] for entry in page.get("CommonPrefixes", [])]
        found += [_listed(location, item, prefix) for item in page.get("Contents", [])]
    return folders, found


def _keys(listing: BaseClient, location: S3Uri, prefix: str, after: str | None) -> Iterator[S3Object]:
    past = {"StartAfter": after} if after else {}
    for page in listing.get_paginator("list_objects_v2").paginate(Bucket=location.bucket, Prefix=prefix, **past):
        for item in page.get("Contents", []):
            yield _listed(location, item, prefix)


def _listed(location: S3Uri, item: dict, folder: str) -> S3Object:
    """A listing's entry as an object named as the listed prefix is (s3:// or gs://)."""
    return S3Object(str(location.at(item["Key"])), item["Size"], item["LastModified"], item["Key"], folder)


