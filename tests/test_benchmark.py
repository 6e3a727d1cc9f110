import numpy as np
import pytest

from tools.benchmark import choose_default, cpu_profile, format_results, parity, signal_share, top1_agreement
from tools.model_quality import format_quality


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
    stages = {"setup": 0.2, "fetch": 0.1, "decode": 0.2, "signals": 0.05, "featurize": 1.0, "classify": 0.1}
    before = {"driver": 10.0, "jvm": 20.0, "workers": 5.0, "store": 1.0}
    after = {"driver": 10.1, "jvm": 20.3, "workers": 6.7, "store": 1.2}

    profile = cpu_profile(frames=100, worker_seconds=stages, seconds=1.2, before=before, after=after, cores=2)

    assert profile["core_ms_per_frame"] == pytest.approx(
        {"jvm": 3.0, "fetch": 1.0, "decode": 2.0, "signals": 0.5, "featurize": 10.0, "classify": 1.0,
         "worker_other": 2.5, "store": 2.0, "driver": 1.0, "idle": 1.0})


def test_a_speed_only_run_gives_each_settings_ratios_to_its_bare_model_from_files_and_the_object_store():
    profile = {"frames": 100, "seconds": 2.0, "core_ms_per_frame": dict.fromkeys(
        ("jvm", "fetch", "decode", "featurize", "classify", "worker_other", "store", "driver", "idle"), 1.0)}
    results = {"n": 100, "cores": 2, "cpu": "a CPU", "repeats": 3, "model": {"openvino-int8": 50.0},
               "end_to_end": {"openvino-int8": {"local": 45.0, "s3": 43.0, "worker_peak_mib": 500,
                                                "profile": {"s3": profile}}}}

    lines = format_results(results).splitlines()

    row = next(line for line in lines if line.startswith("openvino-int8 ") and "nan" in line)
    assert row.split() == ["openvino-int8", "50.0", "45.0", "43.0", "0.90", "0.86", "nan", "500"]
    assert not any(line.startswith("parity") for line in lines)


def test_the_signals_share_is_their_part_of_every_process_cpu_a_frame_took_idle_left_out():
    profile = {"core_ms_per_frame": {"jvm": 1.0, "decode": 2.0, "signals": 0.5, "featurize": 6.5, "idle": 5.0}}

    assert signal_share(profile) == pytest.approx(0.05)


def test_the_table_gives_the_defaults_ratio_to_keras_fp32_and_what_a_small_run_waits_for():
    profile = {"frames": 2000, "seconds": 20.0, "core_ms_per_frame": dict.fromkeys(
        ("jvm", "fetch", "decode", "featurize", "classify", "worker_other", "driver", "idle"), 1.0)}
    measured = {name: {"local": local, "s3": s3, "worker_peak_mib": 500, "cv_auc": 0.95,
                       "profile": {"local": profile}}
                for name, local, s3 in (("keras-fp32", 40.0, 38.0), ("openvino-int8", 150.0, 114.0))}
    results = {"n": 2000, "cores": 2, "cpu": "a CPU", "repeats": 3, "original": 2.0,
               "model": {"keras-fp32": 48.0, "openvino-int8": 216.0}, "end_to_end": measured,
               "default": {"training": "openvino-int8", "other_features": []},
               "small_runs": {"setting": "openvino-int8", "fixed_seconds": 11.5, "ms_per_frame": 9.25, "points": [
                   {"n": 20, "process": 11.7, "start_and_stop": 5.5, "load_model": 0.1, "list": 2.0,
                    "score_and_write": 3.6},
                   {"n": 200, "process": 13.4, "start_and_stop": 5.6, "load_model": 0.1, "list": 2.1,
                    "score_and_write": 5.1}]}}

    lines = format_results(results).splitlines()

    assert "the default (openvino-int8) against keras-fp32: bare model 4.5x, end to end 3.8x from files, " \
           "3.0x from S3" in lines
    at = lines.index(next(line for line in lines if line.startswith("small runs:")))
    assert lines[at] == ("small runs: whole jobs/score.py processes (openvino-int8, local files, warm caches, "
                         "median of 3): fixed 11.5s, 9.25 ms a frame")
    assert lines[at + 2].split() == ["20", "11.70", "5.50", "0.10", "2.00", "3.60"]
    assert lines[at + 3].split() == ["200", "13.40", "5.60", "0.10", "2.10", "5.10"]


def test_top1_agreement_is_also_given_where_fp32_is_confident():
    fp32 = np.array([[0.9, 0.1, 0.0], [0.4, 0.35, 0.25], [0.2, 0.7, 0.1], [0.34, 0.33, 0.33]])
    int8 = np.array([[0.8, 0.2, 0.0], [0.3, 0.45, 0.25], [0.2, 0.7, 0.1], [0.3, 0.4, 0.3]])

    measured = top1_agreement({"fp32": fp32, "int8": int8})

    assert measured == {"frames": 4, "agreement": 0.5, "confident_frames": 2, "confident_agreement": 1.0}


def test_the_quality_table_gives_each_filters_auc_cost_and_seed_frames_and_each_classifier():
    results = {"photos": "photos", "filters": {
        "nearest": {"frames": 1955, "auc": 0.9686, "auc_std": 0.005, "accuracy": 0.913, "ms_photo": 0.34,
                    "ms_cctv": 3.35, "seed_cars": [0.979, 0.973]}},
        "classifiers": {"nearest": {"logistic regression, C 0.01": {"auc": 0.977, "auc_std": 0.002,
                                                                    "accuracy": 0.93}}}}

    lines = format_quality(results).splitlines()

    assert lines[2].split() == ["nearest", "1955", "0.9686", "0.0050", "0.913", "0.34", "3.35", "0.979,", "0.973"]
    assert lines[-1].split()[-3:] == ["0.9770", "0.0020", "0.930"]
