"""A frame as a thumbnail: a small JPEG of it, or the error kind of why not (camscore.rows.ErrorKind), for the
fleet page's cards."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from camscore.rows import ErrorKind, FrameError

WIDTH = 160
QUALITY = 70
# A header declaring more pixels is refused before decoding, as the scoring job's default max_pixels does.
MAX_PIXELS = 50_000_000


def thumbnail(data: bytes, *, width: int = WIDTH, quality: int = QUALITY) -> bytes:
    """The frame ``width`` pixels wide (its height in proportion), as a baseline JPEG without metadata.

    Raises:
        FrameError: the bytes are no picture that decodes (kind ``empty``, ``not_image``, ``too_large``,
            ``truncated`` or ``decode``).
    """
    if not data:
        raise FrameError(ErrorKind.EMPTY, "zero bytes")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise FrameError(ErrorKind.TOO_LARGE, f"{image.width}x{image.height} pixels")
            height = max(1, round(image.height * width / image.width))
            # A JPEG decodes straight at 1/2, 1/4 or 1/8 scale when that still covers the thumbnail: most of
            # the time a page takes is decoding.
            image.draft("RGB", (width, height))
            small = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    except UnidentifiedImageError:
        raise FrameError(ErrorKind.NOT_IMAGE, "not a known image format") from None
    except Image.DecompressionBombError as exc:
        raise FrameError(ErrorKind.TOO_LARGE, str(exc)) from None
    except (OSError, SyntaxError) as exc:
        kind = ErrorKind.TRUNCATED if "truncated" in str(exc).lower() else ErrorKind.DECODE
        raise FrameError(kind, str(exc)) from None
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=quality, optimize=True)
    return buffer.getvalue()
