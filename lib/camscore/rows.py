"""The row contract: every column set camscore writes, declared once, and the words a row's outcome uses.

Light on purpose (no pandas, pyarrow or pyspark): the model layer, the io layer, the jobs' stages and the
service all import it. camscore.spark.schema derives Spark's schemas from these declarations.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ErrorKind(str, enum.Enum):
    """Why a frame has no probability: the ``error_kind`` of its row."""

    EMPTY = "empty"  # zero bytes
    NOT_IMAGE = "not_image"  # no decoder recognises it
    TOO_LARGE = "too_large"  # more bytes, pixels or decoded memory than allowed
    TRUNCATED = "truncated"  # the data ends early
    DECODE = "decode"  # any other decoder error
    READ = "read"  # the bytes could not be fetched, for a passing fault
    UNREADABLE = "unreadable"  # the store refused them, or they were gone: no such key, access denied
    BLANK = "blank"  # an absolutely dark, white or uniform picture, left out of the model by score.skip_unhealthy

    @property
    def passing(self) -> bool:
        """Whether reading the frame again may succeed (a broken connection, throttling, a deadline):
        --only-new reads such a frame again, and the feature cache does not keep it."""
        return self is ErrorKind.READ

    def __str__(self) -> str:
        return self.value


PASSING_KINDS = tuple(kind.value for kind in ErrorKind if kind.passing)


class FrameError(Exception):
    """Why a frame cannot be scored: its kind and a message; raised by the decoder, carried as data by readers."""

    def __init__(self, kind: ErrorKind | str, message: str):
        kind = ErrorKind(kind)
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FrameError) and (self.kind, self.message) == (other.kind, other.message)

    def __hash__(self) -> int:
        return hash((self.kind, self.message))


@dataclass(frozen=True)
class FrameRead:
    """What reading one frame gave: its bytes, or the error that kept them, and the retries it took."""

    data: bytes | None
    error: FrameError | None = None
    retries: int = 0


@dataclass(frozen=True)
class Column:
    """One column: its name, its type in Spark SQL's words, and whether it may be null."""

    name: str
    type: str
    nullable: bool = True


_PATH = Column("path", "string", nullable=False)
_CAMERA_ID = Column("camera_id", "string")
_CAPTURED_AT = Column("captured_at", "timestamp")
_MODIFICATION_TIME = Column("modification_time", "timestamp")
_LENGTH = Column("length", "bigint")
_ERRORS = (Column("error_kind", "string"), Column("error", "string"))

# A listed frame, before it is read.
LISTING_COLUMNS = (_PATH, _MODIFICATION_TIME, _LENGTH)
# A decoded frame's picture signals (camscore.health.signals), and the hash of any frame's bytes.
SIGNAL_COLUMNS = (Column("brightness", "double"), Column("contrast", "double"), Column("dark_fraction", "double"),
                  Column("bright_fraction", "double"), Column("sharpness", "double"), Column("phash", "bigint"),
                  Column("content_sha", "string"))
# What the per-frame core decides of a frame: its probability, label and label name, or its error; its signals.
CORE_COLUMNS = (Column("probability", "double"), Column("label", "int"), Column("label_name", "string"), *_ERRORS,
                *SIGNAL_COLUMNS)
# One row per frame scored: the frame and what the core decided.
SCORE_COLUMNS = (_PATH, _CAMERA_ID, _CAPTURED_AT, *CORE_COLUMNS)
# What the output adds to a score row: the model, when the run started, and the partition keys.
RUN_COLUMNS = (Column("model_id", "string"), Column("scored_at", "timestamp"), Column("date", "date"),
               Column("batch", "string"))
OUTPUT_COLUMNS = SCORE_COLUMNS + RUN_COLUMNS
# The order of the output's columns as analysts see them.
OUTPUT_ORDER = ("path", "camera_id", "captured_at", "date", "probability", "label", "label_name",
                "error_kind", "error", *(column.name for column in SIGNAL_COLUMNS), "model_id", "scored_at", "batch")
PARTITION_COLUMNS = ("date", "batch")
NO_DATE = "__HIVE_DEFAULT_PARTITION__"  # the date= folder of rows without a date, as Spark names it
# One row per frame of the training job: its features, or its error.
FEATURE_COLUMNS = (_PATH, _LENGTH, _MODIFICATION_TIME, _CAMERA_ID, _CAPTURED_AT,
                   Column("features", "array<float>"), *_ERRORS)
# One row per camera health episode (camscore.health.episodes): a fault, or ``ok`` for a camera with none.
EPISODE_COLUMNS = (Column("camera_id", "string"), Column("status", "string"), Column("since", "timestamp"),
                   Column("until", "timestamp"), Column("frames", "bigint"))
SUMMARY_FILE = "_summary.json"


def names(columns: tuple[Column, ...]) -> tuple[str, ...]:
    return tuple(column.name for column in columns)
