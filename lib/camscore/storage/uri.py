"""Locations: s3:// URIs, local paths and ``file:`` URIs (read as Hadoop reads them), and the rest (Hadoop's)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from camscore.errors import InputError

S3_SCHEMES = ("s3", "s3a")


@dataclass(frozen=True)
class S3Uri:
    """An s3://bucket/key location."""

    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> "S3Uri":
        """Reads ``s3://bucket/key`` (or ``s3a://``, the same object through boto3).

        Raises:
            InputError: not such a URI, or one without a bucket.
        """
        if scheme(uri) not in S3_SCHEMES:
            raise InputError(f"not an s3:// URI: {uri!r}; expected s3://bucket/prefix")
        bucket, _, key = uri.split("://", 1)[1].partition("/")
        if not bucket:
            raise InputError(f"s3 URI without a bucket: {uri!r}; expected s3://bucket/prefix")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def join(self, name: str) -> "S3Uri":
        return S3Uri(self.bucket, f"{self.key.rstrip('/')}/{name}" if self.key else name)


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def scheme(uri: str) -> str:
    """The URI's scheme, "" for a bare path."""
    found = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]+):", uri)
    return found.group(1).lower() if found else ""


def local_path(uri: str) -> str:
    """The path of a local path or ``file:`` URI, as Hadoop reads it: ``file:/a``, ``file:///a`` and ``/a``
    are ``/a``, and ``#`` and ``%`` are part of the name (``file:/a%20b`` is the file ``a%20b``)."""
    if scheme(uri) != "file":
        return uri
    path = uri[len("file:"):]
    return "/" + path.lstrip("/") if path.startswith("//") else path


def join(uri: str, name: str) -> str:
    """``uri/name`` for any location."""
    if is_s3(uri):
        return str(S3Uri.parse(uri).join(name))
    return uri.rstrip("/") + "/" + name if scheme(uri) else os.path.join(uri, name)
