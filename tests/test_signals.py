"""A frame's picture signals, on pictures made here."""

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from tools import samples
from camscore.health.signals import blank_reason, hash_distance, picture_signals


def scene(seed: int = 3, **options) -> Image.Image:
    return samples.draw_frame("car", np.random.default_rng(seed), width=480, height=288, **options)


def test_a_black_frame_is_dark_all_over_and_blank():
    signals = picture_signals(Image.new("RGB", (480, 288)))

    assert (signals.brightness, signals.contrast, signals.dark_fraction, signals.bright_fraction) == (0, 0, 1, 0)
    assert blank_reason(signals) == "dark"


def test_a_saturated_frame_is_blank_white_and_an_even_grey_one_uniform():
    assert blank_reason(picture_signals(Image.new("RGB", (480, 288), (255, 255, 255)))) == "white"
    assert blank_reason(picture_signals(Image.new("L", (480, 288), 128))) == "uniform"


def test_a_street_scene_is_a_picture_with_edges():
    signals = picture_signals(scene())

    assert blank_reason(signals) is None
    assert 0.2 < signals.brightness < 0.8 and signals.contrast > 0.05 and signals.sharpness > 50


def test_a_blur_collapses_sharpness_and_keeps_brightness():
    sharp = scene(blur=0.0, noise=4.0)

    blurred = picture_signals(sharp.filter(ImageFilter.GaussianBlur(7)))

    assert blurred.sharpness < picture_signals(sharp).sharpness / 4
    assert blurred.brightness == pytest.approx(picture_signals(sharp).brightness, abs=0.01)


def test_the_hash_keeps_a_picture_under_other_light_and_jpeg_and_tells_another_scene():
    picture = scene(light=1.0, noise=4.0)
    darker = Image.fromarray((np.asarray(picture, dtype=np.float32) * 0.6).astype(np.uint8))
    encoded = io.BytesIO()
    darker.save(encoded, "JPEG", quality=70)

    same = hash_distance(picture_signals(picture).phash, picture_signals(Image.open(encoded)).phash)
    other = hash_distance(picture_signals(picture).phash, picture_signals(scene(seed=99, noise=4.0)).phash)

    assert same <= 4 and other >= 16


def test_the_hash_is_a_signed_64_bit_integer_and_distances_count_differing_bits():
    value = picture_signals(scene()).phash

    assert -2 ** 63 <= value < 2 ** 63
    assert hash_distance(-1, 0) == 64 and hash_distance(0b1011, 0b0001) == 2 and hash_distance(value, value) == 0
