"""Frame bytes to model input: decode, convert to RGB, resize. No Spark here."""

from __future__ import annotations

import io
import logging
import contextlib
import math
import re
import struct
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from camscore.decoding import DecodeOptions
from camscore.model import native_stderr
from camscore.rows import ErrorKind, FrameError
from camscore import vocabulary

log = logging.getLogger(__name__)

RESAMPLING = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}
assert tuple(RESAMPLING) == vocabulary.RESAMPLING


_TIFF = (b"II*\x00", b"MM\x00*")
_ANY_LINE = re.compile("")

# What Pillow's decoders raise on malformed data (plugins go beyond OSError on some inputs).
_DECODER_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, ZeroDivisionError,
                   struct.error)


def decode_frame(data: bytes | None, options: DecodeOptions) -> np.ndarray:
    """Decodes an encoded frame into a ``(size, size, 3)`` uint8 RGB array (see decode_picture)."""
    return decode_picture(data, options)[0]


def decode_picture(data: bytes | None, options: DecodeOptions) -> tuple[np.ndarray, Image.Image]:
    """Decodes an encoded frame into a ``(size, size, 3)`` uint8 RGB array, and gives the decoded picture it
    was resized from (for its signals: camscore.health.signals).

    The frame is squeezed to a square without cropping, as the original did.
    JPEG frames are decoded at the smallest DCT scale that is still at least
    ``size`` on both sides (Pillow draft mode), which skips most of the work
    for large frames. Other formats decode whole, so a frame whose pixels need
    more than ``max_decode_mb`` is refused before decoding; with nearest
    resizing the frame is resized before it is converted to RGB (the same
    pixels), so no second full-size copy is made.

    Raises:
        FrameError: with a kind saying why the frame cannot be used.
    """
    if not data:
        raise FrameError(ErrorKind.EMPTY, "zero bytes")
    # Pillow warns of damaged metadata in frames it decodes, and between its pixel limit and twice
    # it (max_pixels decides here), and libtiff prints its own on stderr: a frame either decodes or
    # gets its error, so they become DEBUG lines.
    libtiff = native_stderr.logged(log, debug=_ANY_LINE) if data.startswith(_TIFF) else contextlib.nullcontext()
    with libtiff, warnings.catch_warnings(record=True) as noted:
        warnings.simplefilter("always")
        try:
            return _decoded(data, options)
        finally:
            for warning in noted:
                log.debug("warned while decoding: %s", warning.message)


def _decoded(data: bytes, options: DecodeOptions) -> tuple[np.ndarray, Image.Image]:
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise FrameError(ErrorKind.NOT_IMAGE, f"not a known image format ({len(data)} bytes)") from None
    except Image.DecompressionBombError:  # over twice Pillow's limit: it gives no size
        raise FrameError(ErrorKind.TOO_LARGE, f"over {2 * Image.MAX_IMAGE_PIXELS} pixels exceeds max_pixels "
                                      f"{options.max_pixels}") from None
    except _DECODER_ERRORS as exc:
        raise FrameError(ErrorKind.DECODE, _describe(exc)) from None
    width, height = image.size
    if width * height > options.max_pixels:
        raise FrameError(ErrorKind.TOO_LARGE, f"{width}x{height} pixels exceeds max_pixels {options.max_pixels}")
    if image.format == "JPEG":
        image.draft("RGB", (options.size, options.size))
    resize_first = options.resample == "nearest"
    needed = image.width * image.height * (_bytes_per_pixel(image.mode) + (0 if resize_first else 4))
    if needed > options.max_decode_mb * 2 ** 20:
        raise FrameError(ErrorKind.TOO_LARGE, f"{image.width}x{image.height} {image.mode} pixels need "
                                      f"{math.ceil(needed / 2 ** 20)} MB decoded, over max_decode_mb "
                                      f"{options.max_decode_mb}")
    square = (options.size, options.size)
    try:
        if resize_first:
            resized = image.resize(square, Image.Resampling.NEAREST).convert("RGB")
        else:
            resized = image.convert("RGB").resize(square, RESAMPLING[options.resample])
    except OSError as exc:
        kind = ErrorKind.TRUNCATED if "truncated" in str(exc).lower() else ErrorKind.DECODE
        raise FrameError(kind, _describe(exc)) from None
    except (*_DECODER_ERRORS, Image.DecompressionBombError) as exc:
        raise FrameError(ErrorKind.DECODE, _describe(exc)) from None
    return np.asarray(resized, dtype=np.uint8), image


def _bytes_per_pixel(mode: str) -> int:
    """What Pillow keeps in memory for one pixel of a mode (RGB takes 4, as RGBA does)."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
