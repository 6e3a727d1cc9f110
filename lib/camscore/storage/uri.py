"""Locations: objects reached through the S3 API (s3://, gs://), local paths and ``file:`` URIs (read as Hadoop
reads them), and the rest (Hadoop's)."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass

from camscore.errors import InputError

# What S3Uri reads: s3:// (s3a://, Hadoop's name for the same objects, is read as s3://) and gs://, Cloud
# Storage's objects through its S3-compatible XML API (s3.endpoint_url https://storage.googleapis.com, HMAC
# keys in the standard chain). A gs:// object keeps its scheme wherever camscore names it: Dataproc's GCS
# connector names it gs://, and exactly-once needs one name per frame whichever path scored it.
S3_SCHEMES = ("s3", "s3a", "gs")


@dataclass(frozen=True)
class S3Uri:
    """A bucket and key reached through the S3 API: ``s3://bucket/key`` or ``gs://bucket/key``."""

    bucket: str
    key: str
    scheme: str = "s3"

    @classmethod
    def parse(cls, uri: str) -> "S3Uri":
        """Reads ``s3://bucket/key`` (or ``s3a://``, the same object through boto3) or ``gs://bucket/key``.

        Raises:
            InputError: not such a URI, or one without a bucket.
        """
        found = scheme(uri)
        if found not in S3_SCHEMES:
            raise InputError(f"not an s3:// or gs:// URI: {uri!r}; expected s3://bucket/prefix or gs://bucket/prefix")
        bucket, _, key = uri.split("://", 1)[1].partition("/")
        if not bucket:
            raise InputError(f"{found} URI without a bucket: {uri!r}; expected {found}://bucket/prefix")
        return cls(bucket, key, "s3" if found == "s3a" else found)

    def __str__(self) -> str:
        return f"{self.scheme}://{self.bucket}/{self.key}"

    def at(self, key: str) -> "S3Uri":
        """Another key of the same bucket, named with the same scheme."""
        return dataclasses.replace(self, key=key)

    def join(self, name: str) -> "S3Uri":
        return self.at(f"{self.key.rstrip('/')}/{name}" if self.key else name)


def is_s3(uri: str) -> bool:
    """Whether ``uri`` is an s3:// one (not gs://, which the S3 API reaches too: see through_s3_api)."""
    return uri.startswith("s3://")


def through_s3_api(uri: str) -> bool:
    """Whether boto3 can reach ``uri`` as it is named: s3:// or gs:// (not s3a://, which names a Spark location)."""
    return scheme(uri) in ("s3", "gs")


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
    if through_s3_api(uri):
        return str(S3Uri.parse(uri).join(name))
    return uri.rstrip("/") + "/" + name if scheme(uri) else os.path.join(uri, name)
