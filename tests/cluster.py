"""A Spark standalone cluster on 127.0.0.1: a master and workers, each its own JVM, started with the
installed pyspark's ``spark-class``, as a data engineer would start one to try a job."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pyspark

from tools.samples import free_port

SPARK_HOME = Path(pyspark.__file__).parent



class StandaloneCluster:
    """Use as a context manager: its JVMs start on entry, ``ready()`` waits for the workers to register,
    ``master_url`` is for spark-submit; every process it started is stopped on exit.

    Workers (and the executors they launch) run with ``env``: the credentials chain of the nodes.
    """

    def __init__(self, root: Path, *, workers: int = 2, cores: int = 1, memory: str = "2g", env: dict | None = None):
        self.root = root
        self.workers, self.cores, self.memory = workers, cores, memory
        self.env = {**(env or os.environ), "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1",
                    "SPARK_LOG_DIR": str(root / "logs"), "SPARK_WORKER_DIR": str(root / "work"),
                    "SPARK_LOCAL_DIRS": str(root / "local")}
        self.port, self.ui_port = free_port(), free_port()
        self.master_url = f"spark://127.0.0.1:{self.port}"
        self._processes: list[subprocess.Popen] = []

    def __enter__(self) -> "StandaloneCluster":
        (self.root / "work").mkdir(parents=True, exist_ok=True)
        (self.root / "local").mkdir(exist_ok=True)
        try:
            self._start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                        "--port", str(self.port), "--webui-port", str(self.ui_port))
            for number in range(self.workers):
                self._start(f"worker-{number}", "org.apache.spark.deploy.worker.Worker", self.master_url,
                            "--host", "127.0.0.1", "--cores", str(self.cores), "--memory", self.memory,
                            "--webui-port", str(free_port()), "--work-dir", str(self.root / "work"))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        for process in reversed(self._processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self._processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        # The executors' copies of the archive, packed and unpacked (hundreds of MB each); the logs stay.
        shutil.rmtree(self.root / "local", ignore_errors=True)
        for unpacked in (self.root / "work").glob("*/*/environment"):
            shutil.rmtree(unpacked, ignore_errors=True)
        for copied in (self.root / "work").glob("*/*/*.tar.gz"):
            copied.unlink()

    def _start(self, name: str, main_class: str, *args: str) -> None:
        log = open(self.root / f"{name}.log", "wb")
        self._processes.append(subprocess.Popen(
            [str(SPARK_HOME / "bin" / "spark-class"), main_class, *args], env=self.env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True))

    def ready(self, *, timeout: float = 60) -> "StandaloneCluster":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=2) as answer:
                    alive = [w for w in json.load(answer)["workers"] if w["state"] == "ALIVE"]
                if len(alive) == self.workers:
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{self.workers} workers did not register with {self.master_url} in {timeout} s; "
                           f"see {self.root}/*.log")

    @property
    def scratch(self) -> Path:
        """Where executors keep their scratch (SPARK_LOCAL_DIRS); point their java.io.tmpdir here too, or an
        executor killed mid-job leaves its copy of the archive in /tmp."""
        return self.root / "local"

    def python_workers(self) -> list[tuple[int, Path, str]]:
        """PySpark worker processes of this cluster's executors running now: pid, working directory (in an
        executor's folder), and the first argument (the interpreter)."""
        work = (self.root / "work").resolve()
        return [worker for worker in _python_workers() if worker[1].is_relative_to(work)]

    def executor_jvms(self) -> list[int]:
        """Process ids of the executor JVMs running now."""
        return [pid for pid, argv in _processes() if "org.apache.spark.executor.CoarseGrainedExecutorBackend" in argv]


def _processes() -> list[tuple[int, list[str]]]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found.append((int(entry.name), (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")))
            except OSError:
                pass
    return found


def _python_workers() -> list[tuple[int, Path, str]]:
    found = []
    for pid, argv in _processes():
        if "pyspark.daemon" in argv or "pyspark.worker" in argv:
            try:
                found.append((pid, Path(os.readlink(f"/proc/{pid}/cwd")), argv[0]))
            except OSError:
                pass
    return found


def mapped_files(pid: int) -> set[str]:
    """The files a process has mapped: its interpreter and the native libraries it loaded."""
    try:
        lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
    except OSError:
        return set()
    return {line.split(None, 5)[5] for line in lines if len(line.split(None, 5)) == 6}


def parent_of(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1])
