import pytest

from camscore.benchmark import choose_default, cpu_profile


def _results(**settings):
    return {"end_to_end": {name: {"local": local, "max_probability_difference": dp, "cv_auc": auc}
                           for name, (local, dp, auc) in settings.items()}}


def test_the_default_is_the_fastest_setting_that_keeps_parity_with_keras_fp32():
    results = _results(**{"keras-fp32": (30.0, 0.0, 0.890),
                          "openvino-fp32": (45.0, 0.004, 0.8915),
                          "openvino-bf16": (150.0, 0.3, 0.890)})

    assert choose_default(results) == "openvino-fp32"


def test_a_cv_auc_move_of_0_002_or_more_breaks_parity():
    results = _results(**{"keras-fp32": (30.0, 0.0, 0.890), "openvino-fp32": (45.0, 0.0, 0.8925)})

    assert choose_default(results) == "keras-fp32"


def test_the_profile_splits_core_time_a_frame_between_processes_and_worker_stages():
    summary = {"frames_read": 100, "worker_seconds": {"setup": 0.2, "fetch": 0.1, "decode": 0.2, "featurize": 1.0,
                                                       "classify": 0.1}}
    before = {"driver": 10.0, "jvm": 20.0, "workers": 5.0}
    after = {"driver": 10.1, "jvm": 20.3, "workers": 6.7}

    profile = cpu_profile(summary, seconds=1.2, before=before, after=after, cores=2)

    assert profile["core_ms_per_frame"] == pytest.approx(
        {"jvm": 3.0, "fetch": 1.0, "decode": 2.0, "featurize": 10.0, "classify": 1.0, "worker_other": 3.0,
         "driver": 1.0, "idle": 3.0})
