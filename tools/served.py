"""The scoring service as ``./submit.sh serve`` runs it, as a process of its own, for the demo and the
benchmark: started with a config file, waited for until ready, stopped with SIGTERM (which writes its rows)."""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import yaml

from camscore.config import Settings

from tools import samples

JOBS = Path(__file__).resolve().parents[1] / "jobs"


@dataclasses.dataclass(frozen=True)
class Served:
    url: str
    process: subprocess.Popen
    ready_seconds: float


@contextlib.contextmanager
def served(settings: Settings, serve: dict[str, Any], *, workdir: Path) -> Iterator[Served]:
    """The service with ``settings``' s3 and source sections and the ``serve`` section given, its config and
    log (``serve.log``) in ``workdir``.

    Raises:
        SystemExit: it ended, or was not ready within two minutes.
    """
    port = samples.free_port()
    config = workdir / "serve.yaml"
    config.write_text(yaml.safe_dump({"s3": dataclasses.asdict(settings.s3),
                                      "source": dataclasses.asdict(settings.source),
                                      "serve": {**serve, "port": port}}, sort_keys=False))
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(JOBS / "serve.py"), "--config", str(config)],
                               stdout=(workdir / "serve.log").open("w"), stderr=subprocess.STDOUT)
    try:
        while True:
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.perf_counter() - started > 120:
                    raise SystemExit(f"camscore: the service did not get ready; see {workdir / 'serve.log'}") \
                        from None
                time.sleep(0.01)
        yield Served(url, process, time.perf_counter() - started)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
