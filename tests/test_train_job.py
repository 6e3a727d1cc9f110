import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pytest

from camscore.model.classifier import Classifier
from camscore.config import TrainSettings, load_settings
from tools import samples
from camscore.model.model_dir import load_model
from camscore.stages.train import Dataset, groups_of, prepare_train, run_train

from conftest import load_job, put_frames

train = load_job("train").main
score = load_job("score").main
REGEX = r"(?P<camera_id>cam-\d+)[/_](?P<captured_at>\d{8}T\d{6})"
FOLDS = 5


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    """100 frames a class in camera tracks of 5, plus frames that do not decode and an unlabelled folder."""
    root = tmp_path_factory.mktemp("labelled")
    samples.write_local(samples.labelled_tracks(per_class=100, cameras=8, frames_per_track=5,
                                                start=dt.date(2026, 11, 20), seed=3), root)
    broken = samples.bad_frames()
    put_frames(str(root), {"car/cam-01_20261120T000000-broken.jpg": broken["truncated"],
                           "bus/cam-02_20261120T000000-broken.jpg": broken["not_image"],
                           "truck/cam-03_20261120T000000.jpg": samples.frame_jpeg("bus", seed=5)}, None)
    return str(root)


@pytest.fixture(scope="module")
def config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("conf") / "train.yaml"
    path.write_text(json.dumps({
        "source": {"path_regex": REGEX},
        # Plumbing on random weights: fp32, so no int8 calibration (the real photos' test trains with the default).
        "featurizer": {"weights": "none", "precision": "fp32"},
        "train": {"rounds": 60},
    }))
    return str(path)


@pytest.fixture(scope="module")
def trained(spark, frames, config_file, tmp_path_factory):
    """Two runs over the same frames sharing a feature cache: random folds, then camera folds."""
    cache = str(tmp_path_factory.mktemp("cache"))
    base = load_settings(config_file, overrides={"train.input": frames, "train.feature_cache": cache})
    first = run_train(spark, prepare_train(dataclasses.replace(base, train=dataclasses.replace(
        base.train, model_out=str(tmp_path_factory.mktemp("random"))))))
    second = run_train(spark, prepare_train(dataclasses.replace(base, train=dataclasses.replace(
        base.train, model_out=str(tmp_path_factory.mktemp("camera")), group_by="camera"))))
    return first, second


def test_the_report_has_every_metric_per_fold(trained):
    first, _ = trained
    model_out = Path(first.model_out)

    metrics = json.loads((model_out / "metrics.json").read_text())

    assert [fold["fold"] for fold in metrics["folds"]] == list(range(FOLDS))
    for fold in metrics["folds"]:
        assert set(fold) >= {"accuracy", "precision", "recall", "f1", "auc", "confusion_matrix"}
        assert np.array(fold["confusion_matrix"]).sum() == fold["frames"]
    assert set(metrics["summary"]) == {"accuracy", "precision", "recall", "f1", "auc"}
    assert len(first.table.splitlines()) == FOLDS + 2
    for name in ("confusion_matrix.png", "roc.png"):
        assert (model_out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_folds_are_disjoint_stratified_and_cover_every_decoded_frame(trained):
    first, _ = trained
    held_out = [set(fold.held_out) for fold in first.folds]
    labels = first.dataset.labels

    assert sum(len(fold) for fold in held_out) == len(labels) == 200
    assert set().union(*held_out) == set(range(200))
    for fold in held_out:
        assert abs((labels[list(fold)] == 1).sum() - len(fold) / 2) <= 1


def test_cross_validation_is_well_above_chance_but_not_perfect(trained):
    first, second = trained
    random_accuracy = np.mean([fold.accuracy for fold in first.folds])
    camera_accuracy = np.mean([fold.accuracy for fold in second.folds])

    assert 0.65 < random_accuracy < 0.99
    assert 0.55 < camera_accuracy < 0.99


def test_grouped_folds_put_each_camera_in_one_fold(trained):
    _, second = trained
    for camera in set(second.dataset.cameras):
        folds = {fold.fold for fold in second.folds
                 for index in fold.held_out if second.dataset.cameras[index] == camera}
        assert len(folds) == 1


def test_the_second_run_reads_features_from_the_cache(trained):
    first, second = trained

    assert first.featurization["computed"] == 202
    assert second.featurization == {**second.featurization, "computed": 0, "cached": 202}
    np.testing.assert_array_equal(first.dataset.features, second.dataset.features)


def test_int8_is_calibrated_once_per_feature_cache_so_frames_added_later_leave_its_features_valid(
        spark, config_file, tmp_path):
    root = tmp_path / "frames"
    samples.write_local(samples.labelled_frames(per_class=10, seed=11), root)
    settings = load_settings(config_file, overrides={
        "featurizer.precision": "int8", "train.input": str(root), "train.feature_cache": str(tmp_path / "cache"),
        "train.model_out": str(tmp_path / "first")})
    first = run_train(spark, prepare_train(settings))
    samples.write_local(samples.labelled_frames(per_class=3, seed=12), root / "added")

    second = run_train(spark, prepare_train(dataclasses.replace(settings, train=dataclasses.replace(
        settings.train, model_out=str(tmp_path / "second")))))

    assert second.manifest.featurizer.graph == first.manifest.featurizer.graph
    assert (second.featurization["computed"], second.featurization["cached"]) == (6, 20)


def test_undecodable_frames_are_left_out_and_unlabelled_ones_skipped(trained):
    first, _ = trained

    assert first.manifest.training["left_out"] == {"not_image": 1, "truncated": 1}
    assert first.manifest.training["skipped_unlabelled"] == 1
    assert first.manifest.training["frames"] == {"bus": 100, "car": 100}


def test_the_scoring_job_agrees_with_the_training_jobs_own_predictions(spark, trained, frames, config_file,
                                                                        tmp_path):
    first, _ = trained
    output = str(tmp_path / "scores")

    assert score(["--input", frames, "--model", first.model_out, "--output", output,
                  "--config", config_file]) == 0

    scored = {row["path"]: row["probability"] for row in spark.read.parquet(output).collect()
              if row["error"] is None and "/truck/" not in row["path"]}
    booster = (Path(first.model_out) / "booster.txt").read_text()
    trained_on = dict(zip(first.dataset.paths, Classifier(booster).probabilities(first.dataset.features)))
    assert set(scored) == set(trained_on)
    np.testing.assert_allclose([scored[path] for path in sorted(scored)],
                               [trained_on[path] for path in sorted(scored)], atol=1e-6)


def test_the_model_manifest_records_the_featurizer_and_training(trained):
    first, _ = trained
    manifest = load_model(first.model_out).manifest

    assert manifest.featurizer.layer == "avg_pool"
    assert manifest.featurizer.weights == "none:seed=0"
    assert manifest.label_names == ("bus", "car")
    assert len(manifest.training["fingerprint"]) == 64
    assert manifest.training["cv"]["auc"]["mean"] == pytest.approx(np.mean([f.auc for f in first.folds]))


@pytest.mark.parametrize("layout, message", [
    ({}, "no frames under"),
    ({"bus/cam-01_20261120T080000.jpg": "bus"}, "label 'car' has no frames"),
    ({**{f"bus/cam-01_20261120T08000{i}.jpg": "bus" for i in range(6)},
      **{f"car/cam-01_20261120T09000{i}.jpg": "car" for i in range(3)}},
     "label 'car' has 3 frames \\(found\\), fewer than the 5 folds"),
])
def test_bad_input_is_refused_and_nothing_is_written(layout, message, config_file, tmp_path, capsys, spark):
    root = tmp_path / "frames"
    root.mkdir()
    put_frames(str(root), {name: samples.frame_jpeg(kind, seed=i) for i, (name, kind) in enumerate(layout.items())},
               None)
    model_out = tmp_path / "model"

    code = train(["--input", str(root), "--model-out", str(model_out), "--config", config_file])

    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("camscore: error: ")
    assert re.search(message, error)
    assert not model_out.exists()


def test_a_model_out_that_cannot_be_written_stops_the_job_before_spark_work(config_file, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    put_frames(str(tmp_path / "frames"), {"car/cam-01_20261120T000000.jpg": samples.frame_jpeg("car", seed=1),
                                          "bus/cam-02_20261120T000000.jpg": samples.frame_jpeg("bus", seed=2)}, None)

    code = train(["--input", str(tmp_path / "frames"), "--model-out", str(blocker / "model"), "--config", config_file])

    assert code == 2
    assert f"cannot write to {blocker / 'model'}: {blocker} is a file, not a folder" in capsys.readouterr().err


def test_time_groups_keep_each_camera_and_window_together():
    moments = [dt.datetime(2026, 11, 20, 8, minute, tzinfo=dt.timezone.utc) for minute in (0, 29, 31, 59, 59)]
    dataset = Dataset(paths=list("abcde"), features=np.zeros((5, 1)), labels=np.array([0, 1, 0, 1, 0]),
                      cameras=["cam-1", "cam-1", "cam-1", "cam-2", None], captured_at=moments, fingerprint="")

    groups = groups_of(dataset, TrainSettings(group_by="time", group_window_minutes=30))

    assert groups[0] == groups[1] != groups[2]  # 8:00 and 8:29 share a window; 8:31 starts the next
    assert [group.split("@")[0] for group in groups] == ["cam-1", "cam-1", "cam-1", "cam-2", "?"]
    assert len({group.split("@")[1] for group in groups[2:]}) == 1
    assert groups_of(dataset, TrainSettings(group_by="camera")) == ["cam-1", "cam-1", "cam-1", "cam-2", "?"]
    assert groups_of(dataset, TrainSettings(group_by="none")) is None
