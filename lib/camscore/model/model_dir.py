"""Model directories, local or at an ``s3://`` URI: what they hold (a Manifest, a Model), written, read and
checked, and made from a bare booster.

A model directory holds ``booster.txt`` (LightGBM text format) and ``manifest.json`` (what the features were
computed with, label names, threshold, model id, library versions); a model whose features came from OpenVINO
also carries that featurizer, ``featurizer.xml`` and ``featurizer.bin``, so scoring needs neither Keras nor
TensorFlow. It is read and written through the FileAccess it is given (camscore.storage.StorageFiles reaches
s3://), which names the files inside it too.
camscore.model.classifier scores with the booster.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from camscore.errors import ModelError
from camscore.model.classifier import booster_feature_count
from camscore.model.conversion import graph_for
from camscore.model.featurizer import FEATURE_SIZES, FeaturizerSpec, OpenVinoModel, check_layer, check_runtime
from camscore.model.files import LOCAL, FileAccess
from camscore.model.weights import load_weights, weights_identity
from camscore.policy import IMPORT_PRECISION, IMPORT_RESAMPLE, IMPORT_RUNTIME
from camscore.vocabulary import DEFAULT_LABEL_NAMES

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


def save_model(uri: str, booster_text: str, manifest: Manifest, *, openvino: OpenVinoModel | None = None,
               files: FileAccess = LOCAL) -> None:
    """Writes ``booster.txt``, the featurizer if given, and ``manifest.json`` last, under ``uri`` (local or s3://).

    Raises:
        ValueError: the featurizer given is not the one the manifest records.
    """
    if (openvino.identity if openvino else "") != manifest.featurizer.graph:
        raise ValueError(f"the manifest records featurizer {manifest.featurizer.graph or 'none'}, "
                         f"not {openvino.identity if openvino else 'none'}")
    files.write(files.join(uri, BOOSTER_FILE), booster_text.encode())
    if openvino:
        for name, data in zip(OPENVINO_FILES, (openvino.xml, openvino.bin)):
            files.write(files.join(uri, name), data)
    files.write(files.join(uri, MANIFEST_FILE), manifest.to_json().encode())


def load_model(uri: str, *, files: FileAccess = LOCAL) -> Model:
    """Reads and checks a model directory.

    Raises:
        ModelError: a file is missing, or the booster or the featurizer does not match the manifest.
    """
    manifest_text = _read_model_file(uri, MANIFEST_FILE, files).decode(errors="replace")
    manifest = Manifest.from_json(manifest_text, origin=files.join(uri, MANIFEST_FILE))
    booster_origin = files.join(uri, BOOSTER_FILE)
    try:
        booster_text = _read_model_file(uri, BOOSTER_FILE, files).decode()
    except UnicodeDecodeError as exc:
        raise ModelError(f"cannot read {booster_origin}: {exc}") from exc
    found = booster_feature_count(booster_text, origin=booster_origin)
    if found != manifest.feature_count:
        raise ModelError(f"{booster_origin} has {found} features but its manifest says {manifest.feature_count}")
    check_feature_count(found, manifest.featurizer, origin=booster_origin)
    openvino = None
    if manifest.featurizer.graph:
        openvino = OpenVinoModel(*(_read_model_file(uri, name, files) for name in OPENVINO_FILES))
        if openvino.identity != manifest.featurizer.graph:
            raise ModelError(f"{files.join(uri, OPENVINO_FILES[0])} and {OPENVINO_FILES[1]} are "
                             f"{openvino.identity}, but the manifest records {manifest.featurizer.graph}")
    return Model(uri, manifest, booster_text, openvino)


def _read_model_file(uri: str, name: str, files: FileAccess) -> bytes:
    location = files.join(uri, name)
    try:
        return files.read(location)
    except (FileNotFoundError, NotADirectoryError):
        raise ModelError(_missing(uri, location)) from None
    except OSError as exc:
        raise ModelError(f"cannot read {location}: {exc}") from exc


def _missing(uri: str, location: str) -> str:
    return (f"model directory {uri} has no {Path(location).name}; a model directory holds "
            f"{BOOSTER_FILE} and {MANIFEST_FILE}, and {' and '.join(OPENVINO_FILES)} when its manifest "
            f"records an OpenVINO featurizer (make one with the training job or './submit.sh import-booster')")


def import_booster(booster_uri: str, out: str, *, layer: str, weights: str, seed: int = 0,
                   runtime: str = IMPORT_RUNTIME, precision: str = IMPORT_PRECISION,
                   resample: str = IMPORT_RESAMPLE, calibration: np.ndarray | None = None,
                   label_names: tuple[str, str] = DEFAULT_LABEL_NAMES, threshold: float = 0.5,
                   files: FileAccess = LOCAL) -> Manifest:
    """Wraps a bare LightGBM booster file into a model directory.

    Args:
        booster_uri: the booster text file (local path or s3://).
        out: the model directory to write.
        layer: the feature layer the booster was trained on.
        weights: the weights its features came from: imagenet, a file, an s3:// URI or none.
        seed: the seed, when weights is none.
        runtime: the runtime it is scored with by default; openvino converts
            the featurizer here and the model directory carries it.
        precision: the precision it is scored with by default: fp32, bf16, or
            int8 (openvino, quantized on ``calibration``).
        resample: the Pillow filter its frames were resized with.
        calibration: ``(n, 224, 224, 3)`` uint8 RGB frames like those it will
            score (resized with ``resample``), for int8.

    Raises:
        ModelError: the booster cannot be read or does not fit the layer, or
            the weights cannot be loaded (openvino).
    """
    check_layer(layer)
    check_runtime(runtime, precision)
    try:
        booster_text = files.read(booster_uri).decode()
    except FileNotFoundError:
        raise ModelError(f"booster file not found: {booster_uri}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read booster {booster_uri}: {exc}") from exc
    # Before the weights load and the conversion: a booster of another layer is refused at once.
    check_feature_count(booster_feature_count(booster_text, origin=booster_uri),
                        FeaturizerSpec(layer=layer, weights="", weights_source=""), origin=booster_uri)
    openvino = None
    if runtime == "openvino":
        loaded = load_weights(weights, seed=seed, files=files)
        identity = loaded.identity
        openvino = graph_for(loaded, layer=layer, runtime=runtime, precision=precision,
                             calibration=calibration, faithful=True).model
    else:
        identity = weights_identity(weights, seed=seed, files=files)
    featurizer = FeaturizerSpec(layer=layer, weights=identity, weights_source=weights, runtime=runtime,
                                precision=precision, graph=openvino.identity if openvino else "", resample=resample)
    manifest = make_manifest(booster_text, featurizer=featurizer, label_names=label_names,
                             threshold=threshold, training={"imported_from": booster_uri}, origin=booster_uri)
    save_model(out, booster_text, manifest, openvino=openvino, files=files)
    return manifest


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
