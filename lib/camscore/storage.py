"""Object storage through boto3: URIs, clients, small reads and writes.

Credentials come only from boto3's standard chain (environment, shared
credentials file, instance role); nothing here takes a key.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from camscore.config import S3Settings
from camscore.errors import ConfigError, InputError


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
        retries={"mode": settings.retry_mode, "max_attempts": settings.max_attempts},
        s3={"addressing_style": settings.addressing_style},
        max_pool_connections=max(10, settings.fetch_threads * 2),
    )
    return boto3.session.Session().client(
        "s3", endpoint_url=settings.endpoint_url, region_name=settings.region, config=config)


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
    _check_scheme(uri)
    if not is_s3(uri):
        return _local(uri).read_bytes()
    location = S3Uri.parse(uri)
    return client(settings).get_object(Bucket=location.bucket, Key=location.key)["Body"].read()


def write_bytes(uri: str, data: bytes, settings: S3Settings) -> None:
    """Writes an s3:// object or a local file (parent folders created)."""
    _check_scheme(uri)
    if not is_s3(uri):
        _local(uri).parent.mkdir(parents=True, exist_ok=True)
        _local(uri).write_bytes(data)
        return
    location = S3Uri.parse(uri)
    client(settings).put_object(Bucket=location.bucket, Key=location.key, Body=data)


def _check_scheme(uri: str) -> None:
    scheme = uri.split("://", 1)[0] if "://" in uri else ""
    if scheme not in ("", "s3", "file"):
        raise ConfigError(f"models, boosters and weights are read and written as local paths or s3:// URIs; "
                          f"got {uri!r} (scheme {scheme!r})")


def check_writable(uri: str, settings: S3Settings) -> None:
    """Stops early when ``uri`` cannot be written: no such bucket, or a local folder without write access.

    Raises:
        ConfigError: with the location and why.
    """
    _check_scheme(uri)
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
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise ConfigError(f"cannot write to {uri}: {existing} is not a folder this user can write to")


def _local(uri: str) -> Path:
    return Path(uri[len("file://"):] if uri.startswith("file://") else uri)


def join(uri: str, name: str) -> str:
    """``uri/name`` for an s3:// URI or a local path."""
    return str(S3Uri.parse(uri).join(name)) if is_s3(uri) else os.path.join(uri, name)
