"""The local reader (the local filesystem): the driver lists the folder as Spark's file index would, and
each Python worker reads its own files."""

from __future__ import annotations

import functools
import time

import pandas as pd
from pyspark.sql import SparkSession

from camscore.config import SourceSettings
from camscore.io.readers.listing import HADOOP_GLOB, binary_files, listed_columns, local_frames, unscanned
from camscore.io.readers.partitioning import listed_on_driver
from camscore.io.readers.base import GONE, FetchedBatch, Opened, oversized
from camscore.rows import ErrorKind, FrameError, FrameRead
from camscore.storage import local_path


def open_frames(spark: SparkSession, uri: str, *, source: SourceSettings) -> Opened:
    """A Hadoop glob is left to Spark, through binaryFile without ``content``, which reads no file."""
    if HADOOP_GLOB.search(uri):
        found = binary_files(spark, uri, source=source)
        listed = [tuple(row) for row in found.select(*listed_columns()).collect()]
        listed += unscanned(spark, {path for path, _, _ in listed}, listed=found.inputFiles())
    else:
        listed = local_frames(uri, extensions=source.extensions)
    listing, rows = listed_on_driver(spark, listed, source=source)
    return Opened(listing, rows, functools.partial(read_files, max_frame_mb=source.max_frame_mb), {})


def read_files(batch: pd.DataFrame, *, max_frame_mb: int) -> FetchedBatch:
    """The local file at each ``path`` of the batch; a file listed over ``max_frame_mb`` is not read."""
    started = time.thread_time()
    reads = [oversized(length, max_frame_mb=max_frame_mb) or _read_file(path)
             for path, length in zip(batch["path"], batch["length"])]
    return FetchedBatch(batch, reads, time.thread_time() - started)


def _read_file(path: str) -> FrameRead:
    try:
        with open(local_path(path), "rb") as file:
            return FrameRead(file.read())
    except FileNotFoundError:
        return FrameRead(None, GONE)
    except (PermissionError, IsADirectoryError) as exc:
        return FrameRead(None, FrameError(ErrorKind.UNREADABLE, f"{type(exc).__name__}: {exc.strerror}"))
    except OSError as exc:  # an I/O error of the disk or a network mount: a later run may read it
        return FrameRead(None, FrameError(ErrorKind.READ, f"{type(exc).__name__}: {exc.strerror or exc}"))
