"""The one protocol every frame reader follows, and what a fetched batch of frames is.

A reader (readers.boto3, readers.local, readers.binaryfile) opens a location as Opened: the listing
(``path, modification_time, length``), the rows a subset of it becomes, and ``fetch``, which a Python
worker calls on a pandas batch of those rows for one FrameRead per frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from camscore.rows import ErrorKind, FrameError, FrameRead

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

    from camscore.storage import S3Object

# The read error of a listed frame deleted before it was read.
GONE = FrameError(ErrorKind.UNREADABLE, "FileNotFound: gone between listing and reading")


@dataclass(frozen=True)
class FetchedBatch:
    """A batch of listed frames and what reading each gave.

    Attributes:
        rows: the batch's listing rows (``path``, ``camera_id``, ``captured_at``, ...).
        reads: one per row, in order.
        cpu_seconds: the CPU the reads took, on every thread that read.
    """

    rows: pd.DataFrame
    reads: list[FrameRead]
    cpu_seconds: float = 0.0

    @property
    def retries(self) -> int:
        return sum(read.retries for read in self.reads)


Fetch = Callable[["pd.DataFrame"], FetchedBatch]


@dataclass(frozen=True)
class Opened:
    """A location opened by a reader.

    Attributes:
        listing: path, modification_time and length of every frame, and the camera and capture time its path
            gives (camscore.io.python_paths); reading it reads no frame.
        rows: the frames, all (None) or those of a subset of ``listing``, as Python workers get them.
        fetch: in a Python worker, a pandas batch of ``rows`` → its FetchedBatch.
        conf: Spark SQL properties the reads want while they run (see spark.session.run_conf).
        objects: the objects an object store listing found, each with its key and folder (the boto3 reader; empty
            for the others): what a listing checkpoint is made of.
    """

    listing: DataFrame
    rows: Callable[[DataFrame | None], DataFrame]
    fetch: Fetch
    conf: Mapping[str, str]
    objects: Sequence[S3Object] = ()


def oversized(length: float | None, *, max_frame_mb: int) -> FrameRead | None:
    """The read of a frame listed larger than ``max_frame_mb``, which is never read; None for any other."""
    if length is not None and length == length and length > max_frame_mb * 2 ** 20:  # NaN: not listed
        return FrameRead(None, FrameError(ErrorKind.TOO_LARGE, too_large_message(int(length), max_frame_mb)))
    return None


TOO_LARGE = "%d bytes exceeds max_frame_mb %d"  # of a frame listed larger, never read


def too_large_message(length: int, max_frame_mb: int) -> str:
    return TOO_LARGE % (length, max_frame_mb)
