"""What a frame's path says, in Spark: its extension as a Hadoop glob, its camera and capture time as columns
(with_path_fields runs camscore.io.python_paths' reading in Spark's Python workers), and how Spark spells it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Iterator
from urllib.parse import unquote, urlsplit

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from camscore.config import SourceSettings
from camscore.io.python_paths import camera_and_time
from camscore.rows import PATH_FIELD_COLUMNS, names
from camscore.spark.schema import struct


def extension_glob(extensions: tuple[str, ...]) -> str:
    """A Hadoop glob matching file names with any of the extensions, in any letter case."""
    def any_case(extension: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in extension)
    return "*.{" + ",".join(any_case(e.lstrip(".")) for e in extensions) + "}"


def with_path_fields(frames: DataFrame, *, source: SourceSettings) -> DataFrame:
    """Adds camera_id and captured_at to listed frames (path, modification_time): each frame's by
    camscore.io.python_paths.camera_and_time, the one reading of a path the service uses too, run in Spark's
    Python workers (a few microseconds a path, against milliseconds to score a frame)."""
    def fields(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            # Spark hands timestamps over as naive times in the session's time zone, which camscore sets to UTC.
            found = [camera_and_time(path, None if pd.isna(modified) else
                                     modified.to_pydatetime().replace(tzinfo=dt.timezone.utc), source=source)
                     for path, modified in zip(batch["path"], batch["modification_time"])]
            yield batch.assign(camera_id=[camera for camera, _ in found],
                               captured_at=pd.Series([when for _, when in found], dtype="datetime64[us, UTC]"))

    listed = frames.drop(*names(PATH_FIELD_COLUMNS))
    return listed.mapInPandas(fields, StructType(listed.schema.fields + struct(PATH_FIELD_COLUMNS).fields))


def parent_folder() -> Column:
    """The name of the folder a frame is in."""
    return F.regexp_extract("path", r"([^/]+)/[^/]*$", 1)


def path_group(pattern: str, name: str) -> Column:
    """What the named group of a Python regex matches in ``path`` ("" when it does not match)."""
    # Java regex group names allow no underscore: refer to the group by number instead.
    java_pattern = re.sub(r"\(\?P<\w+>", "(", pattern)
    return F.regexp_extract("path", java_pattern, re.compile(pattern).groupindex[name])


def hadoop_path(uri: str) -> str:
    """A URI as Spark's ``path`` column spells it: ``file:///a%20b`` becomes ``file:/a b``."""
    parts = urlsplit(uri)
    path = unquote(parts.path)
    return f"{parts.scheme}://{parts.netloc}{path}" if parts.netloc else f"{parts.scheme}:{path}"

