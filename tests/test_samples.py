import datetime as dt
import re

from PIL import Image

from tools import samples


def photos(folder, **counts):
    for number, (kind, count) in enumerate(counts.items()):
        (folder / kind).mkdir(parents=True)
        for index in range(count):
            Image.new("RGB", (32, 32), (index, number, 0)).save(folder / kind / f"test_{index:05d}.png")
    return folder


def test_labelled_photos_take_the_first_of_each_class_folder(tmp_path):
    labelled = samples.labelled_photos(photos(tmp_path, car=3, truck=2), per_class=2)

    assert [(frame.relative_path, frame.kind) for frame in labelled] == [
        ("car/test_00000.png", "car"), ("car/test_00001.png", "car"),
        ("truck/test_00000.png", "truck"), ("truck/test_00001.png", "truck")]
    assert labelled[1].data == (tmp_path / "car" / "test_00001.png").read_bytes()


def test_photo_uploads_use_each_photo_once_under_camera_and_capture_time(tmp_path):
    frames = samples.photo_frames(photos(tmp_path, car=5, truck=5), cameras=2, days=2, per_day=2,
                                  start=dt.date(2026, 11, 20))

    assert len(frames) == 8 and len({frame.data for frame in frames}) == 8
    assert all(re.fullmatch(r"cam-0[12]/2026112[01]T\d{6}-00[01]\.png", frame.relative_path) for frame in frames)
    assert {frame.kind for frame in frames} == {"car", "truck"}
