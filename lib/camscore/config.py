"""Settings: built-in defaults, overridden by one YAML file, overridden by flags.

Each setting is declared once, as a field of the dataclasses below made by
``setting`` (camscore.settings_engine, which also checks and builds them): its
type, default, allowed values or check, and help. Validation, the jobs' flags
and their help are derived from that declaration. The driver
reads the config once into these frozen dataclasses; library code receives
them and never opens a config file itself. A command's own options (flags
only, no config key) are declared the same way beside its job, in jobs/.

The base layer: this module imports no model, Spark or storage code, so that
every job's --help loads none of their libraries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping

from camscore.decoding import DecodeOptions
from camscore.labels import parse_labels
from camscore.policy import (TRAINING_LAYER, TRAINING_PRECISION, TRAINING_RESAMPLE, TRAINING_ROUNDS, TRAINING_RUNTIME,
                             TRAINING_WEIGHTS)
from camscore.settings_engine import (above_one, at_least_two, fraction_below_half, load, not_negative, positive,
                                      positive_seconds, setting)
from camscore.vocabulary import FEATURE_SIZES, PRECISIONS, RESAMPLING, RUNTIMES

# The allowed values of settings that have few.
ADDRESSING_STYLES = ("auto", "path", "virtual")
RETRY_MODES = ("standard", "adaptive", "legacy")
READERS = ("auto", "local", "binaryfile", "boto3")
KEY_ORDERS = ("time", "none")
GROUPINGS = ("none", "camera", "time")


def _path_regex(pattern: str) -> None:
    names = set(_compiled(pattern).groupindex)
    if not names & {"camera_id", "captured_at"} or names - {"camera_id", "captured_at"}:
        raise ValueError(
            "must name groups camera_id and/or captured_at and no others, e.g. "
            f"(?P<camera_id>[^/]+)/(?P<captured_at>\\d{{8}}T\\d{{6}}); got groups {sorted(names)}")


def _label_regex(pattern: str) -> None:
    if "label" not in _compiled(pattern).groupindex:
        raise ValueError(f"must have a group named label, e.g. /(?P<label>bus|car)/; got {pattern!r}")


def _compiled(pattern: str) -> re.Pattern:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"is not a valid regex ({exc}): {pattern!r}") from None


@dataclass(frozen=True, kw_only=True)
class SparkSettings:
    """How to get a SparkSession."""

    master: str | None = setting(None, "Spark master, e.g. local[2]; null leaves it to spark-submit (clusters)")
    app_name: str = setting("camscore", "application name shown in the Spark UI")
    conf: Mapping[str, str] = setting({}, "extra Spark properties, passed as they are")


@dataclass(frozen=True, kw_only=True)
class S3Settings:
    """How boto3 reaches object storage. Credentials come only from the standard chain."""

    endpoint_url: str | None = setting(
        None, "null for AWS; e.g. https://storage.yandexcloud.net for Yandex Object Storage, "
              "https://storage.googleapis.com for gs:// objects camscore reads itself (HMAC keys)")
    region: str | None = setting(None, "signing region; null lets botocore pick it from the chain")
    addressing_style: str = setting("auto", "S3 addressing style", allowed=ADDRESSING_STYLES)
    retry_mode: str = setting("standard", "botocore retry mode", allowed=RETRY_MODES)
    max_attempts: int = setting(10, "attempts per request, the first included (botocore's total_max_attempts); "
                                    "a frame whose body breaks mid-read is fetched again within the same count",
                                check=positive)
    connect_timeout: float = setting(5.0, "seconds to wait for a connection", check=positive_seconds)
    read_timeout: float = setting(20.0, "seconds to wait for the next bytes of an answer", check=positive_seconds)
    frame_deadline: float = setting(20.0, "seconds one frame's fetch may take, retries included; then its row "
                                          "gets a read error and the batch goes on", check=positive_seconds)
    fetch_threads: int = setting(8, "concurrent GETs per Python worker when reading frames", check=positive)
    list_threads: int = setting(16, "concurrent listings on the driver, one folder each (see source.list_depth)",
                                check=positive)


@dataclass(frozen=True, kw_only=True)
class SourceSettings:
    """Where frames come from and what their path says."""

    reader: str = setting("auto", "auto (boto3 for s3://, local for the local filesystem, binaryfile otherwise, "
                                  "gs:// included), "
                                  "local (Spark lists, each worker reads its files), binaryfile (Spark's binaryFile "
                                  "reads the bytes in the JVM) or boto3 (s3://, and gs:// through s3.endpoint_url "
                                  "https://storage.googleapis.com)", allowed=READERS)
    extensions: tuple[str, ...] = setting(("jpg", "jpeg", "png"),
                                          "file extensions read, compared case-insensitively")
    path_regex: str | None = setting(
        None, "Python regex with named groups camera_id and/or captured_at, searched in the frame's path; "
              "null: camera_id is the parent folder, captured_at the modification time", check=_path_regex)
    captured_at_format: str = setting("yyyyMMdd'T'HHmmss", "Spark datetime pattern of the captured_at group")
    list_depth: int = setting(1, "folder levels under an s3:// input found first, so that each folder is listed "
                                 "on its own thread (1: a folder per camera; 2: per camera and day; 0: one listing)",
                              check=not_negative)
    key_order: str = setting("time", "time: within each folder at list_depth, keys sort in the order frames are "
                                     "written (cam-07/20261120T120000.jpg), so --only-new lists an s3:// folder only "
                                     "past its checkpoint (a folder found out of order is listed whole); none: every "
                                     "run lists the whole input", allowed=KEY_ORDERS)
    max_frame_mb: int = setting(64, "frames listed larger (MiB) are never read: their row has error kind too_large",
                                check=positive)
    max_batch_mb: int = setting(256, "the most bytes (MiB) of encoded frames a worker takes in one batch; a batch "
                                     "of larger frames holds fewer", check=positive)
    frames_per_partition: int = setting(
        256, "the most frames in one partition of the boto3 and local readers (partitions come in a multiple of "
             "the cores)",
        check=positive)


@dataclass(frozen=True, kw_only=True)
class FeaturizerSettings:
    """The ResNet50 featurizer and the decoding in front of it. A null setting is the model manifest's
    when scoring and a new model's default when training (camscore.model.choice.chosen)."""

    layer: str | None = setting(None, "feature layer: avg_pool (2048) or predictions (1000 class probabilities); "
                                      f"null: the model's when scoring, {TRAINING_LAYER} when training",
                                allowed=FEATURE_SIZES)
    weights: str | None = setting(None, "imagenet, a weights file, an s3:// URI of one, or none (seeded random "
                                        f"weights); null: the model's when scoring, {TRAINING_WEIGHTS} when "
                                        "training")
    seed: int = setting(0, "seed of the random weights when weights is none")
    runtime: str | None = setting(None, "keras, or openvino (converted from the same Keras graph); null: the "
                                        f"model's when scoring, {TRAINING_RUNTIME} when training", allowed=RUNTIMES)
    precision: str | None = setting(None, "fp32, bf16 or int8 (openvino; quantized when training); null: the "
                                          "model's when scoring, the parity rule's when training ("
                                          + ", ".join(f"{p} with {r}" for r, p in TRAINING_PRECISION.items()) + ")",
                                    allowed=PRECISIONS)
    resample: str | None = setting(None, "Pillow filter that resizes frames to 224x224; null: the model's when "
                                         f"scoring, {TRAINING_RESAMPLE} when training", allowed=RESAMPLING)
    max_pixels: int = setting(50_000_000, "frames with more pixels are refused (decompression bombs)",
                              check=positive)
    max_decode_mb: int = setting(256, "most memory one frame may take decoded (MiB); larger frames are refused "
                                      "(too_large). Frames decode one at a time in a worker", check=positive)
    batch_size: int = setting(64, "frames per Arrow batch and per forward pass", check=positive)

    def decode_options(self, resample: str) -> DecodeOptions:
        """How frames are decoded, with the resolved filter (camscore.model.choice); training and scoring must
        decode alike for features to match."""
        return DecodeOptions(resample=resample, max_pixels=self.max_pixels, max_decode_mb=self.max_decode_mb)


@dataclass(frozen=True, kw_only=True)
class ScoreSettings:
    """Inputs and outputs of the scoring job."""

    input: str | None = setting(None, "frames to score: s3://bucket/prefix (boto3) or a Hadoop URI / local folder")
    model: str | None = setting(None, "model directory with booster.txt and manifest.json (local or s3://)")
    output: str | None = setting(None, "Parquet output folder (local path, hdfs://, s3a://)")
    allow_weights_mismatch: bool = setting(False, "score even when the weights differ from those the model "
                                                  "was trained on")
    only_new: bool = setting(False, "skip frames that already have a row by this model in the output "
                                    "(for schedulers re-reading a growing prefix)")
    lease_seconds: float = setting(60.0, "a run holds the output's lease (_lease.json) and renews it every sixth of "
                                         "this; another run meanwhile stops with exit code 75; a lease not renewed "
                                         "this long, or left by a process gone from this host, is taken over",
                                   check=positive_seconds)
    full_listing_hours: float = setting(24.0, "--only-new lists the whole input when its last whole listing is this "
                                              "old: a frame written late under a key before its folder's checkpoint "
                                              "(a camera flushing its buffer) gets its row by then; 0: every run",
                                        check=not_negative)
    lookback_minutes: float = setting(10.0, "keys written this recently before a listing are listed again by the "
                                            "next --only-new run (uploads landing out of key order)",
                                      check=not_negative)
    held_exit_code: int = setting(75, "exit code of a run that finds the output's lease held by another run: 75 "
                                      "(EX_TEMPFAIL: cron, systemd and Airflow's BashOperator skip the tick) or 0 "
                                      "(one line, nothing written: for cloud operators that fail any other code)",
                                  allowed=(75, 0))
    run_label: str | None = setting(None, "a name for this run written into _summary.json (a scheduler's run id), "
                                          "so the scheduler can tell its run's summary from another's")
    skip_unhealthy: bool = setting(False, "leave absolutely dark, white or uniform pictures out of the model: "
                                          "their rows keep their picture signals and get error_kind blank "
                                          "(the batch job and the service)")


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """Inputs, outputs and method of the training job."""

    input: str | None = setting(None, "labelled frames: s3://bucket/prefix or a Hadoop URI / local folder; the "
                                      "label is the parent folder unless label_regex says otherwise")
    model_out: str | None = setting(None, "model directory to write (local or s3://)")
    labels: Mapping[str, int] = setting({"bus": 0, "car": 1}, "label names and values", parse=parse_labels)
    label_regex: str | None = setting(None, "Python regex with a named group label searched in the path; "
                                            "null: the frame's parent folder", check=_label_regex)
    folds: int = setting(5, "cross-validation folds", check=at_least_two)
    seed: int = setting(2048, "seed of the fold shuffle and of LightGBM")
    group_by: str = setting("none", "none (stratified K-fold), camera (no camera in two folds) or time (no "
                                    "camera and time window in two folds)", allowed=GROUPINGS)
    group_window_minutes: int = setting(60, "the time window of group_by time", check=positive)
    feature_cache: str | None = setting(None, "Parquet location of cached features (a Hadoop URI or local "
                                              "path); null computes features every run")
    params: Mapping[str, Any] = setting({}, "LightGBM parameters over camscore's (camscore.model.training.DEFAULT_PARAMS)")
    rounds: int = setting(TRAINING_ROUNDS, "boosting rounds", check=positive)
    early_stopping_rounds: int | None = setting(
        None, "stop when the inner validation split has not improved for this many rounds; null: all rounds",
        check=positive)
    validation_fraction: float = setting(0.1, "share of each training fold held out for early stopping",
                                         check=fraction_below_half)


def _port(value: int) -> None:
    if not 0 < value < 65536:
        raise ValueError("must be a port number, 1 to 65535")


@dataclass(frozen=True, kw_only=True)
class ServeSettings:
    """The scoring service: one frame per request or per upload event, rows into the batch job's table."""

    RETIRED: ClassVar[Mapping[str, str]] = {
        "max_in_flight": "serve.request_seconds (the queue's time) and serve.queue_mb (its memory) bound the queue"}

    model: str | None = setting(None, "model directory with its OpenVINO featurizer (local, s3:// or gs://)")
    output: str | None = setting(None, "Parquet output folder the rows go to (local path, s3:// or gs://), the batch "
                                       "job's table; null: rows are answered, not written")
    host: str = setting("127.0.0.1", "address to listen on (0.0.0.0 in a container)")
    port: int | None = setting(None, "port to listen on; null: $PORT (as serverless containers set it), else 8080",
                               check=_port)
    queue_mb: int = setting(192, "MiB of request bodies and fetched frames the requests taken may hold; a request "
                                 "whose body (or event's frames) does not fit is answered 503 with Retry-After at "
                                 "once; 192 beside the service's own peak on 2 cores (docs/BENCHMARKS.md) fits 1 GiB",
                            check=positive)
    scoring_threads: int | None = setting(None, "threads that score batches side by side, so that one decodes while "
                                                "another infers; null: one per core", check=positive)
    request_seconds: float = setting(30.0, "a request waits in the queue while the frames ahead of it and its own "
                                           "can be scored within this (at the measured seconds a frame), else it is "
                                           "answered 503 with Retry-After at once; one that takes longer gets 504",
                                     check=positive_seconds)
    header_seconds: float = setting(10.0, "the most a client may take to send a request's headers and body",
                                    check=positive_seconds)
    flush_seconds: float = setting(60.0, "rows are written at least this often while any wait",
                                   check=positive_seconds)
    flush_rows: int = setting(1000, "rows are written as soon as this many wait", check=positive)
    drain_seconds: float = setting(20.0, "on SIGTERM: the most it takes to finish the frames in flight and write "
                                         "every row, then it exits", check=positive_seconds)
    token_env: str | None = setting(None, "name of the environment variable holding a bearer token every "
                                          "request but /healthz and /readyz must carry; null: no token")
    page_seconds: float = setting(5.0, "GET /cameras: its page is made at most once in this many seconds, however "
                                        "many displays ask; they get the page last made", check=positive_seconds)


@dataclass(frozen=True, kw_only=True)
class HealthSettings:
    """How the report tells a camera's faults from its rows' picture signals (camscore.health.episodes)."""

    baseline_frames: int = setting(24, "a camera's baseline: its last this many sound frames (their medians); "
                                       "moved is judged from 18", check=positive)
    persist_frames: int = setting(3, "a fault counts once this many consecutive frames show it", check=positive)
    silent_gaps: float = setting(4.0, "silent: no frame for this many times the camera's usual gap (the 95th "
                                      "percentile of its gaps) before the report's window ends",
                                 check=above_one)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a camscore job reads from config: one section per field."""

    spark: SparkSettings = field(default_factory=SparkSettings)
    s3: S3Settings = field(default_factory=S3Settings)
    source: SourceSettings = field(default_factory=SourceSettings)
    featurizer: FeaturizerSettings = field(default_factory=FeaturizerSettings)
    score: ScoreSettings = field(default_factory=ScoreSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    health: HealthSettings = field(default_factory=HealthSettings)


def load_settings(path: str | Path | None = None, *, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Reads a job's settings: built-in defaults, then the YAML file, then overrides (see settings_engine.load).

    Raises:
        ConfigError: the file is missing or malformed, or a key or value is not allowed.
    """
    return load(Settings, path, overrides=overrides)
