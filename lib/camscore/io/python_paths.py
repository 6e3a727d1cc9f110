"""What a frame's path says, in plain Python: its extension, and its camera and capture time, the one reading
of a path, which the service runs as it is and camscore.io.spark_paths.with_path_fields runs in Spark's Python
workers, so both give the same row."""

from __future__ import annotations

import datetime as dt
import functools
import re

from camscore.config import SourceSettings

# Spark datetime pattern letters and the strptime directive each becomes (longest first).
_SPARK_TO_STRPTIME = (("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"),
                      ("ss", "%S"), ("SSSSSS", "%f"), ("SSS", "%f"))
_PARENT = re.compile(r"([^/]+)/[^/]*$")


@functools.lru_cache(maxsize=8)
def strptime_format(pattern: str) -> str:
    """A Spark datetime pattern (letters yyyy yy MM dd HH mm ss SSS SSSSSS, 'quoted' text) as strptime's.

    Raises:
        ValueError: the pattern has a letter this reading does not know.
    """
    out, rest = [], pattern
    while rest:
        if rest.startswith("''"):
            out.append("'")
            rest = rest[2:]
        elif rest[0] == "'":
            end = rest.index("'", 1)
            out.append(rest[1:end].replace("%", "%%"))
            rest = rest[end + 1:]
        elif rest[0].isalpha():
            letters, directive = next(((s, d) for s, d in _SPARK_TO_STRPTIME if rest.startswith(s)), (rest[0], None))
            if directive is None:
                raise ValueError(f"captured_at_format: the service cannot read pattern letter {letters!r} "
                                 f"of {pattern!r}")
            out.append(directive)
            rest = rest[len(letters):]
        else:
            out.append(rest[0].replace("%", "%%"))
            rest = rest[1:]
    return "".join(out)


def camera_and_time(path: str, modified: dt.datetime | None, *,
                    source: SourceSettings) -> tuple[str | None, dt.datetime | None]:
    """``camera_id`` and ``captured_at`` of a frame's row: by source.path_regex where it names them and
    matches, else the parent folder and ``modified`` (as camscore.io.spark_paths.with_path_fields does in Spark)."""
    parent = _PARENT.search(path)
    camera_id, captured_at = (parent.group(1) if parent else ""), modified
    if source.path_regex:
        found = re.search(source.path_regex, path)
        groups = found.groupdict() if found else {}
        if groups.get("camera_id"):
            camera_id = groups["camera_id"]
        if groups.get("captured_at"):
            try:
                captured_at = dt.datetime.strptime(groups["captured_at"], strptime_format(
                    source.captured_at_format)).replace(tzinfo=dt.timezone.utc)
            except ValueError:
                pass  # Spark's try_to_timestamp gives null, and the modification time stands
    return camera_id or None, captured_at


def has_extension(path: str, extensions: tuple[str, ...]) -> bool:
    return path.lower().endswith(tuple("." + e.lstrip(".").lower() for e in extensions))
