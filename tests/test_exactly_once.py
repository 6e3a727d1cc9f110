"""Every frame uploaded has exactly one row once the backstop run and the day's compaction are done, whatever
the trigger did: events lost, delivered twice or late, a service SIGKILLed with rows unwritten, events
arriving while a batch run holds the output and while the day is being compacted."""

import dataclasses
import signal
import threading
import time

import duckdb
import pytest

from tools import samples
from camscore.io import held
from conftest import load_job
from service import aws_event, rows_of, storage_put, yandex_event

score = load_job("score").main
compact = load_job("compact").main


def rows_by_path(output) -> dict[str, list[tuple]]:
    found: dict[str, list[tuple]] = {}
    for row in rows_of(output):
        found.setdefault(row[0], []).append(row)
    return found


def written(service) -> None:
    """Waits until the service has no row left unwritten."""
    deadline = time.monotonic() + 30
    while service.metric("camscore_rows_buffered") > 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_lost_doubled_and_late_events_a_killed_service_and_a_held_output_end_in_one_row_per_frame(
        spark, s3_server, bucket, start_service, openvino_model_dir, write_config):
    keys = [f"in/cam-{n % 3 + 1}/20261120T08{n:02d}00.jpg" for n in range(20)]
    for n, key in enumerate(keys[:12]):
        storage_put(s3_server, bucket, key, samples.frame_jpeg(samples.KINDS[n % 2], seed=n))
    service = start_service({"flush_rows": 1})
    output = str(service.output)
    config = write_config({"s3": dataclasses.asdict(s3_server.settings), "source": {"path_regex": r"(?P<camera_id>cam-\d+)/"
                                                                           r"(?P<captured_at>\d{8}T\d{6})"}})
    backstop = ["--input", f"{bucket}/in", "--model", openvino_model_dir, "--output", output, "--config", config,
                "--only-new"]

    assert service.post_json("/", aws_event(bucket, *keys[0:4]))[0] == 200
    for _ in range(2):  # delivered twice
        assert service.post_json("/", yandex_event(bucket, *keys[4:6]))[0] == 200
    # keys 6-8: their events are lost
    with held(output, seconds=300, s3=None):  # a batch run holds the output meanwhile
        assert service.post_json("/", aws_event(bucket, keys[9]))[0] == 200
        written(service)
    for n, key in enumerate(keys[14:], start=14):
        storage_put(s3_server, bucket, key, samples.frame_jpeg("bus", seed=n))
    compacting = threading.Thread(target=compact, args=(["--output", output, "--date", "2026-11-20",
                                                          "--config", config],))
    compacting.start()
    during = 0
    for key in keys[14:]:  # events arrive while the day is compacted
        assert service.post_json("/", aws_event(bucket, key))[0] == 200
        written(service)
        during += compacting.is_alive()
    compacting.join()
    assert during > 0
    assert score(backstop) == 0  # scores 6-8, and 10-11 whose events come late
    late = service.post_json("/", aws_event(bucket, *keys[10:12]))[1]
    written(service)
    # A second instance takes two new frames and is killed before it writes their rows.
    for n in (12, 13):
        storage_put(s3_server, bucket, keys[n], samples.frame_jpeg("car", seed=n))
    killed = start_service({"flush_seconds": 3600})
    assert killed.post_json("/", aws_event(bucket, *keys[12:14]))[0] == 200
    killed.stop(signal.SIGKILL)
    assert score(backstop) == 0
    before = rows_by_path(output)
    service.stop(signal.SIGTERM)

    assert service.process.returncode == 0
    paths = [f"{bucket}/{key}" for key in keys]
    assert sorted(before) == sorted(paths)
    # The late frames were scored twice, by the batch job and the service, alike.
    for answer in late:
        batch, served = sorted(before[answer["path"]], key=lambda row: row[-1] is None)[:2]
        assert batch[4] == pytest.approx(served[4], rel=1e-5) == answer["probability"]
    assert compact(["--output", output, "--date", "2026-11-20", "--config", config]) == 0
    after = rows_by_path(output)
    assert {path: len(rows) for path, rows in after.items()} == {path: 1 for path in paths}
    assert {rows[0][7] for rows in after.values()} == {late[0]["model"]}
    assert duckdb.sql(f"select count(*) from read_parquet('{output}/*/*/*.parquet')").fetchall() == [(20,)]
