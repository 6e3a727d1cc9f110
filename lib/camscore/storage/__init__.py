"""One storage layer: whole files at a location, the backend chosen once from its URI.

``resolve(uri, s3=..., spark=...)`` is the one place a location's backend (its Storage) is picked: s3://
(and s3a://, the same objects) through boto3, gs:// through boto3 too (Cloud Storage's S3-compatible XML API)
where camscore reads and writes it itself, a local path or ``file:`` URI on the local disk, and any other Hadoop
URI through the session's filesystems. Every backend reads, writes, tells whether something exists,
creates a file only if it is absent and replaces it only if it is unchanged (the lease's two atomic
steps), and deletes. Failures are OSErrors (FileNotFoundError when nothing is there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from camscore.config import S3Settings
from camscore.errors import ConfigError
from camscore.storage.hadoop import (HadoopStorage, check_spark_location, delete, file_status, folders, hadoop_fs,
                                     on_local_disk, rename, size)
from camscore.storage.local import LocalStorage
from camscore.storage.s3 import ObjectRead, S3Object, S3Storage, client, get_object, list_objects
from camscore.storage.uri import S3Uri, is_s3, join, local_path, scheme, through_s3_api

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["HadoopStorage", "LocalStorage", "ObjectRead", "S3Object", "S3Storage", "S3Uri", "Storage", "StorageFiles",
           "check_spark_location", "check_writable", "client", "delete", "exists", "file_status", "folders",
           "get_object", "hadoop_fs", "is_local_to", "is_s3", "join", "list_objects", "local_path",
           "on_local_disk", "read_bytes", "rename", "resolve", "scheme", "size", "through_s3_api",
           "write_bytes"]


class Storage(Protocol):
    """Whole files at locations of one backend. A ``token`` is what a conditional write must match."""

    def read(self, uri: str) -> bytes: ...
    def write(self, uri: str, data: bytes) -> str: ...
    def exists(self, uri: str) -> bool: ...
    def create(self, uri: str, data: bytes) -> object | None: ...
    def read_versioned(self, uri: str) -> tuple[bytes, object] | None: ...
    def replace(self, uri: str, data: bytes, token: object) -> object | None: ...
    def delete(self, uri: str) -> None: ...
    def check_writable(self, uri: str) -> None: ...


def resolve(uri: str, *, s3: S3Settings | None, spark: SparkSession | None = None) -> Storage:
    """The backend of ``uri``: boto3 for s3://, the local disk for a path or ``file:`` URI (or a bare path
    Spark's default filesystem holds on the local disk), else Spark's Hadoop filesystems (s3a:// among them).

    A gs:// location is reached through the session's filesystems where there is a session (Dataproc's GCS
    connector, with the cluster's service account: where Spark writes the table, the batch job's lease and
    compaction are on the same footing), and through boto3 (Cloud Storage's S3-compatible XML API, the s3
    settings, HMAC keys) where camscore reads and writes it itself: the service's rows, model
    directories, weights.

    Args:
        uri: the location.
        s3: how boto3 reaches s3:// (and gs://) locations; None only where the caller holds no such location
            (a Spark output), never as "AWS by default".
        spark: the session whose filesystems serve Hadoop URIs; None where there is none.

    Raises:
        ConfigError: an s3:// URI (or a gs:// one without a session) without S3 settings, a Hadoop URI
            without a session, or one no Hadoop filesystem serves.
    """
    found = scheme(uri)
    if found == "s3" or (found == "gs" and spark is None):
        if s3 is None:
            raise ConfigError(f"{uri} is read and written through boto3 and needs the s3 settings" + (
                "; here it is a Spark location: use s3a:// where the cluster has hadoop-aws" if found == "s3" else
                " (s3.endpoint_url https://storage.googleapis.com, HMAC keys in the standard chain)"))
        return S3Storage(s3)
    if found == "file" or (not found and spark is None):
        return LocalStorage()
    if spark is None:
        raise ConfigError(f"models, boosters and weights are read and written as local paths or s3:// URIs; "
                          f"got {uri!r} (scheme {found!r})")
    return LocalStorage() if on_local_disk(spark, uri) else HadoopStorage(spark)



class StorageFiles:
    """Whole files at local paths and s3:// (or gs://) URIs, as the model layer reads, writes and names them
    (its camscore.model.files.FileAccess); join is storage's one URI join."""

    def __init__(self, s3: S3Settings):
        self.s3 = s3

    def read(self, uri: str) -> bytes:
        return read_bytes(uri, s3=self.s3)

    def write(self, uri: str, data: bytes) -> str:
        return write_bytes(uri, data, s3=self.s3)

    def join(self, uri: str, name: str) -> str:
        return join(uri, name)


def read_bytes(uri: str, *, s3: S3Settings | None, spark: SparkSession | None = None) -> bytes:
    return resolve(uri, s3=s3, spark=spark).read(uri)


def write_bytes(uri: str, data: bytes, *, s3: S3Settings | None, spark: SparkSession | None = None) -> str:
    """Writes (or replaces) one file, parent folders made; returns where."""
    return resolve(uri, s3=s3, spark=spark).write(uri, data)


def exists(uri: str, *, s3: S3Settings | None, spark: SparkSession | None = None) -> bool:
    """Whether anything is at ``uri``: a file, a folder, an object or a prefix."""
    return resolve(uri, s3=s3, spark=spark).exists(uri)


def check_writable(uri: str, *, s3: S3Settings | None, spark: SparkSession | None = None) -> None:
    """Stops early when the folder ``uri`` cannot be written (ConfigError with the location and why)."""
    resolve(uri, s3=s3, spark=spark).check_writable(uri)


def is_local_to(uri: str, spark_settings) -> bool:
    """Whether Spark will see ``uri`` on the local filesystem: a file: URI, or a bare path when Spark
    runs locally on its default filesystem."""
    found = scheme(uri)
    if found == "file":
        return True
    return not found and (spark_settings.master or "").startswith("local") and \
        "spark.hadoop.fs.defaultFS" not in spark_settings.conf
