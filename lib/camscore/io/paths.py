"""What a frame's path says: its extension, its camera and its capture time, and how Spark spells it."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from camscore.config import SourceSettings


def extension_glob(extensions: tuple[str, ...]) -> str:
    """A Hadoop glob matching file names with any of the extensions, in any letter case."""
    def any_case(extension: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in extension)
    return "*.{" + ",".join(any_case(e.lstrip(".")) for e in extensions) + "}"


def has_extension(path: str, extensions: tuple[str, ...]) -> bool:
    return path.lower().endswith(tuple("." + e.lstrip(".").lower() for e in extensions))


def with_path_fields(frames: DataFrame, *, source: SourceSettings) -> DataFrame:
    """Adds camera_id and captured_at from the path by source.path_regex, with the defaults
    (parent folder, modification time) where the regex names no group or does not match."""
    camera_id = parent_folder()
    captured_at = F.col("modification_time")
    if source.path_regex:
        groups = re.compile(source.path_regex).groupindex
        if "camera_id" in groups:
            found = path_group(source.path_regex, "camera_id")
            camera_id = F.when(found != "", found).otherwise(camera_id)
        if "captured_at" in groups:
            parsed = F.try_to_timestamp(path_group(source.path_regex, "captured_at"),
                                        F.lit(source.captured_at_format))
            captured_at = F.coalesce(parsed, captured_at)
    return (frames
            .withColumn("camera_id", F.when(camera_id != "", camera_id))
            .withColumn("captured_at", captured_at))


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

