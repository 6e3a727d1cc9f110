"""A class-data archive for the Spark driver JVM a local run starts: the JVM maps the classes Spark loads
as it starts from one file instead of finding, reading and verifying each (Java's AppCDS), so Spark starts
and runs its first job sooner (docs/BENCHMARKS.md). The archive belongs to one Java and one Spark:
``python -m camscore.spark.class_archive`` writes it under ~/.cache/camscore/jvm (./submit.sh does when it
installs); a run that finds none starts Spark as usual, and one whose JVM will not start with it starts again
without it and removes it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

from camscore.cache import CACHE_ROOT

FOLDER = CACHE_ROOT / "jvm"
# The JVM's notes on the archive (classes it skips as it writes, an archive of another build) stay unprinted.
_QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"


def archive_path() -> Path | None:
    """Where the archive of this Java and this Spark lies (whether or not it is there yet); None when no
    Java is found."""
    java = _java()
    if java is None:
        return None
    import pyspark

    spark_home = os.environ.get("SPARK_HOME") or os.path.dirname(pyspark.__file__)
    status = os.stat(java)
    identity = f"{os.path.realpath(java)}:{status.st_size}:{status.st_mtime_ns}:{os.path.realpath(spark_home)}:" \
               f"{pyspark.__version__}"
    return FOLDER / f"spark-{pyspark.__version__}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}.jsa"


def java_options() -> str | None:
    """The driver JVM's options that use the archive, when there is one for this Java and Spark."""
    path = archive_path()
    return f"-XX:SharedArchiveFile={path} {_QUIET}" if path is not None and path.is_file() else None


def discard() -> None:
    """Removes the archive of this Java and Spark (a JVM did not start with it)."""
    path = archive_path()
    if path is not None:
        path.unlink(missing_ok=True)


def build(master: str = "local[2]") -> Path | None:
    """Writes the archive for this Java and Spark unless it is there; returns it (None: no Java).

    A JVM writes it as it exits, with the classes a small scoring-like workload loaded: a binaryFile
    listing, a pandas UDF over a DataFrame made from Python rows, a partitioned Parquet write and read.
    It is moved into place only once that JVM has exited cleanly, so a run never maps a partial archive.
    """
    target = archive_path()
    if target is None or target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workload's pandas UDF runs in this Python
    spark = (SparkSession.builder.master(master).appName("camscore-class-archive")
             .config("spark.driver.extraJavaOptions", f"-XX:ArchiveClassesAtExit={partial} {_QUIET}")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    process = spark.sparkContext._gateway.proc
    try:
        _workload(spark)
    finally:
        spark.stop()
        process.stdin.close()  # the gateway JVM exits at the end of its input, and writes the archive then
        exited = process.wait(timeout=600)
    if exited != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"the JVM that was to write {target} exited with {exited}")
    os.replace(partial, target)
    return target


def _workload(spark) -> None:
    folder = Path(tempfile.mkdtemp(prefix="camscore-class-archive-"))
    try:
        (folder / "in").mkdir()
        for name in ("a.jpg", "b.jpg"):
            (folder / "in" / name).write_bytes(b"frame")
        spark.read.format("binaryFile").load(str(folder / "in")).select("path", "length").collect()
        rows = spark.createDataFrame(spark.sparkContext.parallelize([("a", 1), ("b", 2)], 2), "name string, n long")
        rows.mapInPandas(lambda batches: batches, rows.schema).write.partitionBy("n").parquet(str(folder / "out"))
        spark.read.parquet(str(folder / "out")).groupBy("n").count().collect()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _java() -> str | None:
    """The java spark-submit runs: JAVA_HOME's, else the first on the PATH."""
    home = os.environ.get("JAVA_HOME")
    return os.path.join(home, "bin", "java") if home else shutil.which("java")


if __name__ == "__main__":
    written = build()
    print(f"camscore: class archive {written or 'not written: no java found'}", file=sys.stderr)
