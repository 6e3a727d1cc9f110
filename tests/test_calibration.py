import numpy as np
import pytest

from camscore.stages import calibration
from camscore.config import SourceSettings
from tools import samples
from camscore.errors import InputError
from camscore.model.imaging import DecodeOptions, decode_frame
from camscore.io.on_spark import read_frames


def test_calibration_takes_decodable_frames_of_a_folder_the_same_ones_every_time(tmp_path):
    frames = {f"cam-{i}/{i:02d}.jpg": samples.frame_jpeg("car", seed=i) for i in range(6)}
    frames["cam-9/broken.jpg"] = samples.bad_frames()["truncated"]
    for name, data in frames.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)

    every = calibration.of_folder(tmp_path, decode=DecodeOptions(), count=10)
    (tmp_path / "cam-9" / "broken.jpg").unlink()
    some = calibration.of_folder(tmp_path, decode=DecodeOptions(), count=4)

    assert every.shape == (6, 224, 224, 3) and every.dtype == np.uint8
    decoded = {name: decode_frame(data, DecodeOptions()) for name, data in frames.items() if "broken" not in name}
    assert sorted(name for name, array in decoded.items() if any(np.array_equal(array, row) for row in every)) == \
        sorted(decoded)
    assert len(some) == 4
    assert all(any(np.array_equal(row, chosen) for row in every) for chosen in some)
    assert np.array_equal(some, calibration.of_folder(tmp_path, decode=DecodeOptions(), count=4))


def test_a_folder_without_a_decodable_frame_is_refused(tmp_path):
    (tmp_path / "notes.jpg").write_bytes(b"not a frame")

    with pytest.raises(InputError, match="none of the 1 calibration frames chosen under .* reads and decodes"):
        calibration.of_folder(tmp_path, decode=DecodeOptions())


def test_the_same_frames_in_another_folder_calibrate_alike(spark, tmp_path):
    frames = {f"cam-{i}/{i:02d}.jpg": samples.frame_jpeg("car", seed=i) for i in range(6)}
    chosen = []
    for folder in ("first", "elsewhere/second"):
        for name, data in frames.items():
            (tmp_path / folder / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / folder / name).write_bytes(data)
        source = read_frames(spark, str(tmp_path / folder), source=SourceSettings(), s3=None)
        chosen.append(calibration.of_source(source, source.listing, decode=DecodeOptions(), count=3))

    assert chosen[0].shape == (3, 224, 224, 3) and np.array_equal(chosen[0], chosen[1])
