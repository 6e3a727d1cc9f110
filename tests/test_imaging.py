import io

import numpy as np
import pytest
from PIL import Image

from camscore.devtools import samples
from camscore.imaging import DecodeOptions, FrameError, decode_frame


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def test_a_camera_frame_becomes_a_224_square_rgb_array():
    frame = samples.frame_jpeg("car", seed=3)

    pixels = decode_frame(frame, DecodeOptions())

    assert pixels.shape == (224, 224, 3)
    assert pixels.dtype == np.uint8


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "I;16"])
def test_any_mode_is_converted_to_rgb(mode):
    image = Image.new("RGB", (300, 200), (200, 100, 50)).convert(mode)
    fmt = "TIFF" if mode in ("CMYK", "I;16") else "PNG"

    pixels = decode_frame(encode(image, fmt), DecodeOptions())

    assert pixels.shape == (224, 224, 3)


def test_the_frame_is_squeezed_not_cropped():
    image = Image.new("RGB", (960, 576), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 10, 576))  # a white band on the left edge

    pixels = decode_frame(encode(image, "PNG"), DecodeOptions())

    assert pixels[:, 0].min() == 255  # still there after resizing: nothing was cropped away


def test_draft_decoding_stays_close_to_a_full_decode():
    frame = samples.frame_jpeg("bus", seed=5, quality=90)
    full = np.asarray(Image.open(io.BytesIO(frame)).convert("RGB").resize((224, 224), Image.Resampling.BILINEAR),
                      dtype=np.float32)

    drafted = decode_frame(frame, DecodeOptions(resample="bilinear")).astype(np.float32)

    assert np.abs(drafted - full).mean() < 6.0


@pytest.mark.parametrize("kind", sorted(samples.bad_frames()))
def test_each_bad_frame_is_refused_with_its_kind(kind):
    data = samples.bad_frames()[kind]

    with pytest.raises(FrameError) as caught:
        decode_frame(data, DecodeOptions())

    assert caught.value.kind == kind
    assert str(caught.value).startswith(f"{kind}: ")


def test_frames_over_the_pixel_limit_are_refused_before_decoding():
    frame = samples.frame_jpeg("car", seed=1)  # 960 x 576 = 552,960 pixels

    with pytest.raises(FrameError, match="960x576 pixels exceeds max_pixels 500000") as caught:
        decode_frame(frame, DecodeOptions(max_pixels=500_000))

    assert caught.value.kind == "too_large"


def test_missing_bytes_are_an_empty_frame():
    with pytest.raises(FrameError) as caught:
        decode_frame(None, DecodeOptions())

    assert caught.value.kind == "empty"


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK"])
def test_converted_frames_keep_their_colour(mode):
    image = Image.new("RGB", (300, 200), (200, 100, 50)).convert(mode)
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    expected = np.asarray(image.convert("RGB"))[0, 0]

    pixels = decode_frame(encode(image, fmt), DecodeOptions())

    assert np.abs(pixels[100, 100].astype(int) - expected.astype(int)).max() <= 2
