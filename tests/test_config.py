from pathlib import Path

import pytest

from camscore.config import Settings, load_settings
from camscore.errors import ConfigError

CONF = Path(__file__).resolve().parents[1] / "conf"


def test_defaults_hold_without_a_file():
    settings = load_settings()

    assert settings == Settings()
    assert settings.featurizer.batch_size == 64
    assert settings.source.extensions == ("jpg", "jpeg", "png")


def test_the_file_overrides_defaults_and_flags_override_the_file(write_config):
    path = write_config({"featurizer": {"batch_size": 32, "resample": "bilinear"},
                         "score": {"input": "s3://from-file/frames"}})

    settings = load_settings(path, overrides={"featurizer.batch_size": 16, "score.output": "/tmp/out",
                                              "score.model": None})

    assert settings.featurizer.batch_size == 16
    assert settings.featurizer.resample == "bilinear"
    assert settings.score.input == "s3://from-file/frames"
    assert settings.score.output == "/tmp/out"
    assert settings.score.model is None


def test_the_shipped_local_config_loads():
    settings = load_settings(CONF / "local.yaml")

    assert settings.spark.master == "local[2]"
    assert settings.source.path_regex


def test_an_unknown_key_is_named_with_the_allowed_ones(write_config):
    path = write_config({"featurizer": {"batchsize": 32}})

    with pytest.raises(ConfigError, match=r"unknown key featurizer.batchsize .*allowed keys: layer, weights"):
        load_settings(path)


def test_a_value_outside_the_allowed_ones_is_refused_with_them(write_config):
    path = write_config({"featurizer": {"layer": "pool5"}})

    with pytest.raises(ConfigError, match=r"featurizer.layer must be one of avg_pool, predictions; got 'pool5'"):
        load_settings(path)


def test_a_wrong_type_is_refused(write_config):
    path = write_config({"featurizer": {"batch_size": "many"}})

    with pytest.raises(ConfigError, match=r"featurizer.batch_size must be an integer, got 'many'"):
        load_settings(path)


def test_a_non_positive_batch_size_is_refused():
    with pytest.raises(ConfigError, match="featurizer.batch_size must be a positive integer"):
        load_settings(overrides={"featurizer.batch_size": 0})


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file .*nope.yaml"):
        load_settings(tmp_path / "nope.yaml")


def test_a_path_regex_must_name_its_groups(write_config):
    path = write_config({"source": {"path_regex": r"([^/]+)/\d+\.jpg"}})

    with pytest.raises(ConfigError, match="must name groups camera_id and/or captured_at"):
        load_settings(path)


def test_the_shipped_cluster_config_loads():
    settings = load_settings(CONF / "cluster.yaml")

    assert settings.spark.master is None
    assert settings.s3.endpoint_url == "https://storage.yandexcloud.net"
