"""The one setting that finds the original notebook's files (CAMSCORE_ORIGINAL), and what lacks them says."""

import pytest

from camscore.assets.original import FILES, SETTING, OriginalFiles, OriginalMissing, find_original, require_original
from camscore.errors import ConfigError

UNSET = ("the original notebook's files are not here: set CAMSCORE_ORIGINAL to a folder holding "
         "lightgbm_classifier.model (the original notebook repository's booster), car_cctv_960x576.png and "
         "car_474x315.png")


def folder_with(tmp_path, names):
    folder = tmp_path / "original"
    folder.mkdir()
    for name in names:
        (folder / name).write_bytes(f"a stand-in for {name}".encode())
    return folder


@pytest.mark.parametrize("environ", [{}, {SETTING: ""}])
def test_unset_says_what_is_missing_and_how_to_add_it_in_one_line(environ):
    missing = find_original(environ)

    assert missing == OriginalMissing(reason=UNSET, file=None)
    with pytest.raises(ConfigError) as raised:
        require_original(environ)
    assert str(raised.value) == UNSET


def test_a_folder_lacking_a_file_names_the_file(tmp_path):
    folder = folder_with(tmp_path, ["lightgbm_classifier.model", "car_cctv_960x576.png"])

    missing = find_original({SETTING: str(folder)})

    assert missing == OriginalMissing(
        reason=f"the original notebook's files are not all here: CAMSCORE_ORIGINAL is {folder}, which has no "
               f"car_474x315.png; it must hold lightgbm_classifier.model (the original notebook repository's "
               f"booster), car_cctv_960x576.png and car_474x315.png", file="car_474x315.png")
    assert len(missing.reason.splitlines()) == 1
    with pytest.raises(ConfigError, match="which has no car_474x315.png"):
        require_original({SETTING: str(folder)})


def test_a_setting_that_names_no_folder_says_so(tmp_path):
    missing = find_original({SETTING: str(tmp_path / "nowhere")})

    assert missing.file == "lightgbm_classifier.model"
    assert missing.reason.startswith(f"the original notebook's files are not all here: CAMSCORE_ORIGINAL is "
                                     f"{tmp_path / 'nowhere'}, which is not a folder; it must hold ")


def test_a_complete_folder_gives_each_files_path(tmp_path, monkeypatch):
    folder = folder_with(tmp_path, FILES)
    monkeypatch.chdir(tmp_path)

    found = find_original({SETTING: "original"})  # relative to the working directory

    assert found == OriginalFiles(folder=folder, booster=folder / "lightgbm_classifier.model",
                                  frames=(folder / "car_cctv_960x576.png", folder / "car_474x315.png"))
    assert require_original({SETTING: str(folder)}) == found
    assert found.booster.read_text() == "a stand-in for lightgbm_classifier.model"


def test_the_process_environment_is_read_when_none_is_given(tmp_path, monkeypatch):
    folder = folder_with(tmp_path, FILES)
    monkeypatch.setenv(SETTING, str(folder))
    assert find_original().folder == folder

    monkeypatch.delenv(SETTING)
    assert find_original().reason == UNSET


def test_the_demo_leaves_camera_cam_07_out_in_one_line_and_goes_on_without_them(monkeypatch):
    from tools.demo_run import original_camera

    monkeypatch.delenv(SETTING, raising=False)
    said = []

    assert original_camera(report=said.append) == []
    assert said == [f"camera cam-07 (the original notebook's two CCTV frames) is left out: {UNSET}"]


def test_the_demo_shows_the_originals_frames_as_camera_cam_07(tmp_path, monkeypatch):
    from tools.demo_run import original_camera

    monkeypatch.setenv(SETTING, str(folder_with(tmp_path, FILES)))
    said = []

    frames = original_camera(report=said.append)

    assert said == []
    assert [(frame.relative_path, frame.data, frame.kind) for frame in frames] == [
        ("cam-07/20261120T120000-car_474x315.png", b"a stand-in for car_474x315.png", "car"),
        ("cam-07/20261120T120100-car_cctv_960x576.png", b"a stand-in for car_cctv_960x576.png", "car")]


@pytest.mark.parametrize("flags", [["--speed-only"], ["--service"]])
def test_the_benchmarks_stop_in_one_line_with_exit_2_without_the_original(flags, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(SETTING, raising=False)
    from tools import bench

    code = bench.main([*flags, "--workdir", str(tmp_path / "bench")])

    assert (code, capsys.readouterr().err) == (2, f"camscore: error: {UNSET}\n")
    assert not (tmp_path / "bench").exists()
