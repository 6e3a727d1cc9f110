"""Reads through a fault-injecting proxy (tests/faults.py) in front of the embedded S3 server."""

import dataclasses
import json
import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from camscore.config import SourceSettings
from tools import samples
from tools.processes import parse_stat
from camscore.io.readers.boto3 import fetch_batch

from conftest import as_frame, load_job, put_frames
from faults import FaultProxy


score = load_job("score").main


def objects(bucket: str, count: int) -> dict[str, bytes]:
    return {f"cam-1/{i:03d}.jpg": bytes([i]) * (1000 + i) for i in range(count)}


def through(proxy: FaultProxy, settings, **changes):
    return dataclasses.replace(settings, endpoint_url=proxy.endpoint_url, **changes)


def fetch(uris: list[str], s3) -> pd.DataFrame:
    """What a worker's fetch makes of a batch of listed objects (lengths as listed: small)."""
    return as_frame(fetch_batch(pd.DataFrame({"path": uris, "length": 0}), s3=s3,
                                max_frame_mb=SourceSettings().max_frame_mb))


def test_a_body_reset_mid_read_is_read_again_and_the_retry_counted(s3_server, bucket):
    frames = objects(bucket, 12)
    put_frames(f"{bucket}/in", frames, s3_server.settings)
    broken = {f"/{bucket[5:]}/in/{name}" for name in list(frames)[::3]}

    def plan(method, path, seen):
        return "reset" if method == "GET" and path.split("?")[0] in broken and seen == 0 else None

    with FaultProxy(s3_server.port, plan) as proxy:
        batch = fetch([f"{bucket}/in/{name}" for name in frames], through(proxy, s3_server.settings))

    assert proxy.faults == {"reset": 4}
    assert list(batch["content"]) == list(frames.values())
    assert list(batch["read_error"]) == [None] * 12
    assert list(batch["read_retries"]) == [1, 0, 0] * 4


def test_an_answer_that_stalls_past_the_read_timeout_is_asked_again(s3_server, bucket):
    put_frames(f"{bucket}/in", {"cam-1/a.jpg": b"abc"}, s3_server.settings)

    def plan(method, path, seen):
        return "stall" if method == "GET" and seen == 0 else None

    with FaultProxy(s3_server.port, plan, stall_seconds=3) as proxy:
        batch = fetch([f"{bucket}/in/cam-1/a.jpg"], through(proxy, s3_server.settings, read_timeout=0.5))

    assert (batch["content"][0], batch["read_error"][0], batch["read_retries"][0]) == (b"abc", None, 1)


def test_an_object_that_always_answers_503_is_given_up_within_its_deadline(s3_server, bucket):
    put_frames(f"{bucket}/in", {"cam-1/a.jpg": b"abc", "cam-1/b.jpg": b"def"}, s3_server.settings)

    def plan(method, path, seen):
        return "slowdown" if method == "GET" and path.endswith("/a.jpg") else None

    with FaultProxy(s3_server.port, plan) as proxy:
        started = time.monotonic()
        batch = fetch([f"{bucket}/in/cam-1/a.jpg", f"{bucket}/in/cam-1/b.jpg"],
                      through(proxy, s3_server.settings, frame_deadline=3.0))
        took = time.monotonic() - started

    assert took < 3.0 + 1.0
    assert batch["content"][0] is None and batch["read_error_kind"][0] == "read"
    assert batch["read_error"][0].startswith("deadline: gave up after ")
    assert batch["read_error"][0].endswith("last: SlowDown")
    assert batch["read_retries"][0] == proxy.faults["slowdown"] - 1 > 0
    assert (batch["content"][1], batch["read_error"][1]) == (b"def", None)


def test_max_attempts_counts_the_first_request(s3_server, bucket):
    put_frames(f"{bucket}/in", {"cam-1/a.jpg": b"abc"}, s3_server.settings)

    with FaultProxy(s3_server.port, lambda method, path, seen: "slowdown" if method == "GET" else None) as proxy:
        batch = fetch([f"{bucket}/in/cam-1/a.jpg"], through(proxy, s3_server.settings, max_attempts=3))

    assert proxy.faults == {"slowdown": 3}
    assert batch["read_error"][0] == "gave up after 3 attempts (s3.max_attempts), last: SlowDown"
    assert (batch["read_retries"][0], batch["read_error_kind"][0]) == (2, "read")


def test_attempts_after_a_broken_body_come_out_of_the_same_budget(s3_server, bucket):
    put_frames(f"{bucket}/in", {"cam-1/a.jpg": b"abc" * 1000}, s3_server.settings)

    def plan(method, path, seen):
        return ("reset" if seen == 0 else "slowdown") if method == "GET" else None

    with FaultProxy(s3_server.port, plan) as proxy:
        batch = fetch([f"{bucket}/in/cam-1/a.jpg"], through(proxy, s3_server.settings, max_attempts=4))

    assert proxy.faults == {"reset": 1, "slowdown": 3}
    assert batch["read_error"][0] == "gave up after 3 attempts (s3.max_attempts), last: SlowDown"
    assert batch["read_retries"][0] == 3


def test_a_body_that_trickles_in_is_given_up_at_the_deadline(s3_server, bucket):
    put_frames(f"{bucket}/in", {"cam-1/a.jpg": bytes(4_000)}, s3_server.settings)  # 63 sips of 0.2 s

    with FaultProxy(s3_server.port, lambda method, path, seen: "trickle" if method == "GET" else None) as proxy:
        started = time.monotonic()
        batch = fetch([f"{bucket}/in/cam-1/a.jpg"],
                      through(proxy, s3_server.settings, read_timeout=1.0, frame_deadline=2.0))

    assert time.monotonic() - started < 2.0 + 1.0 + 1.0
    assert batch["read_error"][0] == "deadline: the body was still arriving at s3.frame_deadline"
    assert batch["read_error_kind"][0] == "read"


def test_a_missing_object_is_unreadable_not_worth_reading_again(s3_server, bucket):
    batch = fetch([f"{bucket}/in/cam-1/none.jpg"], s3_server.settings)

    assert batch["read_error"][0].startswith("NoSuchKey")
    assert (batch["read_retries"][0], batch["read_error_kind"][0]) == (0, "unreadable")


@pytest.mark.spark35
def test_scoring_through_resets_loses_no_frame_and_only_new_reads_again_what_gave_up(
        spark, s3_server, bucket, openvino_model_dir, write_config, tmp_path):
    frames = {f"cam-1/20261120T08{i:02d}00.jpg": samples.frame_jpeg(samples.KINDS[i % 2], seed=i) for i in range(20)}
    put_frames(f"{bucket}/in", frames, s3_server.settings)
    paths = [f"/{bucket[5:]}/in/{name}" for name in frames]
    reset, refused = set(paths[::4]), set(paths[1:3])

    def plan(method, path, seen):
        if method != "GET" or path not in reset | refused:
            return None
        return "slowdown" if path in refused else ("reset" if seen == 0 else None)

    output = str(tmp_path / "scores")
    args = ["--input", f"{bucket}/in", "--model", openvino_model_dir, "--output", output, "--only-new"]
    with FaultProxy(s3_server.port, plan) as proxy:
        faulty = write_config({"s3": {**dataclasses.asdict(s3_server.settings), "endpoint_url": proxy.endpoint_url,
                                      "frame_deadline": 8.0}}, name="faulty.yaml")
        assert score([*args, "--config", faulty]) == 0
    first = json.loads((tmp_path / "scores" / "_summary.json").read_text())
    assert proxy.faults["reset"] == 5
    assert (first["frames_scored"], first["errors"]) == (18, {"read": 2})
    assert first["reads"]["read_retries"] == 5 + proxy.faults["slowdown"] - 2

    assert score([*args, "--config", write_config({"s3": dataclasses.asdict(s3_server.settings)})]) == 0
    second = json.loads((tmp_path / "scores" / "_summary.json").read_text())
    assert (second["frames_read"], second["frames_retried"], second["frames_already_scored"]) == (2, 2, 18)
    assert (second["frames_scored"], second["errors"]) == (2, {})

    rows = spark.read.parquet(output).collect()
    assert sorted({row["path"] for row in rows if row["error_kind"] is None}) == sorted(
        f"{bucket}/in/{name}" for name in frames)
    assert sorted(row["path"].split("/in/")[1] for row in rows if row["error_kind"] == "read") == sorted(
        [name for name in frames][1:3])


def python_workers() -> list[int]:
    """This session's PySpark Python workers now running: processes forked by a pyspark.daemon from one, under
    this test process (another test process may run its own Spark beside it)."""
    commands = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            commands[int(stat.parent.name)] = (parse_stat(stat.read_text())[0],
                                               (stat.parent / "cmdline").read_bytes())
        except OSError:
            continue

    def ours(pid: int) -> bool:
        while pid > 1:
            pid = commands.get(pid, (0, b""))[0]
            if pid == os.getpid():
                return True
        return False

    return [pid for pid, (parent, command) in commands.items()
            if b"pyspark.daemon" in command and b"pyspark.daemon" in commands.get(parent, (0, b""))[1] and ours(pid)]


def test_a_python_worker_killed_mid_job_costs_a_retried_task_not_a_frame(spark, openvino_model_dir, tmp_path):
    frames = {f"cam-1/20261120T08{i // 60:02d}{i % 60:02d}.jpg": samples.frame_jpeg(samples.KINDS[i % 2], seed=i)
              for i in range(96)}
    put_frames(str(tmp_path / "in"), frames, None)
    killed = []

    def kill_one_worker_once_it_works() -> None:
        deadline = time.monotonic() + 120
        while not killed and time.monotonic() < deadline:
            workers = python_workers()
            if workers:
                time.sleep(1.0)  # inside its first task
                os.kill(workers[0], signal.SIGKILL)
                killed.append(workers[0])
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one_worker_once_it_works)
    killer.start()
    output = str(tmp_path / "scores")
    code = score(["--input", str(tmp_path / "in"), "--model", openvino_model_dir, "--output", output,
                  "--batch-size", "8"])
    killer.join()

    rows = spark.read.parquet(output).select("path", "error_kind").collect()
    assert code == 0 and killed
    assert sorted(row["path"] for row in rows) == sorted(f"file:{tmp_path}/in/{name}" for name in frames)
    assert [row["error_kind"] for row in rows] == [None] * 96
