"""CPU and memory of this process, the Spark JVM it started and the PySpark workers under it, from /proc."""

from __future__ import annotations

import os
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers narrow)."""
    return len(os.sched_getaffinity(0))


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by this process (``driver``: the driver and any threads it hosts, such
    as an in-process S3 server), by the PySpark Python workers (``workers``), by a local object store it
    started (``store``: SeaweedFS) and by every other process under it (``jvm``: the JVM and its launcher
    script).

    A process's figure includes its ended and reaped children, so a worker that exits moves its CPU
    to the daemon that forked it and the totals only grow.
    """
    processes = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue  # the process ended while we looked
        processes[int(stat.parent.name)] = (*parse_stat(text), command)
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    totals = {"driver": sum(os.times()[:2]), "jvm": 0.0, "workers": 0.0, "store": 0.0}
    pending = list(children.get(os.getpid(), []))
    while pending:
        pid = pending.pop()
        pending += children.get(pid, [])
        _, seconds, command = processes[pid]
        kind = "workers" if is_python_worker(command) else "store" if is_object_store(command) else "jvm"
        totals[kind] += seconds
    return totals


def parse_stat(text: str) -> tuple[int, float]:
    """The parent pid and the CPU seconds (own and reaped children's, user and system) in a
    ``/proc/<pid>/stat`` line."""
    # The command name in parentheses may itself hold spaces and parentheses: split after the last one.
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[1]), sum(int(value) for value in fields[11:15]) / _CLOCK_TICKS


def is_python_worker(command: bytes) -> bool:
    """Whether a ``/proc/<pid>/cmdline`` is a PySpark Python worker (or the daemon that forks them)."""
    return b"pyspark.daemon" in command or b"pyspark.worker" in command


def is_object_store(command: bytes) -> bool:
    """Whether a ``/proc/<pid>/cmdline`` is SeaweedFS's ``weed`` (the local object store)."""
    return Path(command.split(b"\0", 1)[0].decode(errors="replace")).name == "weed"


def python_worker_peak_mib() -> int:
    """The largest peak resident memory (VmHWM) among this machine's PySpark Python workers."""
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if not is_python_worker((status.parent / "cmdline").read_bytes()):
                continue
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) // 1024)
        except OSError:
            continue  # the process ended while we looked
    return max(peaks, default=0)
