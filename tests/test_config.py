import pytest

from camscore.cli import run_job
from camscore.config import Settings, load_settings
from camscore.errors import ConfigError

from conftest import ROOT, load_job

CONF = ROOT / "conf"


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


@pytest.mark.parametrize("platform, endpoint, reader, s3a", [
    ("yandex-data-proc", "https://storage.yandexcloud.net", "auto",
     {"spark.hadoop.fs.s3a.endpoint": "storage.yandexcloud.net", "spark.hadoop.fs.s3a.path.style.access": "true"}),
    ("emr", None, "auto", {}),
    ("dataproc", None, "binaryfile", {}),
])
def test_each_platforms_config_loads_and_leaves_the_master_to_spark_submit(platform, endpoint, reader, s3a):
    settings = load_settings(CONF / f"{platform}.yaml")

    assert settings.spark.master is None
    assert (settings.s3.endpoint_url, settings.source.reader, settings.spark.conf) == (endpoint, reader, s3a)


def test_labels_are_parsed_once_into_names_and_values():
    assert load_settings(overrides={"train.labels": "truck=0, car=1"}).train.labels == {"truck": 0, "car": 1}
    assert load_settings().train.labels == {"bus": 0, "car": 1}
    with pytest.raises(ConfigError, match="train.labels must name label 0 and label 1 like bus=0,car=1"):
        load_settings(overrides={"train.labels": "bus=0,car=0"})


def test_a_job_takes_its_flags_from_the_declared_settings(write_config):
    path = write_config({"featurizer": {"batch_size": 32, "resample": "bilinear"}})
    seen = []

    code = run_job(["--config", path, "--batch-size", "16", "--labels", "truck=0,car=1", "--only-new"], "doc",
                   prog="job", settings=("featurizer.batch_size", "train.labels", "score.only_new"),
                   body=seen.append)

    assert code == 0
    assert (seen[0].featurizer.batch_size, seen[0].featurizer.resample) == (16, "bilinear")
    assert seen[0].train.labels == {"truck": 0, "car": 1}
    assert seen[0].score.only_new is True


def test_a_flag_the_declaration_refuses_ends_the_job_with_one_line_and_exit_2(capsys):
    code = run_job(["--batch-size", "0"], "doc", prog="job", settings=("featurizer.batch_size",), body=print)

    assert code == 2
    assert capsys.readouterr().err == ("camscore: error: command line: featurizer.batch_size "
                                       "must be a positive integer\n")


def test_a_flag_offers_only_the_allowed_values(capsys):
    assert run_job(["--layer", "pool5"], "doc", prog="job", settings=("featurizer.layer",), body=print) == 2
    assert "invalid choice: 'pool5' (choose from 'avg_pool', 'predictions')" in capsys.readouterr().err


def test_a_command_options_are_checked_as_settings_are():
    ImportOptions = load_job("import_booster").ImportOptions  # declared beside its job
    seen = []
    required = ["--booster", "b.txt", "--layer", "avg_pool", "--weights", "none", "--out", "m"]

    assert run_job([*required, "--labels", "truck=0,car=1"], "doc", prog="import", options=ImportOptions,
                   body=lambda _, options: seen.append(options)) == 0
    assert run_job([*required, "--threshold", "1.5"], "doc", prog="import", options=ImportOptions,
                   body=lambda _, options: seen.append(options)) == 2
    assert seen == [ImportOptions(booster="b.txt", layer="avg_pool", weights="none", out="m",
                                  labels={"truck": 0, "car": 1})]
