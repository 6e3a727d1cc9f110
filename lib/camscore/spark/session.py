"""The SparkSession of a camscore job."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
from pathlib import Path
from typing import Iterator, Mapping

from pyspark import SparkContext
from pyspark.errors import PySparkRuntimeError
from pyspark.sql import SparkSession

from camscore.spark import class_archive
from camscore.config import SparkSettings

log = logging.getLogger(__name__)

TASK_FAILURES = 4  # spark.task.maxFailures' default on a cluster
# Defaults every camscore job relies on; spark.conf in the config file overrides them.
_DEFAULTS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    # Spark counts each file as at least this many bytes when packing files into partitions. At the
    # 4 MB default a partition of binaryFile frames holds about 30 of them; at 1 MB about 110,
    # which measured 20% faster end to end (fewer, fuller Arrow batches and tasks).
    "spark.sql.files.openCostInBytes": "1048576",
    # A frame deleted between listing and reading must not fail the job: the scan skips it and the
    # scoring job writes its row with a read error.
    "spark.sql.files.ignoreMissingFiles": "true",
}


# The JVM's optimizing compiler (C2) competes with the Python workers for the cores while a short run
# lasts and its code did not pay back on scoring: measured on 2 cores, C1 alone took a 20-frame run's
# whole process from 10.7 to 8.3 s, and 2,000 frames ran as fast or faster (local files 159-162 frames/s
# against 151-156, binaryFile 133 against 134). C1 alone reserves 48 MB for compiled code, which a long
# session fills (the benchmark's, after 15 minutes of jobs), and then the JVM compiles nothing more: 240 MB,
# C2's default (address space reserved, not memory taken).
_LOCAL_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"
# Warnings and errors only: Spark's default profile announces itself, the log level and the missing native
# Hadoop library on every start, before the job says a word.
_LOCAL_LOG_CONFIG = Path(__file__).with_name("log4j2.properties")
# What the JVM prints on stderr at every start for a module Spark 4 asks for (the Vector API); no flag of
# Java 17 turns it off.
_JVM_START_NOTE = b"WARNING: Using incubator modules"


def spark_session(settings: SparkSettings) -> SparkSession:
    """Gets or creates the session; no master in the settings leaves it to spark-submit.

    A local session whose JVM this process starts compiles with the JVM's quick compiler only
    (_LOCAL_JVM_OPTIONS) and maps Spark's classes from the class archive (camscore.spark.class_archive) when
    there is one for this Java and Spark.
    """
    return _session(settings, with_archive=True)


def _session(settings: SparkSettings, *, with_archive: bool) -> SparkSession:
    conf = {**_DEFAULTS, **settings.conf}
    local_jvm = _starts_local_jvm(settings)
    archive = class_archive.java_options() if local_jvm and with_archive else None
    if local_jvm:
        key = "spark.driver.extraJavaOptions"  # the config's own options come last: theirs win
        conf[key] = " ".join(filter(None, (_LOCAL_JVM_OPTIONS, f"-Dlog4j2.configurationFile={_LOCAL_LOG_CONFIG}",
                                           archive, conf.get(key))))
        # A local JVM serves this machine only: bound to loopback, Spark does not warn that the hostname
        # resolves to it.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName(settings.app_name)
    if settings.master:
        builder = builder.master(tolerant_master(settings.master))
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        with _jvm_stderr_without_start_note() if local_jvm else contextlib.nullcontext():
            spark = builder.getOrCreate()
    except PySparkRuntimeError:
        if not archive:
            raise
        log.warning("the JVM did not start with the class archive; starting it without and removing it")
        spark = _session(settings, with_archive=False)
        class_archive.discard()  # only once the JVM has started without it: the archive was the trouble
        return spark
    spark.sparkContext.setLogLevel("WARN")
    return spark


@contextlib.contextmanager
def _jvm_stderr_without_start_note() -> Iterator[None]:
    """Starts the JVM (in the block) with a stderr that passes everything on to this process's but the
    JVM's start note (_JVM_START_NOTE); the JVM keeps that stderr for its life."""
    sys.stderr.flush()
    reading, writing = os.pipe()
    saved = os.dup(2)
    os.dup2(writing, 2)
    os.close(writing)
    target = os.dup(saved)

    def forward() -> None:
        with os.fdopen(reading, "rb") as lines, os.fdopen(target, "wb", buffering=0) as out:
            for line in lines:
                if not line.startswith(_JVM_START_NOTE):
                    out.write(line)

    threading.Thread(target=forward, name="camscore-jvm-stderr", daemon=True).start()
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _starts_local_jvm(settings: SparkSettings) -> bool:
    """Whether getting the session starts a JVM here for a local master (spark-submit has started its own)."""
    return (settings.master or "").startswith("local") and SparkContext._active_spark_context is None and \
        "PYSPARK_GATEWAY_PORT" not in os.environ


def tolerant_master(master: str) -> str:
    """A local master that retries a failed task as a cluster does (spark.task.maxFailures, 4), where
    Spark's own local mode gives up at the first failure: ``local[2]`` becomes ``local[2,4]``. A
    master that names its failures (``local[2,1]``), or is not local, stays as it is."""
    found = re.fullmatch(r"local(?:\[(\d+|\*)\])?", master)
    return f"local[{found.group(1) or 1},{TASK_FAILURES}]" if found else master


@contextlib.contextmanager
def run_conf(spark: SparkSession, values: Mapping[str, str]) -> Iterator[None]:
    """Sets Spark SQL properties a run needs for the length of the block, then restores the session's own."""
    before = {key: spark.conf.get(key, None) for key in values}
    for key, value in values.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)
