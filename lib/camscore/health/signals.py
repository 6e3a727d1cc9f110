"""A frame's picture signals: how bright, how contrasted, how sharp, which picture (a perceptual hash).

Computed from the decoded frame before the model's resize, on its luma squeezed to a fixed square
(SIGNAL_SIZE), so a camera's frames compare with each other whatever model scores them. No Spark, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass, fields

import numpy as np
from PIL import Image

SIGNAL_SIZE = 256
SHARPNESS_SIZE = 128  # sensor noise, halved here, would otherwise hide a blur in the Laplacian
HASH_SIZE = 32  # the luma the hash's DCT is taken of; its 8x8 lowest frequencies give the 64 bits
# FFmpeg's blackdetect counts a pixel black under a tenth of the range, and a frame black when 98% are.
DARK_LUMA = 0.10
BRIGHT_LUMA = 0.98
BLANK_SHARE = 0.98
UNIFORM_CONTRAST = 0.015  # luma's standard deviation below this: no picture, only noise (a covered lens)


@dataclass(frozen=True)
class PictureSignals:
    """A frame's signals (luma in 0..1).

    Attributes:
        brightness: mean luma.
        contrast: standard deviation of luma.
        dark_fraction: share of pixels under DARK_LUMA.
        bright_fraction: share of pixels at or over BRIGHT_LUMA (saturated).
        sharpness: variance of the 4-neighbour Laplacian of luma on the 0..255 scale, at SHARPNESS_SIZE square.
        phash: 64-bit DCT hash of a 32x32 luma (imagehash's phash), as a signed 64-bit integer.
    """

    brightness: float
    contrast: float
    dark_fraction: float
    bright_fraction: float
    sharpness: float
    phash: int

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(field.name for field in fields(cls))

    def values(self) -> tuple:
        return astuple(self)


def _dct_rows(size: int, keep: int) -> np.ndarray:
    """The first ``keep`` rows of the unnormalized DCT-II matrix (scipy's ``dct`` without ``norm``)."""
    n = np.arange(size)
    return 2 * np.cos(math.pi * np.arange(keep)[:, None] * (2 * n[None, :] + 1) / (2 * size))


_DCT = _dct_rows(HASH_SIZE, 8).astype(np.float32)
_BITS = (1 << np.arange(63, -1, -1, dtype=np.uint64)).astype(np.uint64)


def picture_signals(image: Image.Image) -> PictureSignals:
    """The signals of a decoded frame (any mode Pillow converts to luma)."""
    small = image.convert("L").resize((SIGNAL_SIZE, SIGNAL_SIZE), Image.Resampling.BILINEAR)
    luma = np.asarray(small, dtype=np.float32)
    levels = luma * (1 / 255)
    reduced = np.asarray(small.reduce(SIGNAL_SIZE // SHARPNESS_SIZE), dtype=np.float32)
    laplacian = (reduced[:-2, 1:-1] + reduced[2:, 1:-1] + reduced[1:-1, :-2] + reduced[1:-1, 2:]
                 - 4 * reduced[1:-1, 1:-1])
    return PictureSignals(
        brightness=float(levels.mean()), contrast=float(levels.std()),
        dark_fraction=float(np.count_nonzero(levels < DARK_LUMA)) / levels.size,
        bright_fraction=float(np.count_nonzero(levels >= BRIGHT_LUMA)) / levels.size,
        sharpness=float(laplacian.var()), phash=phash(small))


def phash(luma: Image.Image) -> int:
    """The 64-bit perceptual hash of a luma image: bit i (most significant first) is set where the i-th of the
    8x8 lowest DCT frequencies of its 32x32 reduction is above their median."""
    pixels = np.asarray(luma.resize((HASH_SIZE, HASH_SIZE), Image.Resampling.BOX), dtype=np.float32)
    low = _DCT @ pixels @ _DCT.T
    bits = (low > np.median(low)).ravel()
    return int(np.bitwise_or.reduce(_BITS[bits], initial=np.uint64(0)).view(np.int64))


def hash_distance(a: int, b: int) -> int:
    """How many of two hashes' 64 bits differ (DuckDB: ``bit_count(xor(a, b))``)."""
    return ((a ^ b) & (2 ** 64 - 1)).bit_count()


def blank_reason(signals: PictureSignals) -> str | None:
    """Why a picture shows nothing to score, by absolute rules: ``dark`` (FFmpeg's black frame), ``white``
    (as many pixels saturated) or ``uniform`` (only noise); None for a picture."""
    if signals.dark_fraction >= BLANK_SHARE:
        return "dark"
    if signals.bright_fraction >= BLANK_SHARE:
        return "white"
    if signals.contrast < UNIFORM_CONTRAST:
        return "uniform"
    return None
