"""One scoring run at a time per output: a lease object beside the output.

A run takes the lease before it lists any frame and gives it back when it ends; a second run
that finds it held refuses (LeaseHeld). The holder renews it while it runs, so a lease left by a
run that died (SIGKILL, a lost node) is stale once ``minutes`` pass, and the next run takes it over.

Taking the lease is atomic where the store allows: a conditional put (``If-None-Match``, and
``If-Match`` to take over a stale one) on S3, ``O_EXCL`` under a lock on a local disk, and
create-if-absent on other Hadoop filesystems (HDFS), where taking over a stale lease is not atomic.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Protocol

from botocore.exceptions import ClientError
from py4j.protocol import Py4JJavaError

from camscore import storage
from camscore.config import S3Settings
from camscore.errors import CamscoreError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

LEASE_FILE = "_lease.json"


class LeaseHeld(CamscoreError):
    """Another run holds the output: try again later (exit code 75, EX_TEMPFAIL, for schedulers)."""

    exit_code = 75


@dataclass(frozen=True)
class Holder:
    """Who holds a lease, and until when (seconds since the epoch) unless renewed."""

    run: str
    host: str
    pid: int
    since: float
    until: float

    def describe(self) -> str:
        return (f"run {self.run} (pid {self.pid} on {self.host}) since {_clock(self.since)}, "
                f"until {_clock(self.until)} unless renewed")


class _Store(Protocol):
    """One lease object; ``token`` is what a conditional write must match (an ETag, the bytes)."""

    def create(self, data: bytes) -> object | None: ...
    def read(self) -> tuple[bytes, object] | None: ...
    def replace(self, data: bytes, token: object) -> object | None: ...
    def delete(self) -> None: ...


@contextlib.contextmanager
def held(output: str, *, minutes: float, s3: S3Settings | None = None, spark: SparkSession | None = None,
         local: bool = True) -> Iterator[Holder]:
    """Holds the output's lease for the block, renewing it every third of ``minutes``.

    ``output`` is s3:// or s3a:// (the lease goes through boto3 with ``s3``), a local folder when ``local``,
    else a location on ``spark``'s Hadoop filesystems.

    Raises:
        LeaseHeld: another run holds a lease that has not expired.
    """
    store = _store_for(output.rstrip("/") + "/" + LEASE_FILE, s3=s3, spark=spark, local=local)
    holder, token = _take(store, minutes)
    stop = threading.Event()

    def renew() -> None:
        nonlocal token
        while not stop.wait(minutes * 60 / 3):
            renewed = Holder(holder.run, holder.host, holder.pid, holder.since, time.time() + minutes * 60)
            token = store.replace(_encode(renewed), token)
            if token is None:
                log.error("camscore: the lease on %s was taken over by another run; this run may overlap it", output)
                return

    renewer = threading.Thread(target=renew, name="camscore-lease", daemon=True)
    renewer.start()
    try:
        yield holder
    finally:
        stop.set()
        renewer.join()
        found = store.read()
        if found is not None and _decode(found[0]).run == holder.run:
            store.delete()


def _take(store: _Store, minutes: float) -> tuple[Holder, object]:
    now = time.time()
    holder = Holder(uuid.uuid4().hex[:12], socket.gethostname(), os.getpid(), now, now + minutes * 60)
    token = store.create(_encode(holder))
    if token is not None:
        return holder, token
    found = store.read()
    if found is not None:
        current = _decode(found[0])
        if current.until > now:
            raise LeaseHeld(f"the output is held by {current.describe()}: one run at a time per output; "
                            f"this one stops without scoring (a scheduler tries again at its next tick)")
        token = store.replace(_encode(holder), found[1])
        if token is not None:
            log.warning("camscore: took over a stale lease of %s", current.describe())
            return holder, token
    else:
        token = store.create(_encode(holder))  # released meanwhile
        if token is not None:
            return holder, token
    raise LeaseHeld("another run took the output's lease at the same moment; this one stops without scoring")


def _encode(holder: Holder) -> bytes:
    return json.dumps(asdict(holder)).encode()


def _decode(data: bytes) -> Holder:
    try:
        return Holder(**json.loads(data))
    except (ValueError, TypeError):
        return Holder("unknown", "unknown", 0, 0.0, 0.0)  # unreadable: treated as stale


def _clock(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _store_for(uri: str, *, s3: S3Settings | None, spark: SparkSession | None, local: bool) -> _Store:
    if storage.is_s3(uri) or uri.startswith("s3a://"):
        return _S3Store(storage.S3Uri.parse("s3://" + uri.split("://", 1)[1]), s3)
    if local:
        return _LocalStore(Path(uri.removeprefix("file://").removeprefix("file:")))
    return _HadoopStore(uri, spark)


class _S3Store:
    """Conditional puts: S3 (and compatible stores) create or replace the object atomically."""

    def __init__(self, location: storage.S3Uri, settings: S3Settings | None):
        self.location, self.client = location, storage.client(settings)

    def _put(self, data: bytes, **condition) -> object | None:
        try:
            return self.client.put_object(Bucket=self.location.bucket, Key=self.location.key, Body=data,
                                          **condition)["ETag"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
                return None
            raise

    def create(self, data: bytes) -> object | None:
        return self._put(data, IfNoneMatch="*")

    def read(self) -> tuple[bytes, object] | None:
        try:
            found = self.client.get_object(Bucket=self.location.bucket, Key=self.location.key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchKey":
                return None
            raise
        return found["Body"].read(), found["ETag"]

    def replace(self, data: bytes, token: object) -> object | None:
        return self._put(data, IfMatch=token)

    def delete(self) -> None:
        self.client.delete_object(Bucket=self.location.bucket, Key=self.location.key)


class _LocalStore:
    """A file on a local disk, changed only under an exclusive lock of its own."""

    def __init__(self, path: Path):
        self.path = path

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def create(self, data: bytes) -> object | None:
        with self._locked():
            try:
                with open(self.path, "xb") as file:
                    file.write(data)
            except FileExistsError:
                return None
        return data

    def read(self) -> tuple[bytes, object] | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return data, data

    def replace(self, data: bytes, token: object) -> object | None:
        with self._locked():
            if self.read() != (token, token):
                return None
            self.path.write_bytes(data)
        return data

    def delete(self) -> None:
        with self._locked():
            self.path.unlink(missing_ok=True)


class _HadoopStore:
    """Any other Hadoop filesystem: create-if-absent is atomic on HDFS; replacing is delete, then create."""

    def __init__(self, uri: str, spark: SparkSession | None):
        if spark is None:
            raise ValueError(f"a lease on {uri} needs a SparkSession")
        self.path, self.filesystem = storage.hadoop_fs(spark, uri)

    def create(self, data: bytes) -> object | None:
        try:
            stream = self.filesystem.create(self.path, False)
        except Py4JJavaError as exc:
            if "FileAlreadyExistsException" in str(exc):
                return None
            raise
        try:
            stream.write(bytearray(data))
        finally:
            stream.close()
        return data

    def read(self) -> tuple[bytes, object] | None:
        if not self.filesystem.exists(self.path):
            return None
        stream = self.filesystem.open(self.path)
        try:
            data = bytes(stream.readAllBytes())
        finally:
            stream.close()
        return data, data

    def replace(self, data: bytes, token: object) -> object | None:
        found = self.read()
        if found is None or found[0] != token:
            return None
        self.filesystem.delete(self.path, False)
        return self.create(data)

    def delete(self) -> None:
        self.filesystem.delete(self.path, False)
