import io
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from tools import samples
from camscore.model.imaging import DecodeOptions, FrameError, decode_frame


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


def test_a_frame_whose_decoded_pixels_exceed_the_memory_budget_is_refused_before_decoding():
    image = Image.new("RGBA", (2000, 1000), (1, 2, 3, 4))  # 2,000,000 pixels, 4 bytes each in Pillow

    with pytest.raises(FrameError, match=r"2000x1000 RGBA pixels need 8 MB decoded, over max_decode_mb 7") as caught:
        decode_frame(encode(image, "PNG"), DecodeOptions(max_decode_mb=7))

    assert caught.value.kind == "too_large"
    assert decode_frame(encode(image, "PNG"), DecodeOptions(max_decode_mb=8)).shape == (224, 224, 3)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "I;16", "1"])
def test_nearest_resizing_before_converting_gives_the_pixels_converting_first_gives(mode):
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (301, 457, 3), dtype=np.uint8)).convert(mode)
    fmt = "TIFF" if mode in ("CMYK", "I;16") else "PNG"
    data = encode(image, fmt)
    expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB").resize((224, 224), Image.Resampling.NEAREST))

    assert np.array_equal(decode_frame(data, DecodeOptions()), expected)


def test_a_frame_over_pillows_own_limit_is_too_large_in_the_same_words_with_no_warning(recwarn):
    png = encode(Image.new("L", (1, 1)), "PNG")
    # The same one-pixel PNG, its header saying 20000 x 5000 (100,000,000 pixels: over Pillow's 89,478,485).
    fields = struct.pack(">II", 20000, 5000) + png[24:29]
    bomb = png[:12] + b"IHDR" + fields + struct.pack(">I", zlib.crc32(b"IHDR" + fields)) + png[33:]

    with pytest.raises(FrameError, match=r"^too_large: 20000x5000 pixels exceeds max_pixels 50000000$"):
        decode_frame(bomb, DecodeOptions())

    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


PEAK_OF_DECODING = """
import resource, sys
from camscore.model.imaging import DecodeOptions, FrameError, decode_frame
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kinds = set()
for _ in range(8):
    try:
        decode_frame(data, DecodeOptions(max_decode_mb=int(sys.argv[2])))
        kinds.add("decoded")
    except FrameError as exc:
        kinds.add(exc.kind)
print(*kinds, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_decoding_a_batch_of_the_largest_pngs_stays_within_the_memory_budget(tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGB", (7000, 7000), (10, 200, 30)).save(path)  # 49,000,000 pixels in 155 KiB: 187 MiB decoded

    def peak(budget_mb: int) -> tuple[str, int]:
        printed = subprocess.run([sys.executable, "-c", PEAK_OF_DECODING, str(path), str(budget_mb)],
                                 capture_output=True, text=True, check=True).stdout.split()
        return printed[0], int(printed[1])

    kind, grown = peak(256)
    assert kind == "decoded" and grown <= 256
    kind, grown = peak(128)
    assert kind == "too_large" and grown <= 16


def test_a_damaged_tiff_gets_its_row_and_libtiffs_own_messages_become_debug_lines(capfd, caplog):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buffer, "TIFF", compression="tiff_lzw")  # decoded by libtiff
    tiff = bytearray(buffer.getvalue())
    first_entry = struct.unpack_from("<I", tiff, 4)[0] + 2
    strip_offsets = next(at for at in range(first_entry, len(tiff) - 12, 12)
                         if struct.unpack_from("<H", tiff, at)[0] == 273)
    struct.pack_into("<I", tiff, strip_offsets + 4, 64769)  # more strips than StripByteCounts has

    caplog.set_level("DEBUG", logger="camscore")
    try:
        decode_frame(bytes(tiff), DecodeOptions())
    except FrameError:
        pass

    assert capfd.readouterr().err == ""
    assert any("StripOffsets" in record.getMessage() and record.levelname == "DEBUG" for record in caplog.records)
