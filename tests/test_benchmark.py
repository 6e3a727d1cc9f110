import pytest

from camscore.devtools.benchmark import choose_default, cpu_profile, parity


def _results(**settings):
    return {"end_to_end": {name: {"local": local, "parity": {"agreement": agreement}, "cv_auc": auc}
                           for name, (local, agreement, auc) in settings.items()}}


def test_training_defaults_to_the_fastest_openvino_setting_within_0_005_auc_of_keras_fp32():
    results = _results(**{"keras-fp32": (30.0, 1.0, 0.950),
                          "keras-bf16": (60.0, 0.999, 0.951),
                          "openvino-fp32": (45.0, 1.0, 0.950),
                          "openvino-bf16": (90.0, 0.997, 0.9449),
                          "openvino-int8": (150.0, 0.98, 0.9555)})

    assert choose_default(results)["training"] == "openvino-fp32"


def test_a_setting_scores_boosters_trained_on_other_features_when_99_percent_of_labels_agree():
    results = _results(**{"keras-fp32": (30.0, 1.0, 0.950), "openvino-bf16": (90.0, 0.99, 0.95),
                          "openvino-int8": (150.0, 0.9899, 0.95)})

    assert choose_default(results)["other_features"] == ["keras-fp32", "openvino-bf16"]


def test_parity_counts_agreeing_labels_and_the_spread_of_probability_differences():
    reference = {f"f{i}": 0.1 * i for i in range(10)}
    values = {**reference, "f4": 0.52, "f9": 0.85, "only-here": 0.3}

    measured = parity(values, reference)

    assert measured["frames"] == 10
    assert measured["agreement"] == pytest.approx(0.9)
    assert measured["mean_dp"] == pytest.approx((0.12 + 0.05) / 10)
    assert measured["max_dp"] == pytest.approx(0.12)


def test_the_profile_splits_core_time_a_frame_between_processes_and_worker_stages():
    stages = {"setup": 0.2, "fetch": 0.1, "decode": 0.2, "featurize": 1.0, "classify": 0.1}
    before = {"driver": 10.0, "jvm": 20.0, "workers": 5.0}
    after = {"driver": 10.1, "jvm": 20.3, "workers": 6.7}

    profile = cpu_profile(frames=100, worker_seconds=stages, seconds=1.2, before=before, after=after, cores=2)

    assert profile["core_ms_per_frame"] == pytest.approx(
        {"jvm": 3.0, "fetch": 1.0, "decode": 2.0, "featurize": 10.0, "classify": 1.0, "worker_other": 3.0,
         "driver": 1.0, "idle": 3.0})
