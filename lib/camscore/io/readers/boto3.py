"""The boto3 reader (s3://, or gs:// through Cloud Storage's S3-compatible XML API): the driver lists the keys,
each Python worker fetches its frames' bytes itself, several at once, so the bytes never pass through the JVM.
A frame's path is the listed object's URI, in the scheme of the input (storage.list_objects)."""

from __future__ import annotations

import functools
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Mapping

import pandas as pd
from pyspark.sql import SparkSession

from camscore import storage
from camscore.config import S3Settings, SourceSettings
from camscore.errors import InputError, InputUnavailable
from camscore.io.readers.object_read import read_object
from camscore.io.python_paths import has_extension
from camscore.io.readers.base import FetchedBatch, Opened
from camscore.io.readers.partitioning import listed_on_driver
from camscore.rows import FrameRead


def open_frames(spark: SparkSession, uri: str, *, source: SourceSettings, s3: S3Settings,
                after: Mapping[str, str] | None = None) -> Opened:
    objects = list_frames(uri, source=source, s3=s3, after=after)
    listing, rows = listed_on_driver(spark, [(item.uri, item.last_modified, item.size) for item in objects],
                                     source=source)
    return Opened(listing, rows, functools.partial(fetch_batch, s3=s3, max_frame_mb=source.max_frame_mb), {},
                  objects)


def list_frames(uri: str, *, source: SourceSettings, s3: S3Settings,
                after: Mapping[str, str] | None = None) -> list[storage.S3Object]:
    """Every frame under an s3:// or gs:// prefix (all pages), filtered by extension; in a folder named in
    ``after``, only those whose keys sort after the key it maps to (camscore.io.listing_checkpoint).

    Raises:
        InputError: the prefix cannot be listed (no such bucket, access denied).
        InputUnavailable: a passing fault outlasted the retries (the next run tries again).
    """
    try:
        listed = storage.list_objects(uri, s3, depth=source.list_depth, threads=s3.list_threads, after=after)
        return [item for item in listed if has_extension(item.uri, source.extensions)]
    except ConnectionError as exc:
        raise InputUnavailable(f"cannot list {uri} now: {exc} (after s3.max_attempts; the next run tries again)") \
            from exc
    except OSError as exc:
        raise InputError(f"cannot list {uri}: {exc}") from exc


def fetch_batch(batch: pd.DataFrame, *, s3: S3Settings, max_frame_mb: int) -> FetchedBatch:
    """The object at each ``path`` of the batch, fetched in parallel; an object listed over ``max_frame_mb``
    is not fetched."""
    def read(path: str, length: int) -> tuple[FrameRead, float]:
        started = time.thread_time()
        read, _ = read_object(path, s3=s3, max_frame_mb=max_frame_mb, length=length)
        return read, time.thread_time() - started

    outcomes = list(_fetch_pool(s3.fetch_threads).map(read, batch["path"], batch["length"]))
    return FetchedBatch(batch, [read for read, _ in outcomes], sum(seconds for _, seconds in outcomes))


@functools.lru_cache(maxsize=1)
def _fetch_pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="camscore-fetch")
