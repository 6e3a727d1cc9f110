"""Listing a local folder as Spark's file index lists it, on the driver, without Spark."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import stat

from camscore.errors import InputError
from camscore.io.paths import has_extension
from camscore.storage import local_path

log = logging.getLogger(__name__)

HADOOP_GLOB = re.compile(r"[*?\[{]")


def local_frames(uri: str, *, extensions: tuple[str, ...]) -> list[tuple[str, dt.datetime | None, int | None]]:
    """``(path, modification_time, length)`` of the frames under a local folder (or of a local file), with
    ``path`` spelled as Spark spells it: the files binaryFile would list, zero-byte ones included.

    Folder links are followed, each folder once (a link back up lists nothing twice); a folder that
    cannot be listed is logged. A frame whose status cannot be read is listed without time and length,
    so its worker's read gives its row an error; anything but a regular file (a FIFO) is no frame.

    Raises:
        InputError: the location does not exist.
    """
    root = os.path.abspath(local_path(uri))
    if not os.path.exists(root):
        raise InputError(f"cannot read frames from {uri}: Path does not exist: file:{root}")
    if os.path.isfile(root):
        found = [root] if has_extension(root, extensions) else []
    else:
        found, seen = [], set()
        for folder, folders, files in os.walk(root, followlinks=True, onerror=_unlisted):
            seen.add(os.path.realpath(folder))
            folders[:] = [name for name in folders if not hidden_by_hadoop(name, folder=True)
                          and os.path.realpath(os.path.join(folder, name)) not in seen]
            found += [os.path.join(folder, name) for name in files
                      if not hidden_by_hadoop(name) and has_extension(name, extensions)]
    listed = []
    for path in found:
        spelled = "file:" + os.fsencode(path).decode("utf-8", "replace")  # as Java decodes a name
        try:
            status = os.stat(path)
        except FileNotFoundError:
            continue  # gone while listed: as if listed a moment later
        except OSError:  # a link loop, a name too long: the worker's read says why
            listed.append((spelled, None, None))
            continue
        if stat.S_ISREG(status.st_mode):
            modified = dt.datetime.fromtimestamp(status.st_mtime_ns // 10 ** 6 / 1000, dt.timezone.utc)
            listed.append((spelled, modified, status.st_size))
    return listed


def _unlisted(error: OSError) -> None:
    log.warning("cannot list %s (%s): its frames are not read", error.filename, error.strerror)


def hidden_by_hadoop(name: str, *, folder: bool = False) -> bool:
    """Whether Spark's file index leaves out a file or folder of this name (as it does the ``_SUCCESS``
    and ``.crc`` files next to the data): names starting with ``_`` (but partition folders such as
    ``date=...``) or ``.``, and files being copied; it still enters folders named like Parquet's
    ``_metadata`` summaries, whose own files it lists."""
    left_out = (name.startswith("_") and "=" not in name) or name.startswith(".") or name.endswith("._COPYING_")
    return left_out and not (folder and name.startswith(("_common_metadata", "_metadata")))

