import os
import subprocess
import sys
from pathlib import Path

import pytest
import pyspark

from camscore.spark import class_archive
from camscore.cli import check_spark_version
from camscore.errors import ConfigError
from camscore.spark.session import tolerant_master

from conftest import ROOT


def test_a_local_master_retries_failed_tasks_as_a_cluster_does():
    assert [tolerant_master(master) for master in ("local", "local[2]", "local[*]", "local[2,1]", "yarn",
                                                   "spark://127.0.0.1:7077")] == [
        "local[1,4]", "local[2,4]", "local[*,4]", "local[2,1]", "yarn", "spark://127.0.0.1:7077"]


def test_the_spark_version_found_must_be_one_camscore_runs_on():
    for supported in ("3.5.0", "3.5.9", "4.0.1", "4.3.0"):
        check_spark_version(supported)
    for unsupported in ("3.4.1", "5.0.0"):
        with pytest.raises(ConfigError, match=rf"^camscore runs on Spark 3.5 and 4.x, not Spark {unsupported}: use a"):
            check_spark_version(unsupported)


def test_a_job_that_runs_spark_without_pyspark_stops_in_one_line(tmp_path):
    (tmp_path / "pyspark.py").write_text("raise ImportError('no pyspark in this environment')")
    job = ROOT / "jobs" / "score.py"

    done = subprocess.run([sys.executable, str(job), "--input", "x"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)})

    assert (done.returncode, done.stderr) == (2, "camscore: error: no pyspark here: submit the job with spark-submit "
                                                 "(the cluster's Spark), or run it locally with ./submit.sh (or pip install "
                                                 "'.[spark]' in camscore's checkout)\n")


def test_a_local_session_starts_its_jvm_with_the_quick_compiler_and_the_class_archive_when_there_is_one(spark):
    arguments = list(spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())

    assert "-XX:TieredStopAtLevel=1" in arguments
    assert "-XX:ReservedCodeCacheSize=240m" in arguments  # a long session must not fill C1's 48 MB
    archive = class_archive.archive_path()
    assert (f"-XX:SharedArchiveFile={archive}" in arguments) == archive.is_file()


@pytest.mark.spark  # starts a Spark session's JVM of its own
def test_a_class_archive_the_jvm_cannot_map_is_removed_and_the_session_starts_without_it(tmp_path):
    archive = class_archive.archive_path()
    if not archive.is_file():
        pytest.skip("no class archive here: ./submit.sh writes it when it installs")
    home = tmp_path / "home"
    broken = home / archive.relative_to(Path.home())
    broken.parent.mkdir(parents=True)
    with archive.open("rb") as whole:
        broken.write_bytes(whole.read(2 ** 20))  # a partial archive: the JVM dies mapping it
    script = ("from camscore.config import SparkSettings; from camscore.spark.session import spark_session; "
              "spark = spark_session(SparkSettings(master='local[1]', app_name='t')); print(spark.version)")

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "HOME": str(home)})  # cwd: where the dying JVM leaves its hs_err log

    assert done.returncode == 0 and done.stdout.strip().endswith(pyspark.__version__)  # the JVM answers
    assert "the JVM did not start with the class archive; starting it without and removing it" in done.stderr
    assert not broken.exists()


@pytest.mark.spark  # starts a Spark session's JVM of its own
def test_a_local_session_starts_without_a_word_on_stderr():
    # Spark's default log profile, its log level notes, the loopback hostname, Hadoop's native library and the
    # JVM's incubator module came before anything a job says.
    script = ("from camscore.config import SparkSettings\n"
              "from camscore.spark.session import spark_session\n"
              "spark = spark_session(SparkSettings(master='local[1]', conf={'spark.ui.enabled': 'false'}))\n"
              "print(spark.range(3).count())\n"
              "spark.stop()\n")

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)

    assert (done.returncode, done.stdout, done.stderr) == (0, "3\n", "")
