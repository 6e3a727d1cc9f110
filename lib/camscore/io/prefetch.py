"""Fetch-ahead: a worker reads the next batch of frames while it scores this one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Iterable, Iterator

from camscore.io.readers.base import Fetch, FetchedBatch

if TYPE_CHECKING:  # the batches are pandas frames, but the service, which imports camscore.io, loads no pandas
    import pandas as pd


def fetched_ahead(batches: Iterator[pd.DataFrame], fetch: Fetch, *, max_batch_mb: int) -> Iterator[FetchedBatch]:
    """Each batch fetched, cut where its frames' listed lengths reach ``max_batch_mb``; fetches the next
    batch while the caller works on this one."""
    ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="camscore-fetch-ahead")
    try:
        pending = None
        for batch in _within_bytes(batches, max_batch_mb * 2 ** 20):
            upcoming = ahead.submit(fetch, batch)
            if pending is not None:
                yield pending.result()
            pending = upcoming
        if pending is not None:
            yield pending.result()
    finally:
        # A consumer that stops early (a limit, a failure downstream) does not wait for the next batch.
        ahead.shutdown(wait=False, cancel_futures=True)


def _within_bytes(batches: Iterable[pd.DataFrame], most: int) -> Iterator[pd.DataFrame]:
    """The batches, each cut before the frame that would take its ``length`` sum past ``most``
    (a frame larger than ``most`` alone)."""
    for batch in batches:
        start, total = 0, 0
        for at, length in enumerate(batch["length"].fillna(0)):
            if total + length > most and at > start:
                yield batch.iloc[start:at]
                start, total = at, 0
            total += length
        if start < len(batch):
            yield batch.iloc[start:] if start else batch
