import dataclasses
import datetime as dt
import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pyspark.sql import types as T

from camscore.stages import calibration
from camscore.model.classifier import Classifier
from camscore.model.conversion import make_graph
from camscore.model.featurizer import featurizer_for
from tools import samples
from camscore.model.imaging import DecodeOptions, decode_frame
from camscore.io import held
from camscore.model.model_dir import import_booster, load_model

from conftest import ROOT, TEST_MODELS, carried, drawn_png, kept, load_job, put_frames, sources_digest

REGEX = r"(?P<camera_id>[^/]+)/(?P<captured_at>\d{8}T\d{6})[^/]*$"
OUTPUT_SCHEMA = [
    ("path", T.StringType()), ("camera_id", T.StringType()), ("captured_at", T.TimestampType()),
    ("probability", T.DoubleType()), ("label", T.IntegerType()), ("label_name", T.StringType()),
    ("error_kind", T.StringType()), ("error", T.StringType()),
    ("brightness", T.DoubleType()), ("contrast", T.DoubleType()), ("dark_fraction", T.DoubleType()),
    ("bright_fraction", T.DoubleType()), ("sharpness", T.DoubleType()), ("phash", T.LongType()),
    ("content_sha", T.StringType()),
    ("model_id", T.StringType()), ("scored_at", T.TimestampType()), ("date", T.DateType()), ("batch", T.StringType()),
]
SIGNALS = ("brightness", "contrast", "dark_fraction", "bright_fraction", "sharpness", "phash")


score = load_job("score").main


@pytest.fixture
def config(write_config, s3_server):
    return write_config({"s3": dataclasses.asdict(s3_server.settings), "source": {"path_regex": REGEX}})


def good_frames(day: str, count: int, *, seed: int) -> dict[str, bytes]:
    kinds = samples.KINDS
    return {f"cam-{i % 2 + 1:02d}/{day}T{8 + i:02d}0000.jpg": samples.frame_jpeg(kinds[i % 2], seed=seed + i)
            for i in range(count)}


def in_process(model, graph, frames: list[bytes]) -> np.ndarray:
    """The probabilities of ``model``'s booster over ``graph``'s features, computed in this process."""
    features = featurizer_for(graph)(np.stack([decode_frame(frame, DecodeOptions()) for frame in frames]))
    return Classifier(model.booster_text).probabilities(features)


def bad_frames(day: str) -> dict[str, bytes]:
    return {f"cam-09/{day}T23000{i}-{kind}.jpg": data for i, (kind, data) in enumerate(samples.bad_frames().items())}


@pytest.mark.spark35
def test_every_frame_read_gives_one_row_with_a_probability_or_an_error(
        spark, s3_server, bucket, model_dir, config, tmp_path):
    good = good_frames("20261120", 6, seed=100)
    put_frames(f"{bucket}/in", {**good, **bad_frames("20261120")}, s3_server.settings)
    output = str(tmp_path / "scores")

    assert score(["--input", f"{bucket}/in", "--model", model_dir, "--output", output, "--config", config]) == 0

    table = spark.read.parquet(output)
    assert [(f.name, f.dataType) for f in table.schema.fields] == OUTPUT_SCHEMA
    rows = {row["path"].split("/in/", 1)[1]: row for row in table.collect()}
    assert len(rows) == 11
    kinds = {name: row["error_kind"] for name, row in rows.items() if row["error_kind"]}
    assert sorted(kinds.values()) == sorted(samples.bad_frames())
    assert all(name.endswith(f"{kind}.jpg") for name, kind in kinds.items())
    assert all(rows[name]["error"] and not rows[name]["error"].startswith(kind) for name, kind in kinds.items())
    assert all(rows[name]["probability"] is None and rows[name]["label"] is None for name in kinds)
    # A frame that did not decode has no picture signals; one that was read has the hash of its bytes.
    assert all(rows[name][signal] is None for name in kinds for signal in SIGNALS)
    assert [name for name in kinds if rows[name]["content_sha"]] == [
        name for name in kinds if not name.endswith("empty.jpg")]

    # The scores are those of the model directory's featurizer and booster run in this process.
    model, graph = carried(model_dir)
    names = sorted(good)
    expected = in_process(model, graph, [good[name] for name in names])
    np.testing.assert_allclose([rows[name]["probability"] for name in names], expected, rtol=1e-4, atol=1e-6)
    for name in names:
        row = rows[name]
        assert row["error"] is None and row["error_kind"] is None
        assert row["label"] == int(row["probability"] >= 0.5)
        assert row["label_name"] == ("bus", "car")[row["label"]]
        assert row["model_id"] == model.manifest.model_id
        assert row["camera_id"] == name.split("/")[0]
        assert row["captured_at"] == dt.datetime.strptime(name.split("/")[1][:15], "%Y%m%dT%H%M%S")
        assert row["date"] == dt.date(2026, 11, 20)
        assert row["content_sha"] == hashlib.sha256(good[name]).hexdigest()
        assert 0 < row["brightness"] < 1 and row["contrast"] > 0 and row["sharpness"] > 0
        assert row["dark_fraction"] < 0.5 and row["bright_fraction"] < 0.5 and row["phash"] is not None

    summary = json.loads((tmp_path / "scores" / "_summary.json").read_text())
    assert summary["frames_read"] == 11
    assert summary["frames_scored"] == 6
    assert summary["errors"] == {kind: 1 for kind in samples.bad_frames()}
    assert summary["model_id"] == model.manifest.model_id
    assert summary["frames_per_second"] > 0
    assert set(summary["seconds"]) >= {"list", "score_and_write", "total"}


def test_rerunning_the_same_input_replaces_its_rows(spark, s3_server, bucket, model_dir, config, tmp_path):
    put_frames(f"{bucket}/in", good_frames("20261121", 3, seed=200), s3_server.settings)
    args = ["--input", f"{bucket}/in", "--model", model_dir, "--output", str(tmp_path / "out"), "--config", config]

    assert score(args) == 0
    first = spark.read.parquet(str(tmp_path / "out")).collect()
    assert score(args) == 0
    second = spark.read.parquet(str(tmp_path / "out")).collect()

    assert len(first) == len(second) == 3
    assert sorted(row["path"] for row in second) == sorted(row["path"] for row in first)
    assert min(row["scored_at"] for row in second) > max(row["scored_at"] for row in first)


def test_a_run_over_new_frames_of_the_same_day_keeps_earlier_rows(
        spark, s3_server, bucket, model_dir, config, tmp_path):
    put_frames(f"{bucket}/morning", good_frames("20261122", 2, seed=300), s3_server.settings)
    put_frames(f"{bucket}/evening", good_frames("20261122", 3, seed=400), s3_server.settings)
    output = str(tmp_path / "out")

    assert score(["--input", f"{bucket}/morning", "--model", model_dir, "--output", output, "--config", config]) == 0
    assert score(["--input", f"{bucket}/evening", "--model", model_dir, "--output", output, "--config", config]) == 0

    rows = spark.read.parquet(output).collect()
    assert sorted(row["path"].split("/")[3] for row in rows) == ["evening"] * 3 + ["morning"] * 2
    assert {row["date"] for row in rows} == {dt.date(2026, 11, 22)}


@pytest.mark.spark35
def test_local_folders_are_scored_by_workers_that_read_their_files(spark, model_dir, tmp_path):
    frames = tmp_path / "frames"
    put_frames(str(frames), {"gate/a.JPG": samples.frame_jpeg("car", seed=1), "gate/b.jpg": b""}, None)
    output = str(tmp_path / "out")

    assert score(["--input", str(frames), "--model", model_dir, "--output", output, "--batch-size", "1"]) == 0

    rows = {row["path"]: row for row in spark.read.parquet(output).collect()}
    assert set(rows) == {f"file:{frames}/gate/a.JPG", f"file:{frames}/gate/b.jpg"}
    assert rows[f"file:{frames}/gate/a.JPG"]["probability"] is not None
    assert (rows[f"file:{frames}/gate/b.jpg"]["error_kind"], rows[f"file:{frames}/gate/b.jpg"]["error"]) == \
        ("empty", "zero bytes")
    assert {row["camera_id"] for row in rows.values()} == {"gate"}


@pytest.mark.spark35
def test_a_model_scored_with_keras_gets_the_scores_keras_gives_in_this_process(
        spark, model_dir, weights, write_config, tmp_path):
    # The job makes the Keras graph from the manifest's weights (random, seed 0) instead of the carried one.
    frames = good_frames("20261120", 4, seed=300)
    put_frames(str(tmp_path / "frames"), frames, None)
    config = write_config({"featurizer": {"runtime": "keras"}})
    output = str(tmp_path / "scores")

    assert score(["--input", str(tmp_path / "frames"), "--model", model_dir, "--output", output,
                  "--config", config]) == 0

    rows = {row["path"].split("/frames/", 1)[1]: row["probability"] for row in spark.read.parquet(output).collect()}
    names = sorted(frames)
    assert sorted(rows) == names
    model = load_model(model_dir)
    expected = in_process(model, make_graph(weights, layer="avg_pool"), [frames[name] for name in names])
    np.testing.assert_allclose([rows[name] for name in names], expected, rtol=1e-4, atol=1e-6)
    used = json.loads((tmp_path / "scores" / "_summary.json").read_text())["featurizer"]
    assert (used["runtime"], used["weights"]) == ("keras", "none:seed=0")


def test_with_skip_unhealthy_a_black_frame_keeps_its_signals_and_is_left_out_of_the_model(
        spark, model_dir, write_config, tmp_path):
    black = io.BytesIO()
    Image.new("RGB", (640, 480)).save(black, "JPEG")
    put_frames(str(tmp_path / "frames"), {"cam-1/20261125T080000.jpg": black.getvalue(),
                                          "cam-1/20261125T081000.jpg": samples.frame_jpeg("car", seed=5)}, None)
    config = write_config({"score": {"skip_unhealthy": True}})
    output = tmp_path / "scores"

    assert score(["--input", str(tmp_path / "frames"), "--model", model_dir, "--output", str(output),
                  "--config", config]) == 0

    rows = {Path(row["path"]).stem: row for row in spark.read.parquet(str(output)).collect()}
    dark, sound = rows["20261125T080000"], rows["20261125T081000"]
    assert (dark["error_kind"], dark["probability"], dark["dark_fraction"]) == ("blank", None, 1.0)
    assert dark["error"] == "dark picture, not scored (score.skip_unhealthy)"
    assert sound["error_kind"] is None and sound["probability"] is not None
    summary = json.loads((output / "_summary.json").read_text())
    assert (summary["frames_scored"], summary["frames_blank"], summary["errors"]) == (1, 1, {})


@pytest.fixture(scope="module")
def original_model(tmp_path_factory, imagenet_weights_path, original) -> str:
    """The original notebook's booster with the real ImageNet weights, as import-booster makes it (OpenVINO fp32)."""
    directory = str(tmp_path_factory.mktemp("original"))
    import_booster(str(original.booster), directory, layer="predictions", weights=str(imagenet_weights_path))
    return directory


@pytest.fixture(scope="session")
def stand_in_model(imagenet_weights_path, stand_in_booster) -> str:
    """conftest's stand-in booster (1000 features, the original's shape, for plumbing) with the real ImageNet
    weights, as import-booster makes it (OpenVINO fp32). Kept across runs and test processes (read only)."""
    key = sources_digest(Path(__file__), ROOT / "tests" / "conftest.py")  # how it is made
    return str(kept(TEST_MODELS / "stand-in-imagenet-model" / key, lambda folder: import_booster(
        str(stand_in_booster), str(folder), layer="predictions", weights=str(imagenet_weights_path))))


@pytest.fixture(scope="module")
def seed_cars(tmp_path_factory, original) -> str:
    folder = tmp_path_factory.mktemp("seed") / "cctv"
    folder.mkdir()
    for path in original.frames:
        (folder / path.name).write_bytes(path.read_bytes())
    return str(folder.parent)


@pytest.fixture
def drawn_cars(tmp_path) -> str:
    """A folder of two generated frames of cars, as PNG files."""
    folder = tmp_path / "drawn" / "cctv"
    folder.mkdir(parents=True)
    for seed in range(2):
        (folder / f"car_{seed}.png").write_bytes(drawn_png("car", seed=seed))
    return str(folder.parent)


@pytest.fixture(scope="module")
def original_model_int8(tmp_path_factory, imagenet_weights_path, cars_and_trucks, original) -> str:
    """The original booster with an int8 featurizer, quantized on 300 of the CIFAR photos."""
    directory = str(tmp_path_factory.mktemp("original-int8"))
    import_booster(str(original.booster), directory, layer="predictions", weights=str(imagenet_weights_path),
                   precision="int8", calibration=calibration.of_folder(cars_and_trucks, decode=DecodeOptions()))
    return directory


@pytest.mark.parametrize("runtime, precision", [
    ("openvino", "fp32"), ("openvino", "bf16"), ("openvino", "int8"), ("keras", "fp32"), ("keras", "bf16")])
def test_the_original_booster_sees_cars_in_the_seed_frames(
        spark, request, original, seed_cars, write_config, tmp_path, runtime, precision):
    model = request.getfixturevalue("original_model_int8" if precision == "int8" else "original_model")
    config = write_config({"featurizer": {"runtime": runtime, "precision": precision}})
    output = str(tmp_path / "out")

    assert score(["--input", seed_cars, "--model", model, "--output", output, "--config", config]) == 0

    rows = {Path(row["path"]).name: row for row in spark.read.parquet(output).collect()}
    assert sorted(rows) == sorted(path.name for path in original.frames)
    assert all(row["probability"] >= 0.95 and row["label_name"] == "car" for row in rows.values())
    summary = json.loads((Path(output) / "_summary.json").read_text())
    assert (summary["featurizer"]["runtime"], summary["featurizer"]["precision"]) == (runtime, precision)


def test_int8_is_refused_for_a_model_without_an_int8_featurizer(stand_in_model, drawn_cars, write_config, tmp_path,
                                                                capsys):
    config = write_config({"featurizer": {"precision": "int8"}})

    code = score(["--input", drawn_cars, "--model", stand_in_model, "--output", str(tmp_path / "out"),
                  "--config", config])

    assert code == 2
    assert "carries no int8 featurizer" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_other_weights_score_when_allowed(spark, s3_server, bucket, stand_in_model, config, tmp_path):
    put_frames(f"{bucket}/in", good_frames("20261123", 2, seed=500), s3_server.settings)
    output = str(tmp_path / "out")

    code = score(["--input", f"{bucket}/in", "--model", stand_in_model, "--output", output, "--config", config,
                  "--weights", "none", "--allow-weights-mismatch"])

    assert code == 0
    rows = spark.read.parquet(output).collect()
    assert len(rows) == 2
    assert all(row["error"] is None and 0.0 <= row["probability"] <= 1.0 for row in rows)
    assert {row["model_id"] for row in rows} == {load_model(stand_in_model).manifest.model_id}


def test_a_1000_feature_booster_is_refused_with_avg_pool_before_spark_work(
        bucket, stand_in_model, config, tmp_path, capsys):
    code = score(["--input", f"{bucket}/in", "--model", stand_in_model, "--output", str(tmp_path / "out"),
                  "--config", config, "--layer", "avg_pool"])

    assert code == 2
    error = capsys.readouterr().err.strip()
    assert "trained on layer 'predictions' (1000 features) but the config asks for 'avg_pool' (2048 features)" in error
    assert len(error.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_other_weights_than_the_manifest_are_refused_unless_allowed(bucket, stand_in_model, config, tmp_path, capsys):
    code = score(["--input", f"{bucket}/in", "--model", stand_in_model, "--output", str(tmp_path / "out"),
                  "--config", config, "--weights", "none"])

    assert code == 2
    assert re.search(r"trained with weights sha256:\w+ but this run would use none:seed=0 \(from none\); "
                     r"use the model's weights or pass --allow-weights-mismatch", capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


@pytest.mark.keras
def test_a_weights_file_replaced_since_training_is_refused(tmp_path, capsys, drawn_cars, stand_in_booster):
    import keras

    weights_file = tmp_path / "resnet50.weights.h5"
    keras.utils.set_random_seed(1)
    keras.applications.ResNet50(weights=None).save_weights(weights_file)
    model = str(tmp_path / "model")
    import_booster(str(stand_in_booster), model, layer="predictions", weights=str(weights_file), runtime="keras")
    keras.utils.set_random_seed(2)
    keras.applications.ResNet50(weights=None).save_weights(weights_file)

    code = score(["--input", drawn_cars, "--model", model, "--output", str(tmp_path / "out")])

    assert code == 2
    assert re.search(r"trained with weights sha256:\w+ but this run would use sha256:\w+ "
                     r"\(from .*resnet50.weights.h5\)", capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


def test_a_missing_model_stops_the_job_with_one_line(bucket, config, tmp_path, capsys):
    code = score(["--input", f"{bucket}/in", "--model", str(tmp_path / "nowhere"), "--output",
                  str(tmp_path / "out"), "--config", config])

    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("camscore: error: model directory ") and "has no manifest.json" in error
    assert not (tmp_path / "out").exists()


def test_a_missing_flag_is_named(tmp_path, capsys):
    assert score(["--model", str(tmp_path / "model")]) == 2
    assert "--input is required (or score.input in the config file)" in capsys.readouterr().err


def test_help_explains_every_option(capsys):
    assert score(["--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--input", "--model", "--output", "--config", "--master", "--batch-size", "--layer",
                   "--weights", "--allow-weights-mismatch"):
        assert option in text


def test_an_input_unreachable_after_the_retries_exits_1_in_one_line_and_a_missing_bucket_2(
        spark, s3_server, openvino_model_dir, write_config, tmp_path, capsys):
    closed = dataclasses.replace(s3_server.settings, endpoint_url=f"http://127.0.0.1:{samples.free_port()}",
                                 max_attempts=2, connect_timeout=0.5)
    unreachable = write_config({"s3": dataclasses.asdict(closed)}, name="closed.yaml")
    reachable = write_config({"s3": dataclasses.asdict(s3_server.settings)}, name="open.yaml")
    args = ["--model", openvino_model_dir, "--output", str(tmp_path / "out")]

    passing = score(["--input", "s3://frames/in", "--config", unreachable, *args])
    told = [line for line in capsys.readouterr().err.splitlines() if line.startswith("camscore")]
    lasting = score(["--input", "s3://no-such-bucket/in", "--config", reachable, *args])
    told_lasting = [line for line in capsys.readouterr().err.splitlines() if line.startswith("camscore")]

    assert passing == 1 and len(told) == 1
    assert told[0].startswith("camscore: error: cannot list s3://frames/in now: ")
    assert told[0].endswith("(after s3.max_attempts; the next run tries again)")
    assert (lasting, told_lasting) == (2, ["camscore: error: cannot list s3://no-such-bucket/in: "
                                           "s3://no-such-bucket/in: NoSuchBucket"])


@pytest.mark.spark35
def test_a_run_on_an_output_another_run_holds_stops_in_one_line_with_exit_75_and_reads_nothing(
        spark, s3_server, bucket, openvino_model_dir, config, tmp_path, capsys):
    put_frames(f"{bucket}/in", good_frames("20261124", 1, seed=700), s3_server.settings)
    output = str(tmp_path / "out")

    args = ["--input", f"{bucket}/in", "--model", openvino_model_dir, "--output", output, "--config", config]

    with held(output, seconds=300, s3=None) as first:
        code = score(args)
        told = [line for line in capsys.readouterr().err.splitlines() if "camscore" in line]
        code_for_cloud_operators = score([*args, "--held-exit-code", "0"])
        told_cloud = [line for line in capsys.readouterr().err.splitlines() if "camscore" in line]

    held_by = (f"the output is held by {first.describe()}: one run at a time per output; this one stops without "
               "scoring (a scheduler tries again at its next tick)")
    assert (code, told) == (75, [f"camscore: error: {held_by}"])
    assert (code_for_cloud_operators, told_cloud) == (0, [f"camscore: skipped: {held_by} (score.held_exit_code 0)"])
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["_lease.json.lock"]


@pytest.mark.spark35
def test_with_only_new_a_growing_prefix_scores_each_frame_once(spark, s3_server, bucket, model_dir, config, tmp_path):
    frames = good_frames("20261124", 3, seed=600)
    names = sorted(frames)
    output = str(tmp_path / "out")
    args = ["--input", f"{bucket}/in", "--model", model_dir, "--output", output, "--config", config, "--only-new"]
    put_frames(f"{bucket}/in", {name: frames[name] for name in names[:2]}, s3_server.settings)
    assert score(args) == 0
    put_frames(f"{bucket}/in", {names[2]: frames[names[2]]}, s3_server.settings)

    assert score(args) == 0

    paths = [row["path"] for row in spark.read.parquet(output).collect()]
    assert sorted(paths) == sorted(f"{bucket}/in/{name}" for name in names)
    summary = json.loads((tmp_path / "out" / "_summary.json").read_text())
    assert (summary["frames_read"], summary["frames_already_scored"]) == (1, 2)
    assert score([*args, "--run-label", "scheduled__2026-11-24T12:05"]) == 0  # nothing new: a summary all the same
    summary = json.loads((tmp_path / "out" / "_summary.json").read_text())
    assert (summary["frames_read"], summary["frames_already_scored"], summary["run_label"]) == (
        0, 3, "scheduled__2026-11-24T12:05")


def test_an_output_written_before_error_kind_existed_takes_new_runs(spark, model_dir, tmp_path):
    output = tmp_path / "scores"
    older = T.StructType([T.StructField(name, kind) for name, kind in OUTPUT_SCHEMA
                          if name not in ("error_kind", "content_sha", *SIGNALS)])
    day = dt.datetime(2026, 11, 1, 8, 0)
    spark.createDataFrame([("file:/old/cam-1/a.jpg", "cam-1", day, None, None, None, "empty: zero bytes", "m0", day,
                            day.date(), "bolder")], older).write.partitionBy("date", "batch").parquet(str(output))
    put_frames(str(tmp_path / "frames"), {**good_frames("20261124", 2, seed=700), "cam-3/20261124T100000.jpg": b""},
               None)

    code = score(["--input", str(tmp_path / "frames"), "--model", model_dir, "--output", str(output), "--only-new"])

    assert code == 0
    summary = json.loads((output / "_summary.json").read_text())
    assert (summary["frames_scored"], summary["errors"]) == (2, {"empty": 1})
    rows = {Path(row["path"]).name: row for row in spark.read.option("mergeSchema", "true").parquet(str(output))
            .collect()}
    assert (rows["a.jpg"]["error_kind"], rows["a.jpg"]["error"]) == (None, "empty: zero bytes")
    assert (rows["20261124T100000.jpg"]["error_kind"], rows["20261124T100000.jpg"]["error"]) == ("empty", "zero bytes")
