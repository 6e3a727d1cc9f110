import os
import subprocess
import sys

from tools.processes import cpu_seconds, is_object_store, is_python_worker, parse_stat

TICKS = os.sysconf("SC_CLK_TCK")


def test_a_stat_line_gives_the_parent_and_cpu_including_reaped_children():
    fields = ["S", "41"] + ["0"] * 9 + [str(3 * TICKS), str(TICKS), str(2 * TICKS), str(TICKS)] + ["0"] * 5
    line = "42 (python -m (odd) name) " + " ".join(fields)

    assert parse_stat(line) == (41, 7.0)


def test_pyspark_workers_are_told_from_the_jvm_by_their_command_line():
    assert is_python_worker(b"/venv/bin/python\0-m\0pyspark.daemon\0pyspark.worker\0")
    assert not is_python_worker(b"/usr/bin/java\0-cp\0/venv/lib/pyspark/jars/*\0org.apache.spark.deploy.SparkSubmit\0")


def test_the_local_object_store_is_told_by_its_binary_not_by_its_arguments():
    assert is_object_store(b"/venv/bin/weed\0mini\0-dir=/tmp/camscore-seaweedfs-1/data\0")
    assert not is_object_store(b"/usr/bin/java\0-Dweed=1\0org.apache.spark.deploy.SparkSubmit\0")
    assert not is_object_store(b"/venv/bin/python\0-m\0weed\0")


def test_cpu_seconds_counts_a_child_worker_process():
    burn = ("import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass\n"
            "print('burnt', flush=True)\ntime.sleep(30)")
    before = cpu_seconds()
    child = subprocess.Popen([sys.executable, "-c", burn, "pyspark.daemon"], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "burnt\n"
        after = cpu_seconds()
    finally:
        child.kill()
        child.wait()

    assert after["workers"] - before["workers"] >= 0.45
