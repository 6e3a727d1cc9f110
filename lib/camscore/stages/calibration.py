"""The frames an int8 featurizer is calibrated on: a few hundred, the same ones every run."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from camscore.config import SourceSettings
from camscore.errors import InputError
from camscore.model.imaging import DecodeOptions, FrameError, decode_frame
from camscore.io import fetched_ahead
from camscore.io.on_spark import FrameSource

log = logging.getLogger(__name__)

# NNCF's post-training quantization calibrates on 300 samples by default.
FRAMES = 300


def of_source(source: FrameSource, wanted: DataFrame, *, decode: DecodeOptions, count: int = FRAMES) -> np.ndarray:
    """Up to ``count`` decoded frames of ``wanted`` (rows of ``source.listing``): those with the lowest hash
    of their folder and file name, so a run over the same frames quantizes alike wherever they lie (and
    finds the int8 model it made before in the cache). Decoded on the executors: the driver receives
    224x224 arrays, not the frames' bytes.

    Raises:
        InputError: none of them reads and decodes.
    """
    name = F.regexp_extract("path", r"([^/]*/[^/]*)$", 1)
    chosen = wanted.orderBy(F.xxhash64(name), name).limit(count)
    size, fetch, max_batch_mb = decode.size, source.fetch, source.max_batch_mb

    def decoded(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in fetched_ahead(batches, fetch, max_batch_mb=max_batch_mb):
            pixels = []
            for read in batch.reads:
                try:
                    pixels.append(None if read.error is not None else decode_frame(read.data, decode).tobytes())
                except FrameError:
                    pixels.append(None)
            yield pd.DataFrame({"path": batch.rows["path"], "pixels": pixels})

    rows = source.rows(chosen).mapInPandas(decoded, "path string, pixels binary").collect()
    arrays = [np.frombuffer(row["pixels"], dtype=np.uint8).reshape(size, size, 3)
              for row in sorted(rows, key=lambda row: row["path"].rsplit("/", 2)[-2:]) if row["pixels"] is not None]
    return _stacked(arrays, origin=source.uri, chosen=len(rows))


def of_folder(folder: Path, *, decode: DecodeOptions, count: int = FRAMES) -> np.ndarray:
    """Up to ``count`` decoded frames of a local folder (recursive): those with the lowest hash of their
    relative path.

    Raises:
        InputError: the folder holds no frame that decodes.
    """
    extensions = {f".{extension}" for extension in SourceSettings().extensions}
    paths = [path for path in folder.rglob("*") if path.suffix.lower() in extensions and path.is_file()]
    paths.sort(key=lambda path: (hashlib.sha256(str(path.relative_to(folder)).encode()).digest(), path))
    arrays = []
    for path in sorted(paths[:count]):
        try:
            arrays.append(decode_frame(path.read_bytes(), decode))
        except FrameError:
            continue
    return _stacked(arrays, origin=str(folder), chosen=min(len(paths), count))


def _stacked(arrays: list[np.ndarray], *, origin: str, chosen: int) -> np.ndarray:
    if not arrays:
        raise InputError(f"none of the {chosen} calibration frames chosen under {origin} reads and decodes")
    log.info("quantizing the featurizer to int8 on %d frames of %s", len(arrays), origin)
    return np.stack(arrays)
