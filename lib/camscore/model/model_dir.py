"""Model directories, local or at an ``s3://`` URI: written, read and checked, and made from a bare booster.

camscore.model.classifier says what a model directory holds and checks it; this
module reads and writes it through the Files it is given (camscore.storage.Files reaches s3://).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from camscore.errors import ModelError
from camscore.model.classifier import (BOOSTER_FILE, MANIFEST_FILE, OPENVINO_FILES, Manifest, Model,
                                       booster_feature_count, check_feature_count, make_manifest)
from camscore.model.conversion import graph_for
from camscore.model.featurizer import FeaturizerSpec, OpenVinoModel, check_layer, check_runtime
from camscore.model.files import LOCAL, Files, join
from camscore.model.weights import load_weights, weights_identity
from camscore.policy import IMPORT_PRECISION, IMPORT_RESAMPLE, IMPORT_RUNTIME
from camscore.vocabulary import DEFAULT_LABEL_NAMES


def save_model(uri: str, booster_text: str, manifest: Manifest, *, openvino: OpenVinoModel | None = None,
               files: Files = LOCAL) -> None:
    """Writes ``booster.txt``, the featurizer if given, and ``manifest.json`` last, under ``uri`` (local or s3://).

    Raises:
        ValueError: the featurizer given is not the one the manifest records.
    """
    if (openvino.identity if openvino else "") != manifest.featurizer.graph:
        raise ValueError(f"the manifest records featurizer {manifest.featurizer.graph or 'none'}, "
                         f"not {openvino.identity if openvino else 'none'}")
    files.write(join(uri, BOOSTER_FILE), booster_text.encode())
    if openvino:
        for name, data in zip(OPENVINO_FILES, (openvino.xml, openvino.bin)):
            files.write(join(uri, name), data)
    files.write(join(uri, MANIFEST_FILE), manifest.to_json().encode())


def load_model(uri: str, *, files: Files = LOCAL) -> Model:
    """Reads and checks a model directory.

    Raises:
        ModelError: a file is missing, or the booster or the featurizer does not match the manifest.
    """
    manifest_text = _read_model_file(uri, MANIFEST_FILE, files).decode(errors="replace")
    manifest = Manifest.from_json(manifest_text, origin=join(uri, MANIFEST_FILE))
    booster_origin = join(uri, BOOSTER_FILE)
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
            raise ModelError(f"{join(uri, OPENVINO_FILES[0])} and {OPENVINO_FILES[1]} are "
                             f"{openvino.identity}, but the manifest records {manifest.featurizer.graph}")
    return Model(uri, manifest, booster_text, openvino)


def _read_model_file(uri: str, name: str, files: Files) -> bytes:
    location = join(uri, name)
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
                   files: Files = LOCAL) -> Manifest:
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
