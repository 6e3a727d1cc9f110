"""ResNet50 weights: loaded from Keras (imagenet, or seeded random), a local file or S3, with their identity.

What the driver loads once and broadcasts; the identity is what manifests
record: ``imagenet``, ``none:seed=<n>``, or the ``sha256:<hex>`` of the file.
"""

from __future__ import annotations

import functools
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from camscore.errors import ModelError
from camscore.model.files import LOCAL, FileAccess
from camscore.model.featurizer import require_keras

WEIGHTS_HELP = ("use weights: imagenet (Keras download and cache), a weights file path, "
                "an s3:// URI of one, or none (seeded random weights)")


@dataclass(frozen=True)
class Weights:
    """ResNet50 weights as arrays (what the driver broadcasts) and their identity."""

    identity: str
    source: str
    arrays: tuple[np.ndarray, ...]


def weights_identity(source: str, *, seed: int, files: FileAccess = LOCAL) -> str:
    """The identity a weights source would have, without building the model."""
    if source == "imagenet":
        return "imagenet"
    if source == "none":
        return f"none:seed={seed}"
    return "sha256:" + hashlib.sha256(_weights_bytes(source, files)).hexdigest()


def load_weights(source: str, *, seed: int = 0, files: FileAccess = LOCAL) -> Weights:
    """Loads ResNet50 weights (with top) once per process.

    Args:
        source: ``imagenet``, a weights file path, an ``s3://`` URI, or ``none``.
        seed: seed of the random weights when ``source`` is ``none``.
        files: how to reach the weights file (an ``s3://`` one needs camscore.storage.StorageFiles).

    Raises:
        ModelError: the weights cannot be found, fetched or loaded; the message
            names the other sources.
    """
    if source in ("imagenet", "none"):
        return _load_builtin(source, seed)
    data = _weights_bytes(source, files)
    return _load_file(source, data)


@functools.lru_cache(maxsize=2)
def _load_builtin(source: str, seed: int) -> Weights:
    keras = require_keras()

    if source == "none":
        keras.utils.set_random_seed(seed)
        model = keras.applications.ResNet50(weights=None, include_top=True)
        return Weights(f"none:seed={seed}", "none", tuple(model.get_weights()))
    try:
        model = keras.applications.ResNet50(weights="imagenet", include_top=True)
    except Exception as exc:  # Keras' get_file wraps every download failure in a bare Exception.
        raise ModelError(
            f"cannot download the ImageNet weights of ResNet50 ({exc}); without internet use weights: "
            f"a weights file path, an s3:// URI of one, or none (seeded random weights)") from exc
    return Weights("imagenet", "imagenet", tuple(model.get_weights()))


def _weights_bytes(source: str, files: FileAccess) -> bytes:
    try:
        return files.read(source)
    except FileNotFoundError:
        raise ModelError(f"weights file not found: {source}; {WEIGHTS_HELP}") from None
    except OSError as exc:
        raise ModelError(f"cannot read weights file {source}: {exc}; {WEIGHTS_HELP}") from exc


@functools.lru_cache(maxsize=2)
def _load_file(source: str, data: bytes) -> Weights:
    keras = require_keras()

    suffix = ".weights.h5" if source.endswith(".weights.h5") else Path(source).suffix or ".h5"
    with tempfile.TemporaryDirectory() as folder:
        local = Path(folder) / f"resnet50{suffix}"
        local.write_bytes(data)
        try:
            model = keras.applications.ResNet50(weights=str(local), include_top=True)
        except (ValueError, OSError) as exc:
            raise ModelError(
                f"weights file {source} does not load into ResNet50 with its top "
                f"(include_top=True, 1000 classes): {exc}") from exc
    return Weights("sha256:" + hashlib.sha256(data).hexdigest(), source, tuple(model.get_weights()))
