"""Listing frames as Spark's file index lists them: through Spark's binaryFile source (binary_files, and the
zero-byte files its scan leaves out), or a local folder on the driver, without Spark (local_frames)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import stat

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from camscore import storage
from camscore.config import SourceSettings
from camscore.errors import InputError
from camscore.io.python_paths import has_extension
from camscore.io.spark_paths import extension_glob, hadoop_path
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


def binary_files(spark: SparkSession, uri: str, *, source: SourceSettings) -> DataFrame:
    """Spark's binaryFile source over ``uri``: every file with one of the extensions, recursively."""
    storage.check_spark_location(spark, uri)
    try:
        return (spark.read.format("binaryFile")
                .option("recursiveFileLookup", "true")
                .option("pathGlobFilter", extension_glob(source.extensions))
                .load(uri))
    except AnalysisException as exc:
        raise InputError(f"cannot read frames from {uri}: {str(exc).splitlines()[0]}") from exc


def listed_columns() -> list[Column]:
    """binaryFile's columns as a listing's."""
    return [F.col("path"), F.col("modificationTime").alias("modification_time"), F.col("length")]


def unscanned(spark: SparkSession, scanned: set[str], *, listed: list[str]) -> list[tuple]:
    """``(path, modification_time, length)`` of the files among ``listed`` that a scan left out.

    Spark's file scan skips zero-byte files (``scanned`` are the paths it found), but they are
    frames the camera wrote, and each must get its own row (with an ``empty`` error). A file gone
    since it was listed has neither time nor length.
    """
    missing = sorted({hadoop_path(uri) for uri in listed} - scanned)
    statuses = [(path, storage.file_status(spark, path)) for path in missing]
    return [(path, None, None) if status is None else (path, status[1], 0)
            for path, status in statuses if status is None or status[0] == 0]
