"""The frames an int8 featurizer is calibrated on: a few hundred, decoded on the driver, the same ones every run."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Iterable

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from camscore.errors import InputError
from camscore.imaging import DecodeOptions, FrameError, decode_frame
from camscore.sources import FrameSource

log = logging.getLogger(__name__)

# NNCF's post-training quantization calibrates on 300 samples by default.
FRAMES = 300
_EXTENSIONS = {".jpg", ".jpeg", ".png"}


def of_source(source: FrameSource, wanted: DataFrame, *, seed: int, decode: DecodeOptions,
              count: int = FRAMES) -> np.ndarray:
    """Up to ``count`` decoded frames of ``wanted`` (rows of ``source.listing``), chosen by a seeded hash of the path.

    Raises:
        InputError: none of them reads and decodes.
    """
    chosen = wanted.orderBy(F.xxhash64("path", F.lit(seed)), "path").limit(count)
    rows = source.frames_of(chosen).select("path", "content", "read_error").collect()
    readable = [(row["path"], row["content"]) for row in rows if row["read_error"] is None]
    return _decoded(readable, origin=source.uri, chosen=len(rows), decode=decode)


def of_folder(folder: Path, *, decode: DecodeOptions, count: int = FRAMES) -> np.ndarray:
    """Up to ``count`` decoded frames of a local folder (recursive), chosen by a hash of the relative path.

    Raises:
        InputError: the folder holds no frame that decodes.
    """
    paths = [path for path in folder.rglob("*") if path.suffix.lower() in _EXTENSIONS and path.is_file()]
    paths.sort(key=lambda path: (hashlib.sha256(str(path.relative_to(folder)).encode()).digest(), path))
    return _decoded(((str(path), path.read_bytes()) for path in paths[:count]), origin=str(folder),
                    chosen=min(len(paths), count), decode=decode)


def _decoded(frames: Iterable[tuple[str, bytes]], *, origin: str, chosen: int, decode: DecodeOptions) -> np.ndarray:
    arrays = []
    for _, content in sorted(frames, key=lambda frame: frame[0]):
        try:
            arrays.append(decode_frame(content, decode))
        except FrameError:
            continue
    if not arrays:
        raise InputError(f"none of the {chosen} calibration frames chosen under {origin} reads and decodes")
    log.info("camscore: quantizing the featurizer to int8 on %d frames of %s", len(arrays), origin)
    return np.stack(arrays)
