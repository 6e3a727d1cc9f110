"""How frames are decoded: the options config gives (camscore.config builds them from the featurizer
settings) and camscore.model.imaging acts on. Plain values, so that building them loads no Pillow."""

from __future__ import annotations

from dataclasses import dataclass

from camscore.vocabulary import ORIGINAL_RESAMPLE


@dataclass(frozen=True, kw_only=True)
class DecodeOptions:
    """How frames become arrays.

    Attributes:
        size: output width and height in pixels (ResNet50: 224).
        resample: a key of camscore.model.imaging.RESAMPLING; by default the original notebook's (Keras
            load_img: nearest).
        max_pixels: frames whose header declares more pixels are refused before decoding.
        max_decode_mb: frames whose pixels would need more memory decoded are refused before decoding.
    """

    size: int = 224
    resample: str = ORIGINAL_RESAMPLE
    max_pixels: int = 50_000_000
    max_decode_mb: int = 256
