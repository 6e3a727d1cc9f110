"""The scoring job as a data engineer runs it: packed, submitted to a standalone cluster of separate JVMs."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from camscore.assets.packages import CACHE_ROOT
from tools import samples
from tools.object_store import LocalObjectStore

from cluster import SPARK_HOME, StandaloneCluster, mapped_files, parent_of
from conftest import ROOT, kept, put_frames, sources_digest

pytestmark = pytest.mark.cluster
# In the driver and every Python worker: notes the process, and refuses (and notes) any import of TensorFlow,
# Keras or the checkout's tools/, which scoring a model directory never needs (the packed environment has no tools:
# the cluster runs without the tests' PYTHONPATH).
BLOCKER = '''
import os, sys

with open(os.environ["CAMSCORE_TEST_PROCESSES"], "a") as started:
    started.write(f"{os.getpid()}\\n")


class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "tf_keras", "tools"):
            with open(os.environ["CAMSCORE_TEST_IMPORTS"], "a") as tried:
                tried.write(f"{os.getpid()} {name}\\n")
            raise ImportError(f"{name} is blocked by the test")
        return None


sys.meta_path.insert(0, NoTensorFlow())
'''


ARCHIVES = CACHE_ROOT / "test-archives"


def packed() -> Path:
    """The scoring archive ``./submit.sh pack`` builds, compressed at gzip's quickest level (Spark unpacks a
    plain .tar itself, and refuses the venv's links to the nodes' interpreter there); built again only when
    something packed into it changed: setup.py, submit.sh or camscore's sources."""
    def pack(building: Path) -> None:
        done = subprocess.run([str(ROOT / "submit.sh"), "pack", "--out", str(building), "--compress-level", "1"],
                              capture_output=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]

    return kept(ARCHIVES / f"camscore-env-{sources_digest()}.tar.gz", pack)


@pytest.fixture
def planted_store(monkeypatch):
    """A store of its own whose one identity is a planted key: the job must reach it through the standard
    chain (the environment), and the key must appear nowhere."""
    key = ("AKIAPLANTED7EXAMPLE1", "planted/Secret+Key/0123456789abcdefEXAMPLE")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key[1])
    with LocalObjectStore(key=key) as store:
        yield store


def test_a_cluster_scores_every_frame_once_in_the_packed_env_through_a_killed_executor_and_leaks_no_key(
        planted_store, openvino_model_dir, write_config, tmp_path):
    s3_server = planted_store
    bucket = s3_server.create_bucket("cluster")
    distinct = [samples.frame_jpeg(samples.KINDS[i % 2], seed=i) for i in range(8)]
    frames = {f"cam-{i % 3}/20261120T08{i // 60:02d}{i % 60:02d}.jpg": distinct[i % 8] for i in range(78)}
    frames.update({"cam-0/20261120T090000.jpg": b"broken", "cam-1/20261120T090000.jpg": b""})
    put_frames(f"{bucket}/in", frames, s3_server.settings)
    key, secret = s3_server.key
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}  # the archive alone
    (tmp_path / "blocker").mkdir()
    (tmp_path / "blocker" / "sitecustomize.py").write_text(BLOCKER)
    processes, imports = tmp_path / "processes.txt", tmp_path / "imports.txt"
    (tmp_path / "driver").mkdir()
    watched = {"PYTHONPATH": str(tmp_path / "blocker"), "CAMSCORE_TEST_PROCESSES": str(processes),
               "CAMSCORE_TEST_IMPORTS": str(imports)}
    events, output = tmp_path / "events", tmp_path / "scores"
    events.mkdir()
    config = write_config({"s3": dataclasses.asdict(s3_server.settings), "spark": {"conf": {
        "spark.eventLog.enabled": "true", "spark.eventLog.dir": f"file:{events}",
        "spark.eventLog.compress": "false", "spark.eventLog.rolling.enabled": "false"}}})

    with StandaloneCluster(tmp_path / "cluster", workers=2, env=env) as cluster, \
            open(tmp_path / "stdout", "wb") as out, open(tmp_path / "stderr", "wb") as err:
        archive = packed()  # while the cluster's JVMs start
        cluster.ready()
        submit = subprocess.Popen(
            [str(SPARK_HOME / "bin" / "spark-submit"), "--master", cluster.master_url,
             "--archives", f"{archive}#environment",
             "--conf", "spark.pyspark.python=./environment/bin/python",
             "--conf", f"spark.pyspark.driver.python={sys.executable}",
             "--conf", f"spark.local.dir={tmp_path / 'driver'}",
             f"--driver-java-options=-Djava.io.tmpdir={tmp_path / 'driver'}",
             "--conf", f"spark.executor.extraJavaOptions=-Djava.io.tmpdir={cluster.scratch}",
             *[f"--conf=spark.executorEnv.{name}={value}" for name, value in watched.items()],
             str(ROOT / "jobs" / "score.py"), "--input", f"{bucket}/in", "--model", openvino_model_dir,
             "--output", str(output), "--config", config],
            env={**env, **watched}, stdout=out, stderr=err)
        scoring = _first_worker_scoring(cluster, submit, tmp_path / "stderr")
        shipped = {path.name for path in (scoring[1] / "environment/lib/python3.11/site-packages").iterdir()}
        os.kill(_executor_of(scoring[0], cluster.executor_jvms()), signal.SIGKILL)
        submit.wait(timeout=300)
        # The master's, workers' and executors' logs; not the archive, nor its unpacked copies.
        logs = [path for path in (tmp_path / "cluster").rglob("*") if path.is_file()
                and "environment" not in path.parts and not path.name.endswith(".tar.gz")
                and not path.is_relative_to(cluster.scratch)]
    assert cluster.executor_jvms() == []
    stdout, stderr = (tmp_path / "stdout").read_bytes(), (tmp_path / "stderr").read_bytes()

    assert submit.returncode == 0, stderr[-3000:].decode(errors="replace")
    # The executors ran the archive's Python: its interpreter, and OpenVINO loaded from its site-packages.
    pid, cwd, interpreter, openvino = scoring
    assert interpreter == "./environment/bin/python"
    assert openvino and all(path.startswith(str(cwd / "environment") + "/") for path in openvino)
    assert not any(path.startswith(sys.prefix) for path in openvino)
    # Lean: the cluster's Spark, no TensorFlow (the model directory carries its converted featurizer: no weights),
    # and neither the driver nor any worker tried to import it.
    assert {"openvino", "lightgbm", "camscore"} <= shipped and not {"pyspark", "tensorflow", "keras", "tools"} & shipped
    assert not imports.exists(), imports.read_text()
    assert len(set(processes.read_text().split())) >= 3  # the driver, and workers of both executors
    # The executor died with a scoring task on it, and that task ran again elsewhere.
    ended = [json.loads(line) for log in events.iterdir() for line in log.read_text().splitlines()]
    reasons = [event["Task End Reason"]["Reason"] for event in ended if event["Event"] == "SparkListenerTaskEnd"]
    assert "ExecutorLostFailure" in reasons
    rows = duckdb.sql(f"select path, error_kind from read_parquet('{output}/*/*/*.parquet', hive_partitioning = true)"
                      ).fetchall()
    assert sorted(path for path, _ in rows) == sorted(f"{bucket}/in/{name}" for name in frames)
    assert sorted(kind for _, kind in rows if kind) == ["empty", "not_image"]
    written = [path for path in output.rglob("*") if path.is_file()] + list(events.iterdir())
    assert any(path.name == "_summary.json" for path in written)
    for planted in (key, secret):  # nowhere: stdout, stderr, output, summary, event log, cluster and executor logs
        found = [str(path) for path in logs + written if planted.encode() in path.read_bytes()]
        assert (planted.encode() in stdout, planted.encode() in stderr, found) == (False, False, [])


def _first_worker_scoring(cluster: StandaloneCluster, submit: subprocess.Popen, stderr: Path
                          ) -> tuple[int, Path, str, list[str]]:
    """The first Python worker of the cluster seen with OpenVINO loaded (so scoring a task): pid, working
    directory, interpreter, and the OpenVINO files it mapped."""
    deadline = time.monotonic() + 240
    while submit.poll() is None and time.monotonic() < deadline:
        for pid, cwd, interpreter in cluster.python_workers():
            openvino = sorted(path for path in mapped_files(pid) if "/site-packages/openvino/" in path)
            if openvino:
                return pid, cwd, interpreter, openvino
        time.sleep(0.05)
    raise AssertionError(f"no Python worker loaded OpenVINO; the job ended with {submit.poll()}: "
                         f"{stderr.read_bytes()[-3000:].decode(errors='replace')}")


def _executor_of(pid: int, executors: list[int]) -> int:
    while pid > 1:
        if pid in executors:
            return pid
        pid = parent_of(pid)
    raise AssertionError(f"no executor JVM among the ancestors of worker {pid}: {executors}")
