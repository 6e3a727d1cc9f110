import json

from conftest import load_job

import_booster = load_job("import_booster").main


def test_import_booster_wraps_a_booster_into_a_model_directory(tmp_path, capsys, stand_in_booster):
    out = tmp_path / "original"

    code = import_booster(["--booster", str(stand_in_booster), "--layer", "predictions", "--weights", "none",
                           "--weights-seed", "3", "--runtime", "keras", "--labels", "truck=0,car=1", "--out", str(out)])

    manifest = json.loads((out / "manifest.json").read_text())
    assert code == 0
    # Only the result: nothing of LightGBM's (the booster, as the original's, names parameters LightGBM 4 ignores).
    assert capsys.readouterr().out == f"model {manifest['model_id']} written to {out}\n"
    assert sorted(path.name for path in out.iterdir()) == ["booster.txt", "manifest.json"]
    assert (manifest["label_names"], manifest["feature_count"]) == (["truck", "car"], 1000)
    assert manifest["featurizer"]["weights"] == "none:seed=3"
    assert (out / "booster.txt").read_text() == stand_in_booster.read_text()


def test_import_booster_refuses_a_booster_of_another_layer_in_one_line_and_writes_nothing(
        tmp_path, capsys, stand_in_booster):
    code = import_booster(["--booster", str(stand_in_booster), "--layer", "avg_pool", "--weights", "none",
                           "--out", str(tmp_path / "m")])

    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"camscore: error: {stand_in_booster} expects 1000 features but featurizer layer 'avg_pool' gives 2048; "
        "layers and their sizes: avg_pool=2048, predictions=1000"]
    assert not (tmp_path / "m").exists()
