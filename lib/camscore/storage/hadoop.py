"""Files on Spark's Hadoop filesystems (hdfs://, s3a://, gs://, a bare path on the default filesystem)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from camscore.errors import ConfigError
from camscore.storage.uri import scheme

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _java_error() -> type[Exception]:
    """py4j's error of a failed Java call, imported where Spark runs (a process without it never calls)."""
    from py4j.protocol import Py4JJavaError

    return Py4JJavaError


class HadoopStorage:
    """Whole files through a session's Hadoop filesystems. Create-if-absent is atomic on HDFS; replacing
    is a delete, then a create."""

    def __init__(self, spark: SparkSession):
        self.spark = spark

    def read(self, uri: str) -> bytes:
        path, filesystem = hadoop_fs(self.spark, uri)
        try:
            stream = filesystem.open(path)
        except _java_error() as exc:
            if "FileNotFoundException" in str(exc):
                raise FileNotFoundError(uri) from None
            raise OSError(f"cannot read {uri}: {str(exc.java_exception).splitlines()[0]}") from None
        try:
            return bytes(stream.readAllBytes())
        finally:
            stream.close()

    def write(self, uri: str, data: bytes) -> str:
        path, filesystem = hadoop_fs(self.spark, uri)
        self._write(filesystem.create(path, True), data)
        return filesystem.makeQualified(path).toString()

    def exists(self, uri: str) -> bool:
        path, filesystem = hadoop_fs(self.spark, uri)
        return bool(filesystem.exists(path))

    def create(self, uri: str, data: bytes) -> object | None:
        path, filesystem = hadoop_fs(self.spark, uri)
        try:
            stream = filesystem.create(path, False)
        except _java_error() as exc:
            if "FileAlreadyExistsException" in str(exc):
                return None
            raise
        self._write(stream, data)
        return data

    def read_versioned(self, uri: str) -> tuple[bytes, object] | None:
        try:
            data = self.read(uri)
        except FileNotFoundError:
            return None
        return data, data

    def replace(self, uri: str, data: bytes, token: object) -> object | None:
        found = self.read_versioned(uri)
        if found is None or found[0] != token:
            return None
        self.delete(uri)
        return self.create(uri, data)

    def delete(self, uri: str) -> None:
        path, filesystem = hadoop_fs(self.spark, uri)
        filesystem.delete(path, True)

    def check_writable(self, uri: str) -> None:
        """Only a file in the folder's place is found early: permissions are the filesystem's to check
        when the folder is written."""
        path, filesystem = hadoop_fs(self.spark, uri)
        try:
            if filesystem.exists(path) and not filesystem.getFileStatus(path).isDirectory():
                raise ConfigError(f"cannot write to {uri}: it is a file, not a folder")
        except _java_error() as exc:
            raise ConfigError(f"cannot write to {uri}: {str(exc.java_exception).splitlines()[0]}") from None

    @staticmethod
    def _write(stream, data: bytes) -> None:
        try:
            stream.write(bytearray(data))
        finally:
            stream.close()


def file_status(spark: SparkSession, uri: str) -> tuple[int, dt.datetime] | None:
    """Length and modification time of a file through Spark's filesystems; None when it is gone."""
    path, filesystem = hadoop_fs(spark, uri)
    try:
        status = filesystem.getFileStatus(path)
    except _java_error() as exc:
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


def check_spark_location(spark: SparkSession, uri: str) -> None:
    """Stops before any Spark work when no Hadoop filesystem serves the URI's scheme.

    Raises:
        ConfigError: naming the schemes that do.
    """
    hadoop_fs(spark, uri)


def on_local_disk(spark: SparkSession, uri: str) -> bool:
    """Whether Spark's filesystem for ``uri`` is the local one (a file: URI, or a bare path on a local default
    filesystem), whose files a Python worker can open itself."""
    scheme_ = scheme(uri)
    return scheme_ == "file" if scheme_ else hadoop_fs(spark, uri)[1].getScheme() == "file"


def hadoop_fs(spark: SparkSession, uri: str):
    """The Hadoop Path of ``uri`` and the FileSystem that serves it (ConfigError when none does)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    try:
        return path, path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    except _java_error() as exc:
        # No filesystem for the scheme, or one configured (s3a:// by Spark's defaults) whose jar is missing.
        if "UnsupportedFileSystemException" not in str(exc) and "ClassNotFoundException" not in str(exc):
            raise
        scheme = uri.split("://", 1)[0]
        frames = {"s3": "; s3:// frames need none with the boto3 reader (source.reader: auto or boto3)",
                  "gs": "; gs:// needs the GCS connector (Dataproc's images carry it), or, for frames, "
                        "source.reader: boto3 with s3.endpoint_url https://storage.googleapis.com and HMAC keys"
                  }.get(scheme, "")
        raise ConfigError(f"no Hadoop filesystem for {uri} (scheme {scheme!r}); use a local path, hdfs://, "
                          f"or s3a:// on a cluster with hadoop-aws{frames}") from None


