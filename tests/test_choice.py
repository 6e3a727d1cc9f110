import json
import logging
import shutil

from camscore.config import FeaturizerSettings, load_settings
from camscore.policy import TRAINING_RESAMPLE
from camscore.model.choice import chosen
from camscore.model.featurizer import FeaturizerSpec

from conftest import ROOT

TRAINED = FeaturizerSpec(layer="predictions", weights="imagenet", weights_source="imagenet", runtime="openvino",
                         precision="fp32", resample="lanczos")


def test_a_new_model_resizes_with_the_training_default():
    assert chosen(FeaturizerSettings()).resample == TRAINING_RESAMPLE == "bicubic"


def test_the_config_names_the_filter_a_new_model_resizes_with():
    assert chosen(FeaturizerSettings(resample="bilinear")).resample == "bilinear"


def test_a_model_is_scored_with_the_filter_it_was_trained_with(caplog):
    with caplog.at_level(logging.WARNING):
        assert chosen(FeaturizerSettings(), TRAINED).resample == "lanczos"
    assert not caplog.records


def test_a_filter_other_than_the_models_is_used_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        assert chosen(FeaturizerSettings(resample="nearest"), TRAINED).resample == "nearest"
    assert "featurizer.resample nearest differs from the lanczos the model was trained with" in caplog.text


def test_a_manifest_from_before_the_filter_was_recorded_resized_with_nearest():
    recorded = TRAINED.to_dict()
    del recorded["resample"]

    assert FeaturizerSpec.from_dict(recorded).resample == "nearest"


def test_the_shipped_config_leaves_the_filter_to_the_model_and_the_training_default():
    settings = load_settings(ROOT / "conf" / "local.yaml")

    assert chosen(settings.featurizer).resample == TRAINING_RESAMPLE


def test_a_scoring_run_decodes_with_the_filter_its_model_was_trained_with(openvino_model_dir, tmp_path):
    from camscore.stages.score import prepare_score

    model = tmp_path / "model"
    shutil.copytree(openvino_model_dir, model)
    manifest = json.loads((model / "manifest.json").read_text())
    manifest["featurizer"]["resample"] = "lanczos"
    (model / "manifest.json").write_text(json.dumps(manifest))
    settings = load_settings(overrides={"score.input": str(tmp_path), "score.model": str(model),
                                        "score.output": str(tmp_path / "scores")})

    assert prepare_score(settings).decode.resample == "lanczos"
