"""The scoring service as its own process, and the events and table a test gives it and reads back."""

import dataclasses
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import duckdb

from tools import samples
from tools.samples import free_port
from conftest import ROOT

# The service runs in a process where these cannot be imported: it scores without TensorFlow, Keras or Spark.
NEVER_IMPORTED = ("tensorflow", "keras", "pyspark", "py4j")
_LAUNCH = ("import runpy, sys\n"
           "for name in {blocked!r}: sys.modules[name] = None\n"
           "sys.argv = [{job!r}, '--config', {config!r}]\n"
           "runpy.run_path({job!r}, run_name='__main__')")
REGEX = r"(?P<camera_id>cam-\d+)/(?P<captured_at>\d{8}T\d{6})"



@dataclasses.dataclass
class Running:
    process: subprocess.Popen
    url: str
    output: Path
    log: Path

    def call(self, path: str, body: bytes | None = None, headers: dict | None = None,
             method: str | None = None, timeout: float = 60) -> tuple[int, dict, bytes]:
        request = urllib.request.Request(self.url + path, data=body, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as refused:
            return refused.code, dict(refused.headers), refused.read()

    def post_json(self, path: str, value, headers: dict | None = None) -> tuple[int, object]:
        status, _, body = self.call(path, json.dumps(value).encode(), headers)
        return status, json.loads(body)

    def metric(self, name: str) -> float:
        """The value of a metric, from /metrics: ``name`` as it is printed, its labels included."""
        text = self.call("/metrics")[2].decode()
        return float(text.split(f"\n{name} ", 1)[1].split()[0])

    def peak_memory(self) -> int:
        """The process's peak resident memory so far, in bytes (VmHWM)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(status.split("VmHWM:", 1)[1].split()[0]) * 1024

    def stop(self, signum: int = signal.SIGTERM) -> str:
        self.process.send_signal(signum)
        self.process.wait(timeout=60)
        return self.log.read_text()


def starter(tmp_path: Path, write_config, s3_settings, model: str):
    """start(serve settings, env, wait, source settings) -> Running: the service as its own process, on a free
    port, reading frames from the S3 server and writing rows under tmp_path; ``stop_all`` kills what is left."""
    started = []

    def start(serve: dict | None = None, env: dict | None = None, wait: bool = True,
              source: dict | None = None) -> Running:
        port = free_port()
        output = tmp_path / f"scores-{len(started)}"
        config = write_config({"s3": dataclasses.asdict(s3_settings),
                               "source": {"path_regex": REGEX, **(source or {})},
                               "serve": {"model": model, "output": str(output), "port": port,
                                         **(serve or {})}}, name=f"serve-{len(started)}.yaml")
        log = tmp_path / f"serve-{len(started)}.log"
        launch = _LAUNCH.format(blocked=NEVER_IMPORTED, job=str(ROOT / "jobs" / "serve.py"), config=config)
        process = subprocess.Popen([sys.executable, "-c", launch],
                                   stdout=log.open("w"), stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        running = Running(process, f"http://127.0.0.1:{port}", output, log)
        started.append(running)
        deadline = time.monotonic() + 60
        while wait:
            try:
                if running.call("/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        return running

    def stop_all() -> None:
        for running in started:
            if running.process.poll() is None:
                running.process.kill()
                running.process.wait()

    return start, stop_all


def aws_event(bucket: str, *keys: str) -> dict:
    return {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket.removeprefix("s3://")},
                                                                  "object": {"key": key}}} for key in keys]}


def yandex_event(bucket: str, *keys: str) -> dict:
    return {"messages": [{"event_metadata": {"event_type": "yandex.cloud.events.storage.ObjectCreate"},
                          "details": {"bucket_id": bucket.removeprefix("s3://"), "object_id": key}} for key in keys]}


def rows_of(output: Path) -> list[tuple]:
    return duckdb.sql(f"select path, camera_id, captured_at, date::varchar, probability, label_name, error_kind, "
                      f"model_id from read_parquet('{output}/*/*/*.parquet', hive_partitioning = true) "
                      f"order by path").fetchall()


def storage_put(s3_server, bucket: str, key: str, data: bytes) -> None:
    from camscore import storage

    storage.write_bytes(f"{bucket}/{key}", data, s3=s3_server.settings)


def camera_now(camera: str, *, fault: str | None = None, seed: int = 0, frames: int = 33,
               onset: int = 24) -> list[samples.SampleFrame]:
    """A camera sending now: the first ``frames`` frames of a generated day (samples.camera_day, one a minute, its
    ``fault`` from frame ``onset`` on), keyed ``<camera>/YYYYMMDDTHHMMSS.jpg`` so that the last was captured a
    minute ago."""
    start = dt.datetime(2026, 11, 20, 6)
    drawn = samples.camera_day(camera, day=start.date(), every_minutes=1, fault=fault,
                               onset=(start + dt.timedelta(minutes=onset)).time(), seed=seed, width=320,
                               height=192, stop=(start + dt.timedelta(minutes=frames)).time())
    minute = dt.timedelta(minutes=1)
    first = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0) - len(drawn) * minute
    return [dataclasses.replace(frame, relative_path=f"{camera}/{first + index * minute:%Y%m%dT%H%M%S}.jpg")
            for index, frame in enumerate(drawn)]
