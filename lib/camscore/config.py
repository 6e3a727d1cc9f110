"""Settings: built-in defaults, overridden by one YAML file, overridden by flags.

The driver reads the config once into frozen dataclasses; library code receives
these values and never opens a config file itself.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from camscore.errors import ConfigError
from camscore.imaging import RESAMPLING, DecodeOptions

LAYERS = ("avg_pool", "predictions")
ADDRESSING_STYLES = ("auto", "path", "virtual")
RETRY_MODES = ("standard", "adaptive", "legacy")
READERS = ("auto", "binaryfile", "boto3")
GROUPINGS = ("none", "camera", "time")


@dataclass(frozen=True, kw_only=True)
class SparkSettings:
    """How to get a SparkSession.

    Attributes:
        master: Spark master URL; null leaves it to spark-submit (clusters).
        app_name: application name shown in the Spark UI.
        conf: extra Spark properties, passed as they are.
    """

    master: str | None = None
    app_name: str = "camscore"
    conf: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class S3Settings:
    """How boto3 reaches object storage. Credentials come only from the standard chain.

    Attributes:
        endpoint_url: null for AWS; e.g. https://storage.yandexcloud.net for Yandex.
        region: signing region; null lets botocore pick it from the chain.
        addressing_style: auto, path or virtual.
        retry_mode: botocore retry mode: standard, adaptive or legacy.
        max_attempts: botocore attempts per request, retries included.
        fetch_threads: concurrent GETs per Python worker when reading frames.
    """

    endpoint_url: str | None = None
    region: str | None = None
    addressing_style: str = "auto"
    retry_mode: str = "standard"
    max_attempts: int = 10
    fetch_threads: int = 8


@dataclass(frozen=True, kw_only=True)
class SourceSettings:
    """Where frames come from and what their path says.

    Attributes:
        reader: auto (boto3 for s3://, binaryFile otherwise), binaryfile or boto3.
        extensions: file extensions read, compared case-insensitively.
        path_regex: Python regex with named groups camera_id and/or captured_at,
            searched in the frame's path; null keeps the defaults (camera_id is
            the parent folder, captured_at the object's modification time).
        captured_at_format: Spark datetime pattern of the captured_at group.
        frames_per_partition: the most keys the boto3 reader puts in one partition; it makes
            a multiple of the cores of partitions, of about equal size.
    """

    reader: str = "auto"
    extensions: tuple[str, ...] = ("jpg", "jpeg", "png")
    path_regex: str | None = None
    captured_at_format: str = "yyyyMMdd'T'HHmmss"
    frames_per_partition: int = 256


@dataclass(frozen=True, kw_only=True)
class FeaturizerSettings:
    """The ResNet50 featurizer and the decoding in front of it.

    Attributes:
        layer: avg_pool (2048 features) or predictions (1000 class probabilities);
            null takes the model manifest's.
        weights: imagenet, a weights file path, an s3:// URI, or none (seeded
            random weights); null takes the model manifest's.
        seed: seed of the random weights when weights is none.
        runtime: keras, or openvino (converted from the same Keras graph); null
            takes the model manifest's when scoring, keras when training.
        precision: fp32, bf16 or int8 (openvino; quantized when training); null as runtime.
        resample: Pillow filter used to resize frames to 224x224.
        max_pixels: frames with more pixels are refused (decompression bombs).
        batch_size: frames per Arrow batch and per forward pass.
    """

    layer: str | None = None
    weights: str | None = None
    seed: int = 0
    runtime: str | None = None
    precision: str | None = None
    resample: str = "nearest"
    max_pixels: int = 50_000_000
    batch_size: int = 64

    def decode_options(self) -> DecodeOptions:
        """How frames are decoded; training and scoring must decode alike for features to match."""
        return DecodeOptions(resample=self.resample, max_pixels=self.max_pixels)


@dataclass(frozen=True, kw_only=True)
class ScoreSettings:
    """Inputs and outputs of the scoring job.

    Attributes:
        input: frames to score: s3://bucket/prefix or a Hadoop URI / local path.
        model: model directory (booster.txt + manifest.json), local or s3://.
        output: Parquet output location (a Hadoop URI or local path).
        allow_weights_mismatch: score with other weights than the model was trained on.
        only_new: skip frames that already have a row by this model in the output
            (for schedulers re-reading a prefix that keeps growing).
    """

    input: str | None = None
    model: str | None = None
    output: str | None = None
    allow_weights_mismatch: bool = False
    only_new: bool = False


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """Inputs, outputs and method of the training job.

    Attributes:
        input: labelled frames: s3://bucket/prefix or a Hadoop URI / local path.
        model_out: model directory to write (local or s3://).
        labels: label names and values, ``bus=0,car=1``.
        label_regex: Python regex with a named group ``label`` searched in the path;
            null takes the frame's parent folder, as the original did.
        folds: number of cross-validation folds.
        seed: seed of the fold shuffle and of LightGBM.
        group_by: none (stratified K-fold), camera (no camera in two folds) or
            time (no camera and time window in two folds).
        group_window_minutes: the time window of group_by time.
        feature_cache: Parquet location of cached features (a Hadoop URI or local
            path); null computes features every run.
        params: LightGBM parameters over the original's.
        rounds: boosting rounds.
        early_stopping_rounds: stop when the inner validation split has not
            improved for this many rounds; null trains all rounds.
        validation_fraction: share of each training fold held out for early stopping.
    """

    input: str | None = None
    model_out: str | None = None
    labels: str = "bus=0,car=1"
    label_regex: str | None = None
    folds: int = 5
    seed: int = 2048
    group_by: str = "none"
    group_window_minutes: int = 60
    feature_cache: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    rounds: int = 100
    early_stopping_rounds: int | None = None
    validation_fraction: float = 0.1


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a camscore job reads from config."""

    spark: SparkSettings = field(default_factory=SparkSettings)
    s3: S3Settings = field(default_factory=S3Settings)
    source: SourceSettings = field(default_factory=SourceSettings)
    featurizer: FeaturizerSettings = field(default_factory=FeaturizerSettings)
    score: ScoreSettings = field(default_factory=ScoreSettings)
    train: TrainSettings = field(default_factory=TrainSettings)


_ALLOWED = {
    "featurizer.layer": LAYERS,
    "featurizer.resample": tuple(RESAMPLING),
    "featurizer.runtime": ("keras", "openvino"),
    "featurizer.precision": ("fp32", "bf16", "int8"),
    "s3.addressing_style": ADDRESSING_STYLES,
    "s3.retry_mode": RETRY_MODES,
    "source.reader": READERS,
    "train.group_by": GROUPINGS,
}
_POSITIVE = {"featurizer.batch_size", "featurizer.max_pixels", "s3.max_attempts",
             "s3.fetch_threads", "source.frames_per_partition", "train.rounds",
             "train.group_window_minutes", "train.early_stopping_rounds"}


def load_settings(path: str | Path | None = None, *, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Reads settings: built-in defaults, then the YAML file, then overrides.

    Args:
        path: YAML file with sections named like the fields of Settings; None for defaults only.
        overrides: dotted keys such as ``"score.input"``; None values are ignored,
            so unset command-line flags leave the file's values alone.

    Raises:
        ConfigError: the file is missing or malformed, or a key or value is not allowed.
    """
    origin = str(path) if path else "built-in defaults"
    raw: dict[str, Any] = {}
    if path:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"config file {path} must hold a mapping of sections, got {type(raw).__name__}")
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, key = dotted.partition(".")
        section_values = raw.setdefault(section, {})
        if not isinstance(section_values, dict):
            raise ConfigError(f"{origin}: section {section!r} must be a mapping")
        section_values[key] = value
    return _build(Settings, raw, origin=origin, prefix="")


def _build(cls: type, values: Mapping[str, Any], *, origin: str, prefix: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        where = f"section {prefix.rstrip('.')!r}" if prefix else "the top level"
        raise ConfigError(
            f"{origin}: unknown key {prefix}{unknown[0]} in {where}; allowed keys: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        key = prefix + name
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: {key} must be a mapping of keys, got {value!r}")
            kwargs[name] = _build(hint, value, origin=origin, prefix=key + ".")
        else:
            kwargs[name] = _coerce(value, hint, origin=origin, key=key)
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, *, origin: str, key: str) -> Any:
    optional = isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{origin}: {key} must be set, got null")
    base = next(a for a in typing.get_args(hint) if a is not type(None)) if optional else hint
    origin_type = typing.get_origin(base) or base
    if origin_type is bool:
        ok = isinstance(value, bool)
    elif origin_type is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif origin_type is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif origin_type is str:
        ok = isinstance(value, str)
    elif origin_type is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
        value = tuple(value) if ok else value
    elif origin_type in (dict, collections.abc.Mapping):
        ok = isinstance(value, dict)
        keep_values = typing.get_args(base)[1:] == (Any,)
        if ok:
            value = {str(k): (v if keep_values else str(v)) for k, v in value.items()}
    else:
        raise TypeError(f"no coercion for {hint}")
    if not ok:
        raise ConfigError(f"{origin}: {key} must be {_describe(origin_type)}, got {value!r}")
    allowed = _ALLOWED.get(key)
    if allowed and value not in allowed:
        raise ConfigError(f"{origin}: {key} must be one of {', '.join(allowed)}; got {value!r}")
    if key in _POSITIVE and value <= 0:
        raise ConfigError(f"{origin}: {key} must be a positive integer, got {value!r}")
    if key == "source.path_regex":
        _check_path_regex(value, origin=origin)
    if key == "train.label_regex":
        _check_label_regex(value, origin=origin)
    if key == "train.labels":
        parse_labels(value, origin=origin)
    if key == "train.folds" and value < 2:
        raise ConfigError(f"{origin}: train.folds must be at least 2, got {value!r}")
    if key == "train.validation_fraction" and not 0.0 < value < 0.5:
        raise ConfigError(f"{origin}: train.validation_fraction must be between 0 and 0.5, got {value!r}")
    return value


def _check_path_regex(pattern: str, *, origin: str) -> None:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{origin}: source.path_regex is not a valid regex ({exc}): {pattern!r}") from exc
    names = set(compiled.groupindex)
    if not names & {"camera_id", "captured_at"} or names - {"camera_id", "captured_at"}:
        raise ConfigError(
            f"{origin}: source.path_regex must name groups camera_id and/or captured_at and no others, "
            f"e.g. (?P<camera_id>[^/]+)/(?P<captured_at>\\d{{8}}T\\d{{6}}); got groups {sorted(names)}")


def _check_label_regex(pattern: str, *, origin: str) -> None:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{origin}: train.label_regex is not a valid regex ({exc}): {pattern!r}") from exc
    if "label" not in compiled.groupindex:
        raise ConfigError(f"{origin}: train.label_regex must have a group named label, "
                          f"e.g. /(?P<label>bus|car)/; got {pattern!r}")


def parse_labels(text: str, *, origin: str = "--labels") -> dict[str, int]:
    """``bus=0,car=1`` as ``{"bus": 0, "car": 1}``: two names, one for 0 and one for 1.

    Raises:
        ConfigError: anything else, with the expected form.
    """
    labels = {}
    for part in text.split(","):
        name, _, value = part.strip().partition("=")
        if not name or value.strip() not in ("0", "1"):
            labels = {}
            break
        labels[name.strip()] = int(value)
    if sorted(labels.values()) != [0, 1]:
        raise ConfigError(f"{origin}: labels must name label 0 and label 1 like bus=0,car=1; got {text!r}")
    return labels


def _describe(kind: type) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string",
            tuple: "a list of strings", dict: "a mapping",
            collections.abc.Mapping: "a mapping"}.get(kind, kind.__name__)
