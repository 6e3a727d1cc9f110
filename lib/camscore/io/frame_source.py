"""Reading frames: three readers behind one protocol (camscore.io.readers.base), chosen here.

Every reader lists ``path, modification_time, length``, and ``camera_id`` and ``captured_at`` are taken
from the path; a Python worker gets each batch's reads from FrameSource.fetch. The boto3 reader (s3://, and
gs:// when asked for) and the local reader (the local filesystem) list on the driver and read the bytes in the
worker, so they never pass through the JVM; the binaryfile reader (any other Hadoop URI) lists and reads them
in Spark's scan.

gs:// is read by binaryfile unless source.reader says boto3: on Dataproc the image's GCS connector reaches
Cloud Storage with the cluster's service account, where boto3 would need HMAC keys for Cloud Storage's
S3-compatible XML API (s3.endpoint_url https://storage.googleapis.com). Either way a frame's path is
``gs://bucket/key``, as the service names a frame of a Cloud Storage finalize event, so --only-new and
compaction see one frame whichever path scored it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from pyspark.sql import DataFrame, SparkSession

from camscore import storage
from camscore.config import S3Settings, SourceSettings
from camscore.errors import InputError
from camscore.io.readers import binaryfile as binaryfile_reader, boto3 as boto3_reader, local as local_reader
from camscore.io.readers.base import Fetch


@dataclass(frozen=True)
class FrameSource:
    """Frames at one location, read the same way whichever reader listed them.

    Attributes:
        uri: where they were listed.
        listing: path, modification_time, length, camera_id and captured_at of every
            frame; reading it reads no frame.
        fetch: in a Python worker, a pandas batch of ``rows()`` → its FetchedBatch: one FrameRead per
            frame, with the bytes or the error that kept them (``read`` for a passing fault a later run
            tries again, ``unreadable`` for a refusal, ``too_large`` for a frame over source.max_frame_mb,
            which is never read), and the CPU the reads took.
        conf: Spark SQL properties the reads of these frames want while they run
            (the partitioning of a file scan, the bytes of an Arrow batch); see spark.session.run_conf.
        max_batch_mb: the most bytes of frames a worker takes in one batch (io.prefetch.fetched_ahead).
        objects: what the boto3 reader's listing found, each object with its key and folder; empty for the others.
    """

    uri: str
    listing: DataFrame
    fetch: Fetch
    conf: Mapping[str, str]
    max_batch_mb: int
    _rows: Callable[[DataFrame | None], DataFrame]
    objects: Sequence[storage.S3Object] = ()

    def rows(self, wanted: DataFrame | None = None) -> DataFrame:
        """The frames, all or those of ``wanted`` (rows of ``listing``), as the Python workers get them:
        each pandas batch goes through ``fetch`` (or ``fetched_ahead``) for its bytes."""
        return self._rows(wanted)


def read_frames(spark: SparkSession, uri: str, *, source: SourceSettings, s3: S3Settings,
                after: Mapping[str, str] | None = None) -> FrameSource:
    """The frames under ``uri``.

    Args:
        spark: the session.
        uri: ``s3://bucket/prefix`` (boto3 reader unless source.reader says otherwise),
            a local folder (local reader), or any Hadoop URI (binaryFile, recursive), ``gs://bucket/prefix``
            among them (boto3 reader where source.reader says boto3).
        source: extensions, path regex and partitioning.
        s3: endpoint and retries of the boto3 reader.
        after: the boto3 reader lists a folder named here only past the key it maps to
            (camscore.io.listing_checkpoint); the other readers list everything.

    Raises:
        InputError: the location does not exist or cannot be listed, or a reader is asked to read what
            it cannot.
        ConfigError: no Hadoop filesystem serves the location (binaryFile).
    """
    reader = reader_for(spark, uri, source=source, s3=s3)
    if reader == "boto3":
        if not storage.through_s3_api(uri):
            raise InputError(f"source.reader boto3 reads s3:// URIs only; got {uri!r}: gs:// too (Cloud Storage's "
                             f"S3-compatible API); for anything else use reader auto or binaryfile")
        opened = boto3_reader.open_frames(spark, uri, source=source, s3=s3, after=after)
    elif reader == "local":
        if not storage.on_local_disk(spark, uri):
            raise InputError(f"source.reader local reads the local filesystem only; got {uri!r}: use reader auto")
        opened = local_reader.open_frames(spark, uri, source=source)
    else:
        opened = binaryfile_reader.open_frames(spark, uri, source=source)
    # Spark 4 cuts Arrow batches at this many bytes as well as at their frames (3.5 by frames only).
    conf = {**opened.conf, "spark.sql.execution.arrow.maxBytesPerBatch": str(source.max_batch_mb * 2 ** 20)}
    return FrameSource(uri, opened.listing, opened.fetch, conf, source.max_batch_mb, opened.rows, opened.objects)


def reader_for(spark: SparkSession, uri: str, *, source: SourceSettings, s3: S3Settings) -> str:
    """The reader that reads ``uri``: source.reader, or the one auto means for the location's backend
    (storage.resolve picks it: with a session, gs:// is a Hadoop location, read by binaryfile)."""
    if source.reader != "auto":
        return source.reader
    backend = storage.resolve(uri, s3=s3, spark=spark)
    if isinstance(backend, storage.S3Storage):
        return "boto3"
    return "local" if isinstance(backend, storage.LocalStorage) else "binaryfile"
