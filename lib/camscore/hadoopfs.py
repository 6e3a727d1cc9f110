"""Small file operations through Spark's Hadoop filesystems (any URI the cluster can write)."""

from __future__ import annotations

from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

from camscore.errors import ConfigError


def _path_and_filesystem(spark: SparkSession, uri: str):
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    try:
        return path, path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    except Py4JJavaError as exc:
        if "UnsupportedFileSystemException" not in str(exc):
            raise
        scheme = uri.split("://", 1)[0]
        raise ConfigError(
            f"no Hadoop filesystem for {uri} (scheme {scheme!r}); use a local path, hdfs://, "
            f"or s3a:// on a cluster with hadoop-aws") from None


def check_filesystem(spark: SparkSession, uri: str) -> None:
    """Stops before any Spark work when no Hadoop filesystem serves the URI's scheme."""
    _path_and_filesystem(spark, uri)


def exists(spark: SparkSession, uri: str) -> bool:
    path, filesystem = _path_and_filesystem(spark, uri)
    return bool(filesystem.exists(path))


def write_bytes(spark: SparkSession, uri: str, data: bytes) -> str:
    """Writes (or replaces) one file; returns its full URI."""
    path, filesystem = _path_and_filesystem(spark, uri)
    stream = filesystem.create(path, True)
    try:
        stream.write(bytearray(data))
    finally:
        stream.close()
    return path.toString()
