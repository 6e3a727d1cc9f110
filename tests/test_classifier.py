import hashlib
import json
import logging
import subprocess
import sys

import numpy as np
import pytest

from camscore import storage
from camscore.model.classifier import Classifier, LightGBMLog
from camscore.errors import ConfigError, ModelError
from camscore.model.featurizer import FeaturizerSpec
from camscore.model.model_dir import import_booster, load_model, make_manifest, save_model



def test_a_1000_feature_booster_is_imported_for_the_predictions_layer(tmp_path, stand_in_booster):
    manifest = import_booster(str(stand_in_booster), str(tmp_path / "original"), layer="predictions",
                              weights="imagenet", runtime="keras")

    model = load_model(str(tmp_path / "original"))
    assert model.manifest == manifest
    assert manifest.feature_count == 1000
    assert manifest.featurizer.layer == "predictions"
    assert manifest.featurizer.weights == "imagenet"
    assert manifest.label_names == ("bus", "car")
    assert manifest.threshold == 0.5
    assert manifest.model_id.startswith("predictions-")
    assert "lightgbm" in manifest.libraries
    assert (manifest.featurizer.runtime, manifest.featurizer.precision, manifest.featurizer.graph) == \
        ("keras", "fp32", "")
    assert manifest.featurizer.resample == "nearest"  # the original notebook's Keras load_img
    written = json.loads((tmp_path / "original" / "manifest.json").read_text())
    assert written["featurizer"]["feature_size"] == 1000


def test_an_openvino_import_carries_the_converted_featurizer(tmp_path, imagenet_weights_path, stand_in_booster):
    manifest = import_booster(str(stand_in_booster), str(tmp_path / "m"), layer="predictions",
                              weights=str(imagenet_weights_path))

    model = load_model(str(tmp_path / "m"))
    assert (manifest.featurizer.runtime, manifest.featurizer.precision) == ("openvino", "fp32")
    assert manifest.featurizer.weights == "sha256:" + hashlib.sha256(imagenet_weights_path.read_bytes()).hexdigest()
    assert manifest.featurizer.graph.startswith("sha256:")
    assert model.openvino.identity == manifest.featurizer.graph
    assert sorted(path.name for path in (tmp_path / "m").iterdir()) == [
        "booster.txt", "featurizer.bin", "featurizer.xml", "manifest.json"]


def test_a_featurizer_that_is_not_the_manifests_is_refused(tmp_path, imagenet_weights_path, stand_in_booster):
    import_booster(str(stand_in_booster), str(tmp_path / "m"), layer="predictions", weights=str(imagenet_weights_path))
    with open(tmp_path / "m" / "featurizer.bin", "r+b") as weights:
        weights.seek(4096)
        weights.write(b"\x00\x01\x02\x03")

    with pytest.raises(ModelError, match=r"featurizer.xml and featurizer.bin are sha256:\w+, but the manifest records"):
        load_model(str(tmp_path / "m"))


def test_a_1000_feature_booster_is_refused_for_avg_pool_naming_both_sizes(tmp_path, stand_in_booster):
    with pytest.raises(ModelError, match=r"expects 1000 features but featurizer layer 'avg_pool' gives 2048"):
        import_booster(str(stand_in_booster), str(tmp_path / "refused"), layer="avg_pool", weights="imagenet")

    assert not (tmp_path / "refused").exists()


def test_the_original_booster_gives_probabilities(original):
    # The original's file, written by an older LightGBM, is read by this one.
    classifier = Classifier(original.booster.read_text(), threshold=0.5)
    features = np.random.default_rng(0).dirichlet(np.ones(1000), size=4)

    probabilities = classifier.probabilities(features)

    assert probabilities.shape == (4,)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    assert list(classifier.labels(np.array([0.2, 0.5, 0.9]))) == [0, 1, 1]


def test_a_directory_without_a_booster_says_what_a_model_directory_holds(tmp_path):
    with pytest.raises(ModelError, match="has no manifest.json; a model directory holds booster.txt and manifest"):
        load_model(str(tmp_path))


def test_a_booster_that_disagrees_with_its_manifest_is_refused(tmp_path, stand_in_booster):
    spec = FeaturizerSpec(layer="predictions", weights="imagenet", weights_source="imagenet")
    booster = stand_in_booster.read_text()
    manifest = make_manifest(booster, featurizer=spec)
    save_model(str(tmp_path), booster, manifest)
    edited = json.loads((tmp_path / "manifest.json").read_text())
    edited["featurizer"]["layer"] = "avg_pool"
    edited["feature_count"] = 1000
    (tmp_path / "manifest.json").write_text(json.dumps(edited))

    with pytest.raises(ModelError, match="expects 1000 features but featurizer layer 'avg_pool' gives 2048"):
        load_model(str(tmp_path))


def test_a_file_that_is_not_a_booster_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")

    with pytest.raises(ModelError, match="is not a LightGBM text model"):
        import_booster(str(path), str(tmp_path / "out"), layer="predictions", weights="imagenet", runtime="keras")


def test_a_model_directory_round_trips_through_s3(s3_server, bucket, stand_in_booster):
    uri = f"{bucket}/models/original"
    import_booster(str(stand_in_booster), uri, layer="predictions", weights="imagenet", runtime="keras",
                   files=storage.StorageFiles(s3_server.settings))

    model = load_model(uri, files=storage.StorageFiles(s3_server.settings))

    assert model.manifest.feature_count == 1000
    assert model.booster_text == stand_in_booster.read_text()


def test_a_manifest_with_one_label_name_is_refused(tmp_path, stand_in_booster):
    import_booster(str(stand_in_booster), str(tmp_path), layer="predictions", weights="imagenet", runtime="keras")
    edited = json.loads((tmp_path / "manifest.json").read_text())
    edited["label_names"] = ["car"]
    (tmp_path / "manifest.json").write_text(json.dumps(edited))

    with pytest.raises(ModelError, match=r"label_names must be two different names .*got \['car'\]"):
        load_model(str(tmp_path))


def test_a_model_directory_on_another_filesystem_is_refused_with_what_works():
    with pytest.raises(ConfigError, match=r"local paths or s3:// URIs; got 'hdfs://nn/models/a/manifest.json'"):
        load_model("hdfs://nn/models/a")


def test_a_file_uri_is_a_local_path(tmp_path, stand_in_booster):
    import_booster(str(stand_in_booster), f"file://{tmp_path}/m", layer="predictions", weights="imagenet",
                   runtime="keras")

    assert load_model(str(tmp_path / "m")).manifest.feature_count == 1000


def test_writing_to_a_missing_bucket_is_refused_up_front(s3_server):


    with pytest.raises(ConfigError, match="cannot write to s3://no-such-bucket/m: bucket 'no-such-bucket'"):
        storage.check_writable("s3://no-such-bucket/m", s3=s3_server.settings)


def test_lightgbm_notes_on_an_older_booster_file_become_one_info_line_and_other_warnings_stay_warnings(caplog):
    routed = LightGBMLog()
    caplog.set_level(logging.DEBUG, logger="camscore")

    for name in ("max_conflict_rate", "sparse_threshold", "max_conflict_rate"):
        routed.info(f"[LightGBM] [Warning] Ignoring unrecognized parameter '{name}' found in model string.")
    routed.info("[LightGBM] [Warning] Something else")

    above_debug = [(record.levelname, record.getMessage()) for record in caplog.records if record.levelno > logging.DEBUG]
    assert above_debug == [
        ("INFO", "LightGBM ignores parameters of an older version in the booster file "
                 "(first: max_conflict_rate); no effect on predictions"),
        ("WARNING", "[LightGBM] [Warning] Something else")]
    assert routed.ignored == {"max_conflict_rate", "sparse_threshold"}


def test_scoring_imports_no_scikit_learn_even_where_it_is_installed():
    # lightgbm would import it for its estimators, which scoring does not use: 0.8 s of every worker's start.
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, camscore.stages.score, camscore.stages.batches; print('sklearn' in sys.modules)"],
        capture_output=True, text=True, check=True).stdout.strip()

    assert imported == "False"


def test_the_service_starts_without_importing_pandas_or_scikit_learn_where_they_are_installed():
    # lightgbm would import both; the service passes it numpy arrays only: 0.3 s of each cold start.
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, camscore.service.app, camscore.service.scoring\n"
                               "print(*[name for name in ('pandas', 'sklearn') if name in sys.modules])"],
        capture_output=True, text=True, check=True).stdout.strip()

    assert imported == ""


def test_a_booster_read_on_another_thread_logs_lightgbms_messages_and_prints_none(stand_in_booster):
    script = (f"import logging, threading\nlogging.basicConfig(level=logging.INFO, format='LOG %(message)s')\n"
              f"from camscore.model.classifier import Classifier\n"
              f"reading = threading.Thread(target=Classifier, args=(open({str(stand_in_booster)!r}).read(),))\n"
              f"reading.start(); reading.join()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    assert done.stdout == ""
    assert "LOG LightGBM ignores parameters of an older version in the booster file" in done.stderr
