"""One run at a time per output: a lease file beside the output.

A run takes the lease before it lists any frame and gives it back when it ends; a second run that
finds it held refuses (LeaseHeld, exit code 75). The holder renews it every sixth of ``seconds``, so
a lease is stale once it goes unrenewed for ``seconds`` (a minute by default: five missed renewals),
and the next run takes it over. A lease whose holder is provably gone (this host, its process no
longer running, or a new process under the same pid) is taken over at once: a scheduler that tries
again after a SIGKILL does not wait out the minute.

Taking the lease uses the storage layer's two atomic steps: create-if-absent and replace-if-unchanged
(conditional puts on S3, an exclusive lock on a local disk, create-if-absent on HDFS, where taking over
is a delete and a create). An s3a:// output's lease goes through boto3, for its conditional puts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Callable, Iterator

from camscore import storage
from camscore.config import S3Settings
from camscore.errors import LeaseHeld, LeaseLost

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

LEASE_FILE = "_lease.json"
RENEWALS_PER_LEASE = 6


@dataclass(frozen=True)
class Holder:
    """Who holds a lease, and until when (seconds since the epoch) unless renewed.

    Attributes:
        started: the holder process's start time as its host counts it (clock ticks since boot), which
            tells the holder from a later process given the same pid; None where the host does not say.
    """

    run: str
    host: str
    pid: int
    since: float
    until: float
    started: int | None = None

    def describe(self) -> str:
        return (f"run {self.run} (pid {self.pid} on {self.host}) since {_clock(self.since)}, "
                f"until {_clock(self.until)} unless renewed")

    def gone(self) -> bool:
        """Whether the holder is provably not running: on this host, with no process of its pid started
        when it was. A holder on another host is never provably gone: its lease must go stale."""
        if self.host != socket.gethostname() or self.started is None:
            return False
        return process_start(self.pid) != self.started


@contextlib.contextmanager
def held(output: str, *, seconds: float, s3: S3Settings | None, spark: SparkSession | None = None,
         on_lost: Callable[[], None] = lambda: None, clock: Callable[[], float] = time.time,
         pause: Callable[[threading.Event, float], bool] = threading.Event.wait) -> Iterator[Holder]:
    """Holds the output's lease for the block, renewing it every sixth of ``seconds``.

    Args:
        output: the output folder: s3:// or s3a:// (through boto3 with ``s3``), local, or on ``spark``'s
            Hadoop filesystems.
        seconds: how long a lease stays valid unrenewed.
        s3: how boto3 reaches an s3:// or s3a:// output; None for any other.
        spark: the session whose filesystems serve a Hadoop output.
        on_lost: called on the renewer's thread when the lease is lost (taken over, or not renewed in time):
            it should stop the run's work (cancel its Spark jobs); the block then ends in LeaseLost.
        clock: seconds since the epoch; pause: waits on the event for at most that many seconds between
            renewals and tells whether it is set (tests pass their own pair, so time passes without sleeping).

    Raises:
        LeaseHeld: another run holds a lease that is neither stale nor left by a process that is gone.
        LeaseLost: the lease was lost while the block ran.
    """
    uri = storage.join(_through_boto3(output.rstrip("/")), LEASE_FILE)
    store = storage.resolve(uri, s3=s3, spark=spark)
    holder, token = _take(store, uri, seconds, clock)
    stop, lost = threading.Event(), threading.Event()

    def renew() -> None:
        nonlocal token
        renewed_at = clock()
        while not pause(stop, seconds / RENEWALS_PER_LEASE):
            try:
                token = store.replace(uri, _encode(_until(holder, clock() + seconds)), token)
                renewed_at = clock()
                if token is not None:
                    continue
                reason = "another run took it over"
            except OSError as exc:
                if clock() - renewed_at < seconds / 2:
                    log.warning("could not renew the lease on %s (%s); trying again", output, exc)
                    continue
                reason = f"it could not be renewed for {clock() - renewed_at:.0f} s ({exc})"
            log.error("lost the lease on %s: %s; stopping this run", output, reason)
            lost.set()
            on_lost()
            return

    renewer = threading.Thread(target=renew, name="camscore-lease", daemon=True)
    renewer.start()
    try:
        yield holder
    except Exception as exc:
        if lost.is_set():
            raise LeaseLost(_lost_message(output)) from exc
        raise
    finally:
        stop.set()
        renewer.join()
        if not lost.is_set():
            found = store.read_versioned(uri)
            if found is not None and _decode(found[0]).run == holder.run:
                store.delete(uri)
    if lost.is_set():
        raise LeaseLost(_lost_message(output))


def _lost_message(output: str) -> str:
    return (f"this run lost the lease on {output} while it ran (see the log above) and stopped: another run may "
            f"be writing; run again")


def _take(store: storage.Storage, uri: str, seconds: float, clock: Callable[[], float]) -> tuple[Holder, object]:
    now = clock()
    holder = Holder(uuid.uuid4().hex[:12], socket.gethostname(), os.getpid(), now, now + seconds,
                    process_start(os.getpid()))
    token = store.create(uri, _encode(holder))
    if token is not None:
        return holder, token
    found = store.read_versioned(uri)
    if found is not None:
        current = _decode(found[0])
        gone = current.gone()
        if current.until > now and not gone:
            raise LeaseHeld(f"the output is held by {current.describe()}: one run at a time per output; "
                            f"this one stops without scoring (a scheduler tries again at its next tick)")
        token = store.replace(uri, _encode(holder), found[1])
        if token is not None:
            log.warning("took over the lease of %s: %s", current.describe(),
                        "its process is gone" if gone else "it went stale")
            return holder, token
    else:
        token = store.create(uri, _encode(holder))  # released meanwhile
        if token is not None:
            return holder, token
    raise LeaseHeld("another run took the output's lease at the same moment; this one stops without scoring")


def process_start(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (Linux's /proc); None when no such process
    runs or the host does not say."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            stat = file.read()
    except OSError:
        return None
    # The command name in parentheses may hold spaces: fields are counted after its closing parenthesis.
    return int(stat[stat.rindex(b")") + 2:].split()[19])


def _through_boto3(output: str) -> str:
    return "s3://" + output.split("://", 1)[1] if storage.scheme(output) == "s3a" else output


def _until(holder: Holder, until: float) -> Holder:
    return Holder(holder.run, holder.host, holder.pid, holder.since, until, holder.started)


def _encode(holder: Holder) -> bytes:
    return json.dumps(asdict(holder)).encode()


def _decode(data: bytes) -> Holder:
    try:
        return Holder(**json.loads(data))
    except (ValueError, TypeError):
        return Holder("unknown", "unknown", 0, 0.0, 0.0)  # unreadable: treated as stale


def _clock(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
