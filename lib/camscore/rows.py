"""The row contract: every column set camscore writes, declared once, and the words a row's outcome uses.

Light on purpose (no pandas, pyarrow or pyspark): the model layer, the io layer, the jobs' stages and the
service all import it. camscore.spark.schema derives Spark's schemas from these declarations, camscore.ddl
the output's tables in SQL, its column table and the service's answer keys; FRAME_ROW_NUMBER is the one rule
that picks a frame's row where it has several.
"""

from __future__ import annotations

import datetime as dt
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
    """One column: its name, its type in Spark SQL's words, whether it may be null, and what it means in the
    output (README's column table is made of it)."""

    name: str
    type: str
    nullable: bool = True
    doc: str = ""


def _kinds(kinds) -> str:
    return ", ".join(f"`{kind}`" for kind in kinds)


_PATH = Column("path", "string", nullable=False, doc="the frame's URI as written (`s3://bucket/key`, `file:/...`)")
_CAMERA_ID = Column("camera_id", "string", doc="by `source.path_regex` from the path, else the frame's parent folder")
_CAPTURED_AT = Column("captured_at", "timestamp",
                      doc="by `source.path_regex` from the path, else the object's modification time")
_MODIFICATION_TIME = Column("modification_time", "timestamp")
_LENGTH = Column("length", "bigint")
_ERRORS = (Column("error_kind", "string", doc=(
               f"null when scored; else one of {_kinds(ErrorKind)}: {_kinds(PASSING_KINDS)} a passing fault "
               f"(`--only-new` reads the frame again), `unreadable` the store refused it (no such key, access "
               f"denied), `blank` left out of the model by `score.skip_unhealthy`")),
           Column("error", "string", doc="null when scored; else what went wrong, e.g. `zero bytes`"))

# A listed frame, before it is read.
LISTING_COLUMNS = (_PATH, _MODIFICATION_TIME, _LENGTH)
# What a frame's path (and modification time) give its row: camscore.io.python_paths reads them.
PATH_FIELD_COLUMNS = (_CAMERA_ID, _CAPTURED_AT)
# A decoded frame's picture signals (camscore.health.signals), and the hash of any frame's bytes.
SIGNAL_COLUMNS = (
    Column("brightness", "double", doc="mean luma, 0 to 1; null when the frame did not decode (so every signal "
                                       "but `content_sha`)"),
    Column("contrast", "double", doc="standard deviation of luma"),
    Column("dark_fraction", "double", doc="share of pixels under a tenth of the range (FFmpeg's blackdetect "
                                          "threshold)"),
    Column("bright_fraction", "double", doc="share of saturated pixels (luma ≥ 0.98)"),
    Column("sharpness", "double", doc="variance of the Laplacian of luma (0–255 scale) at 128×128: a focus measure "
                                      "comparable across a camera's frames"),
    Column("phash", "bigint", doc="64-bit perceptual hash (DCT of a 32×32 luma, as imagehash's `phash`), signed; "
                                  "`bit_count(xor(a, b))` in DuckDB counts differing bits"),
    Column("content_sha", "string", doc="SHA-256 of the frame's bytes (hex), for exact repeats; null when no bytes "
                                        "were read"))
# What the per-frame core decides of a frame: its probability, label and label name, or its error; its signals.
CORE_COLUMNS = (Column("probability", "double", doc="probability of label 1 (car); null on error"),
                Column("label", "int", doc="1 when `probability` ≥ the manifest's threshold (default 0.5); null on "
                                           "error"),
                Column("label_name", "string", doc="the label's name in the manifest (`car`, `bus`); null on error"),
                *_ERRORS, *SIGNAL_COLUMNS)
# One row per frame scored: the frame and what the core decided.
SCORE_COLUMNS = (_PATH, *PATH_FIELD_COLUMNS, *CORE_COLUMNS)
# What the output adds to a score row: the model, when the run started, and the partition keys.
RUN_COLUMNS = (
    Column("model_id", "string", doc="the model's id"),
    Column("scored_at", "timestamp", doc="when the run started: the same for every row of a run (the service: when "
                                         "the frame was scored)"),
    Column("date", "date", doc="partition: the date of `captured_at` (UTC)"),
    Column("batch", "string", doc="partition: fingerprint of the run's input frames and model (the service: "
                                  "`s<time>-<random>`, one per write; compaction: `c<hash>`)"))
OUTPUT_COLUMNS = SCORE_COLUMNS + RUN_COLUMNS


def run_values(*, model_id: str, scored_at: dt.datetime) -> dict[str, object]:
    """What a run stamps on each of its score rows besides the partition keys (``date`` comes from ``captured_at``,
    ``batch`` from the folder the rows go to): the batch job adds them as Spark literals, the service to each
    row it keeps."""
    return {"model_id": model_id, "scored_at": scored_at}

# The order of the output's columns as analysts see them.
OUTPUT_ORDER = ("path", "camera_id", "captured_at", "date", "probability", "label", "label_name",
                "error_kind", "error", *(column.name for column in SIGNAL_COLUMNS), "model_id", "scored_at", "batch")
PARTITION_COLUMNS = ("date", "batch")
# The output's columns as its files and folders hold them, as Spark, DuckDB and the tables' DDL read them: the
# files' columns, then the partition columns.
TABLE_COLUMNS = (*(c for name in OUTPUT_ORDER for c in OUTPUT_COLUMNS if c.name == name and name not in
                   PARTITION_COLUMNS), *(c for name in PARTITION_COLUMNS for c in OUTPUT_COLUMNS if c.name == name))

# Which row is a frame's where it has several (a passing fault's row, then a scored one by a later --only-new run;
# the batch job's and the service's; a rescore by a newer model): a window expression in the SQL that Spark,
# DuckDB, Trino and Athena share, whose row 1 is kept. Compaction, the report and the analysts' views use it.
# Error rows of outputs before 0.2.0 have no error_kind and begin their error with the kind.
FRAME_ROW_RULE = ("one row per path: a scored row before an error that lasts, before a passing one "
                  f"({', '.join(PASSING_KINDS)}); then the latest scored_at; then the greatest batch")
FRAME_ROW_NUMBER = (
    "row_number() OVER (PARTITION BY path ORDER BY\n"
    "  CASE WHEN error IS NULL THEN 0 WHEN coalesce(error_kind, split_part(error, ':', 1)) IN ("
    + ", ".join(f"'{kind}'" for kind in PASSING_KINDS) + ") THEN 2 ELSE 1 END,\n"
    "  scored_at DESC NULLS LAST, batch DESC NULLS LAST)")

# The service's answer for each frame (``POST /score``): the core's columns, the model and the time it took;
# an upload event's answers (``POST /``) begin with the frame's path, and repeat an answer given before.
ANSWER_KEYS = (*CORE_COLUMNS, Column("model", "string", nullable=False, doc="the model's id (the row's `model_id`)"),
               Column("seconds", "double", nullable=False, doc="how long the request's frames took to fetch and "
                                                               "score"))
EVENT_ANSWER_KEYS = (Column("path", "string", nullable=False, doc="upload events only: the frame's URI, its row's "
                                                                  "`path`"),
                     *ANSWER_KEYS,
                     Column("duplicate", "boolean", nullable=False, doc="upload events only, present when true: the "
                                                                        "frame was answered before, and gets no "
                                                                        "second row"))
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
