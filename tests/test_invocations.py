"""Bad invocations, as a hostile new user makes them: each stops with exit code 2 and one line naming
what to fix, before Spark starts."""

import json
import subprocess
import sys

from conftest import ROOT

# Runs each invocation in this one process, then says whether any of them started Spark.
RUN_ALL = """
import contextlib, importlib.util, io, json, sys, time
from pyspark import SparkContext
results = []
for job, argv in json.loads(sys.argv[1]):
    spec = importlib.util.spec_from_file_location(job, f"{sys.argv[2]}/jobs/{job}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    err = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stderr(err):
        code = module.main(argv)
    results.append([code, err.getvalue(), round(time.perf_counter() - started, 2)])
print(json.dumps({"results": results, "spark_started": SparkContext._active_spark_context is not None}))
"""


def test_bad_invocations_stop_in_one_line_with_exit_2_before_spark_starts(tmp_path, write_config, stand_in_booster):
    frames = tmp_path / "frames"
    (frames / "cam-1").mkdir(parents=True)
    (frames / "cam-1" / "a.jpg").write_bytes(b"x")
    a_file = tmp_path / "scores.parquet"
    a_file.write_text("not a folder")
    empty_model = tmp_path / "empty-model"
    empty_model.mkdir()
    corrupt = tmp_path / "corrupt-model"
    corrupt.mkdir()
    (corrupt / "manifest.json").write_text("{not json")
    (corrupt / "booster.txt").write_text(stand_in_booster.read_text())
    local = write_config({"spark": {"master": "local[1]"}})
    common = ["--input", str(frames), "--config", local]
    cases = [
        (("score", ["--model", str(empty_model), "--output", str(tmp_path / "out"), "--config", local]),
         "camscore: error: --input is required (or score.input in the config file)"),
        (("score", [*common, "--model", str(tmp_path / "nowhere"), "--output", str(tmp_path / "out")]),
         f"camscore: error: model directory {tmp_path / 'nowhere'} has no manifest.json"),
        (("score", [*common, "--model", str(corrupt), "--output", str(tmp_path / "out")]),
         f"camscore: error: {corrupt / 'manifest.json'} is not a camscore manifest"),
        (("score", [*common, "--model", str(corrupt), "--output", str(a_file)]),
         f"camscore: error: cannot write to {a_file}: {a_file} is a file, not a folder"),
        (("score", [*common, "--model", str(corrupt), "--output", str(tmp_path / "out"), "--batch-size", "0"]),
         "camscore: error: command line: featurizer.batch_size must be a positive integer"),
        (("score", [*common, "--layer", "pool5"]),
         "camscore: error: score: argument --layer: invalid choice: 'pool5'"),
        (("score", [*common, "--config", str(tmp_path / "missing.yaml")]),
         f"camscore: error: cannot read config file {tmp_path / 'missing.yaml'}"),
        (("train", [*common, "--model-out", str(tmp_path / "m"), "--weights", str(tmp_path / "none.h5")]),
         f"camscore: error: weights file not found: {tmp_path / 'none.h5'}"),
        (("train", [*common, "--model-out", str(a_file / "m")]),
         f"camscore: error: cannot write to {a_file / 'm'}: {a_file} is a file, not a folder"),
        (("train", [*common, "--model-out", str(tmp_path / "m"), "--labels", "bus=1,car=1"]),
         "camscore: error: command line: train.labels must name label 0 and label 1 like bus=0,car=1"),
    ]

    printed = subprocess.run(
        [sys.executable, "-c", RUN_ALL, json.dumps([case for case, _ in cases]), str(ROOT)],
        capture_output=True, text=True, check=True).stdout
    outcome = json.loads(printed.splitlines()[-1])

    for (case, expected), (code, err, seconds) in zip(cases, outcome["results"]):
        assert (code, err.count("\n"), err.startswith(expected)) == (2, 1, True), (case, err)
    assert not outcome["spark_started"]
