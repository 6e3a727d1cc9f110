"""One object of the store read as a frame: the batch reader's fetch and the service's, alike."""

from __future__ import annotations

import datetime as dt

from camscore import storage
from camscore.config import S3Settings
from camscore.io.readers.base import oversized
from camscore.rows import ErrorKind, FrameError, FrameRead


def read_object(uri: str, *, s3: S3Settings, max_frame_mb: int,
                length: float | None = None) -> tuple[FrameRead, dt.datetime | None]:
    """The bytes of the s3:// or gs:// object at ``uri`` (with the settings' retries and deadline), or why not, and
    its Last-Modified time when it was read.

    Args:
        length: its size where a listing or an event gave it: a larger one than ``max_frame_mb`` is not
            fetched. A frame fetched larger is refused alike.
    """
    refused = oversized(length, max_frame_mb=max_frame_mb)
    if refused is not None:
        return refused, None
    got = storage.get_object(uri, s3)
    if got.error is not None:
        return FrameRead(None, FrameError(ErrorKind.READ if got.passing else ErrorKind.UNREADABLE, got.error),
                         got.retries), None
    return (oversized(len(got.data), max_frame_mb=max_frame_mb) or FrameRead(got.data, None, got.retries),
            got.modified)
