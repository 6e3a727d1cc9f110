import json
import os
import subprocess
import sys
import threading
import time

import pytest

from camscore import storage
from camscore.errors import LeaseHeld, LeaseLost
from camscore.io import LEASE_FILE, held


def test_a_second_run_on_a_held_output_refuses_naming_the_holder_until_it_is_given_back(tmp_path):
    output = str(tmp_path / "scores")

    with held(output, seconds=300, s3=None) as first:
        with pytest.raises(LeaseHeld, match=rf"held by run {first.run} \(pid {os.getpid()} on .*until .*Z"):
            with held(output, seconds=300, s3=None):
                pass

    with held(output, seconds=300, s3=None):
        assert (tmp_path / "scores" / LEASE_FILE).exists()
    assert not (tmp_path / "scores" / LEASE_FILE).exists()


def test_a_lease_left_by_a_run_that_died_is_taken_over_once_stale(tmp_path, caplog):
    (tmp_path / LEASE_FILE).write_text(json.dumps(
        {"run": "dead", "host": "node-7", "pid": 1, "since": time.time() - 3600, "until": time.time() - 60}))

    with held(str(tmp_path), seconds=300, s3=None) as taken:
        assert json.loads((tmp_path / LEASE_FILE).read_text())["run"] == taken.run

    assert "took over the lease of run dead (pid 1 on node-7)" in caplog.text and "it went stale" in caplog.text


def test_a_live_run_renews_its_lease_so_it_never_goes_stale(tmp_path):
    now = [1_000_000.0]
    renewals = threading.Semaphore(0)

    def pause(stop: threading.Event, interval: float) -> bool:  # time passes only while the renewer waits
        if not stop.is_set():
            now[0] += interval
            renewals.release()
        return stop.wait(0.001)

    with held(str(tmp_path), seconds=60, s3=None, clock=lambda: now[0], pause=pause) as first:
        for _ in range(12):  # two lease times: 12 renewals 10 s apart
            renewals.acquire()
        with pytest.raises(LeaseHeld, match=first.run):
            with held(str(tmp_path), seconds=60, s3=None, clock=lambda: now[0]):
                pass
        assert now[0] >= 1_000_120


def test_on_s3_the_lease_is_a_conditional_put_and_a_stale_one_a_conditional_replace(s3_server, bucket):
    output = f"{bucket}/scores"

    with held(output, seconds=300, s3=s3_server.settings) as first:
        with pytest.raises(LeaseHeld, match=first.run):
            with held(output, seconds=300, s3=s3_server.settings):
                pass
    assert not storage.exists(f"{output}/{LEASE_FILE}", s3=s3_server.settings)

    stale = {"run": "dead", "host": "node-7", "pid": 1, "since": 0, "until": time.time() - 60}
    storage.write_bytes(f"{output}/{LEASE_FILE}", json.dumps(stale).encode(), s3=s3_server.settings)
    with held(output, seconds=300, s3=s3_server.settings) as taken:
        assert json.loads(storage.read_bytes(f"{output}/{LEASE_FILE}", s3=s3_server.settings))["run"] == taken.run


def test_on_a_hadoop_filesystem_the_lease_is_a_file_created_if_absent(spark, tmp_path):
    output = f"file:{tmp_path}/scores"

    with held(output, seconds=300, s3=None, spark=spark) as first:
        with pytest.raises(LeaseHeld, match=first.run):
            with held(output, seconds=300, s3=None, spark=spark):
                pass
    assert not (tmp_path / "scores" / LEASE_FILE).exists()

    (tmp_path / "scores" / LEASE_FILE).write_text(json.dumps(
        {"run": "dead", "host": "node-7", "pid": 1, "since": 0, "until": time.time() - 60}))
    with held(output, seconds=300, s3=None, spark=spark) as taken:
        assert json.loads((tmp_path / "scores" / LEASE_FILE).read_text())["run"] == taken.run


def test_a_lease_whose_holder_was_killed_on_this_host_is_taken_over_at_once(tmp_path, caplog):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom camscore.io.lease import held\n"
         f"with held({str(tmp_path)!r}, seconds=300, s3=None):\n    print('held', flush=True)\n    time.sleep(600)"],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()

    with held(str(tmp_path), seconds=300, s3=None) as taken:  # the dead run's lease had 5 minutes left
        assert json.loads((tmp_path / LEASE_FILE).read_text())["run"] == taken.run

    assert f"(pid {holder.pid} on" in caplog.text and "its process is gone" in caplog.text


def test_a_run_whose_lease_is_taken_over_stops_its_work_and_ends_in_lease_lost(tmp_path):
    lost = threading.Event()

    with pytest.raises(LeaseLost, match="lost the lease on .* and stopped"):
        with held(str(tmp_path), seconds=0.6, s3=None, on_lost=lost.set):
            (tmp_path / LEASE_FILE).write_text(json.dumps(
                {"run": "other", "host": "node-7", "pid": 1, "since": 0, "until": time.time() + 60}))
            assert lost.wait(timeout=10)
