"""The LightGBM booster and its manifest, as a model directory holds them. No Spark and no I/O here.

A model directory holds ``booster.txt`` (LightGBM text format) and
``manifest.json`` (what the features were computed with, label names,
threshold, model id, library versions); a model whose features came from
OpenVINO also carries that featurizer, ``featurizer.xml`` and
``featurizer.bin``, so scoring needs neither Keras nor TensorFlow.
camscore.model.model_dir reads and writes it, on a local path or at an ``s3://`` URI.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Mapping

import numpy as np

from camscore.errors import ModelError
from camscore.vocabulary import DEFAULT_LABEL_NAMES
from camscore.model.featurizer import FEATURE_SIZES, FeaturizerSpec, OpenVinoModel, check_layer
from camscore.model.unimportable import unimportable

log = logging.getLogger(__name__)


# lightgbm imports scikit-learn for its estimators wherever it is installed (0.8 s of each Spark worker's and the
# driver's start here); camscore uses only Booster and train.
with unimportable("sklearn"):
    import lightgbm

BOOSTER_FILE = "booster.txt"
MANIFEST_FILE = "manifest.json"
OPENVINO_FILES = ("featurizer.xml", "featurizer.bin")
MANIFEST_FORMAT = 1
# An imported booster is scored with the features it was trained on: fp32, from the OpenVINO model it carries.
_LIBRARIES = ("camscore", "lightgbm", "keras", "tensorflow-cpu", "pillow", "numpy")


@dataclass(frozen=True, kw_only=True)
class Manifest:
    """What a booster needs from the featurizer and how to read its output.

    Attributes:
        model_id: short stable id, derived from the booster and the featurizer.
        featurizer: the featurizer the booster's features came from.
        label_names: name of label 0 and of label 1.
        threshold: probabilities at or above it get label 1.
        feature_count: the booster's number of features.
        libraries: versions of the libraries that made the model.
        created_at: ISO timestamp, UTC.
        training: what the training job records (data fingerprint, CV summary).
    """

    model_id: str
    featurizer: FeaturizerSpec
    feature_count: int
    label_names: tuple[str, str] = DEFAULT_LABEL_NAMES
    threshold: float = 0.5
    libraries: Mapping[str, str] = field(default_factory=dict)
    created_at: str = ""
    training: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({
            "format": MANIFEST_FORMAT,
            "model_id": self.model_id,
            "featurizer": self.featurizer.to_dict(),
            "feature_count": self.feature_count,
            "label_names": list(self.label_names),
            "threshold": self.threshold,
            "libraries": dict(self.libraries),
            "created_at": self.created_at,
            "training": dict(self.training),
        }, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, origin: str) -> "Manifest":
        try:
            values = json.loads(text)
            manifest = cls(
                model_id=values["model_id"],
                featurizer=FeaturizerSpec.from_dict(values["featurizer"]),
                feature_count=int(values["feature_count"]),
                label_names=tuple(values["label_names"]),
                threshold=float(values["threshold"]),
                libraries=values.get("libraries", {}),
                created_at=values.get("created_at", ""),
                training=values.get("training", {}),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelError(f"{origin} is not a camscore manifest ({type(exc).__name__}: {exc})") from exc
        check_layer(manifest.featurizer.layer)
        check_labels(manifest.label_names, manifest.threshold, origin=origin)
        return manifest


@dataclass(frozen=True)
class Model:
    """A loaded model directory; ``openvino`` is the featurizer it carries, if any."""

    uri: str
    manifest: Manifest
    booster_text: str
    openvino: OpenVinoModel | None = None


class LightGBMLog:
    """LightGBM's own messages as log records (it prints them on stdout otherwise).

    A booster file written by an older LightGBM names parameters this one ignores,
    and it says so once per parameter each time the file is read: that becomes one
    INFO line per process, each parameter at DEBUG.
    """

    _IGNORED = re.compile(r"\[LightGBM\] \[Warning\] Ignoring unrecognized parameter '([^']+)'")

    def __init__(self) -> None:
        self.ignored: set[str] = set()

    def info(self, message: str) -> None:
        found = self._IGNORED.match(message)
        if found:
            if not self.ignored:
                log.info("LightGBM ignores parameters of an older version in the booster file "
                         "(first: %s); no effect on predictions", found.group(1))
            self.ignored.add(found.group(1))
            log.debug("%s", message)
        elif message.startswith("[LightGBM] [Warning]"):
            log.warning("%s", message)
        else:
            log.debug("%s", message)

    def warning(self, message: str) -> None:
        log.warning("%s", message)


@functools.lru_cache(maxsize=1)
def _booster_log() -> LightGBMLog:
    """Routes LightGBM's messages to logging, once per process, where a booster is first read."""
    routed = LightGBMLog()
    lightgbm.register_logger(routed)
    return routed


_THREADS_ROUTED = threading.local()


def load_booster(booster_text: str) -> lightgbm.Booster:
    """A booster from its text, LightGBM's messages routed to logging."""
    _booster_log()
    if not getattr(_THREADS_ROUTED, "done", False):
        # LightGBM's native library keeps its log callback per thread and sets it only on the thread that
        # loaded it: on any other (the service loads its model on a worker thread) it prints to stdout.
        lightgbm.basic._LIB.LGBM_RegisterLogCallback(lightgbm.basic._LIB.callback)
        _THREADS_ROUTED.done = True
    return lightgbm.Booster(model_str=booster_text)


class Classifier:
    """Probabilities and labels from feature vectors; built once per Python worker."""

    def __init__(self, booster_text: str, *, threshold: float = 0.5):
        self._booster = load_booster(booster_text)
        self.threshold = threshold
        self.feature_count = self._booster.num_feature()

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Probability of label 1 for each row of an ``(n, feature_count)`` array."""
        if len(features) == 0:
            return np.zeros(0, dtype=np.float64)
        result = np.asarray(self._booster.predict(features, num_threads=1), dtype=np.float64)
        if result.shape != (len(features),):
            raise RuntimeError(f"booster returned {result.shape} for {len(features)} rows")
        return result

    def labels(self, probabilities: np.ndarray) -> np.ndarray:
        return (probabilities >= self.threshold).astype(np.int32)


def booster_feature_count(booster_text: str, *, origin: str) -> int:
    """Number of features of a LightGBM text model; refuses anything but a binary booster."""
    try:
        booster = load_booster(booster_text)
    except lightgbm.basic.LightGBMError as exc:
        raise ModelError(f"{origin} is not a LightGBM text model: {exc}") from exc
    objective = next((line.split("=", 1)[1] for line in booster_text.splitlines()
                      if line.startswith("objective=")), "")
    if not objective.startswith("binary"):
        raise ModelError(f"{origin} has objective {objective or 'unknown'!r}; camscore needs a binary booster")
    return booster.num_feature()


def make_manifest(booster_text: str, *, featurizer: FeaturizerSpec,
                  label_names: tuple[str, str] = DEFAULT_LABEL_NAMES, threshold: float = 0.5,
                  training: Mapping[str, Any] | None = None, origin: str = "booster") -> Manifest:
    """A manifest for a booster, checked against the featurizer it will be used with.

    Raises:
        ModelError: the booster's feature count differs from the featurizer's,
            the labels are not two names, or the threshold is outside (0, 1).
    """
    feature_count = booster_feature_count(booster_text, origin=origin)
    check_feature_count(feature_count, featurizer, origin=origin)
    check_labels(label_names, threshold, origin=origin)
    digest = hashlib.sha256(booster_text.encode())
    digest.update(json.dumps(featurizer.to_dict(), sort_keys=True).encode())
    return Manifest(
        model_id=f"{featurizer.layer}-{digest.hexdigest()[:12]}",
        featurizer=featurizer,
        feature_count=feature_count,
        label_names=tuple(label_names),
        threshold=threshold,
        libraries=_library_versions(),
        created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        training=dict(training or {}),
    )


def check_labels(label_names: tuple[str, ...], threshold: float, *, origin: str) -> None:
    """Two different label names (label 0, label 1) and a threshold strictly between 0 and 1."""
    if len(label_names) != 2 or len(set(label_names)) != 2:
        raise ModelError(f"{origin}: label_names must be two different names (label 0, label 1); "
                         f"got {list(label_names)}")
    if not 0.0 < threshold < 1.0:
        raise ModelError(f"{origin}: threshold must be between 0 and 1; got {threshold}")


def check_feature_count(feature_count: int, featurizer: FeaturizerSpec, *, origin: str) -> None:
    if feature_count != featurizer.feature_size:
        raise ModelError(
            f"{origin} expects {feature_count} features but featurizer layer {featurizer.layer!r} gives "
            f"{featurizer.feature_size}; layers and their sizes: "
            + ", ".join(f"{name}={size}" for name, size in FEATURE_SIZES.items()))


def _library_versions() -> dict[str, str]:
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
