"""Frame bytes to model input: decode, convert to RGB, resize. No Spark here."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

RESAMPLING = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}


# What Pillow's decoders raise on malformed data (plugins go beyond OSError on some inputs).
_DECODER_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, ZeroDivisionError,
                   struct.error)


class FrameError(Exception):
    """A frame that cannot become model input; ``kind`` is a short stable word.

    Kinds: ``empty`` (zero bytes), ``not_image`` (no decoder recognises it),
    ``too_large`` (more pixels than allowed), ``truncated`` (data ends early),
    ``decode`` (any other decoder error), ``read`` (the bytes could not be fetched).
    """

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


@dataclass(frozen=True, kw_only=True)
class DecodeOptions:
    """How frames become arrays.

    Attributes:
        size: output width and height in pixels (ResNet50: 224).
        resample: a key of RESAMPLING; the original notebook's Keras load_img used nearest.
        max_pixels: frames whose header declares more pixels are refused before decoding.
    """

    size: int = 224
    resample: str = "nearest"
    max_pixels: int = 50_000_000


def decode_frame(data: bytes | None, options: DecodeOptions) -> np.ndarray:
    """Decodes an encoded frame into a ``(size, size, 3)`` uint8 RGB array.

    The frame is squeezed to a square without cropping, as the original did.
    JPEG frames are decoded at the smallest DCT scale that is still at least
    ``size`` on both sides (Pillow draft mode), which skips most of the work
    for large frames.

    Raises:
        FrameError: with a kind saying why the frame cannot be used.
    """
    if not data:
        raise FrameError("empty", "zero bytes")
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise FrameError("not_image", f"not a known image format ({len(data)} bytes)") from None
    except Image.DecompressionBombError as exc:
        raise FrameError("too_large", _describe(exc)) from None
    except _DECODER_ERRORS as exc:
        raise FrameError("decode", _describe(exc)) from None
    width, height = image.size
    if width * height > options.max_pixels:
        raise FrameError("too_large", f"{width}x{height} pixels exceeds max_pixels {options.max_pixels}")
    try:
        if image.format == "JPEG":
            image.draft("RGB", (options.size, options.size))
        image = image.convert("RGB")
        image = image.resize((options.size, options.size), RESAMPLING[options.resample])
    except OSError as exc:
        kind = "truncated" if "truncated" in str(exc).lower() else "decode"
        raise FrameError(kind, _describe(exc)) from None
    except (*_DECODER_ERRORS, Image.DecompressionBombError) as exc:
        raise FrameError("decode", _describe(exc)) from None
    return np.asarray(image, dtype=np.uint8)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
