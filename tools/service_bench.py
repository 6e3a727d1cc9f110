"""The service's figures against the batch job's, in one run on the same cores, frames and model.

The original notebook's booster imported over Keras' ImageNet weights (OpenVINO fp32, the model directory
carrying its featurizer: import-booster's default), the original's 960x576 CCTV frame (both from the folder
CAMSCORE_ORIGINAL names) as a JPEG under many keys
in the local object store (SeaweedFS). (1) The scoring job over all of them: frames/s and the CPU its JVM and Python
workers spent a frame. (2) The service as its own process: start to ready, then wrk (Debian's HTTP load
generator) at concurrency 1 for latency (p50, p99) posting the frame to /score and posting an event that
names one frame, and at concurrency 4 and 8 for frames/s; each event names a frame no earlier event named.
(3) The probabilities both gave the same frames.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

from camscore import storage
from camscore.assets.imagenet_weights import imagenet_weights_file
from camscore.assets.original import require_original
from camscore.config import ScoreSettings, Settings, SourceSettings, SparkSettings
from camscore.model.model_dir import import_booster
from camscore.spark.session import spark_session
from camscore.stages.score import prepare_score, run_score

from tools import samples
from tools.object_store import LocalObjectStore
from tools.processes import cpu_seconds, parse_stat, usable_cores
from tools.served import served

PATH_REGEX = r"(?P<camera_id>cam-\d+)/(?P<captured_at>\d{8}T\d{6})"
_POST_FRAME = """wrk.method = "POST"
wrk.headers["Content-Type"] = "image/jpeg"
local file = io.open("{frame}", "rb"); wrk.body = file:read("*a"); file:close()
"""
_POST_EVENTS = """local bodies = {{}}
for line in io.lines("{events}") do bodies[#bodies + 1] = line end
local sent = 0
request = function()
  sent = sent + 1
  return wrk.format("POST", "/", {{["Content-Type"] = "application/json"}}, bodies[(sent - 1) % #bodies + 1])
end
"""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServiceBenchOptions:
    """What to measure.

    Attributes:
        frames: frames in the object store (each event names one no earlier event named).
        seconds: each wrk run.
        workdir: where the model, the frame and the outputs go.
        master: Spark master of the batch job.
        booster: the original notebook's booster; None: the one in the folder CAMSCORE_ORIGINAL names.
        frame: the frame posted and stored; None: the original's 960x576 CCTV frame in that folder.
    """

    frames: int = 1600
    seconds: float = 10.0
    workdir: Path = Path("out/bench-service")
    master: str = "local[2]"
    booster: Path | None = None
    frame: Path | None = None


def run_service_bench(options: ServiceBenchOptions, *, report: Callable[[str], None] = print) -> dict[str, Any]:
    """Measures the batch job, then the service; returns the figures (also written as service.json).

    Raises:
        ConfigError: the booster or the frame is None and CAMSCORE_ORIGINAL names no folder holding the
            original notebook's files.
    """
    if options.booster is None or options.frame is None:
        original = require_original()
        options = dataclasses.replace(options, booster=options.booster or original.booster,
                                      frame=options.frame or original.frames[0])
    if shutil.which("wrk") is None:
        raise SystemExit("camscore: the service benchmark needs wrk (Debian: apt-get install wrk)")
    workdir = options.workdir
    shutil.rmtree(workdir / "scores", ignore_errors=True)
    model_dir = _model(workdir / "model", options.booster)
    jpeg = _jpeg(options.frame, workdir / "frame.jpg")
    results: dict[str, Any] = {"cores": usable_cores(), "frames": options.frames, "seconds": options.seconds,
                               "frame_bytes": len(jpeg)}
    with LocalObjectStore() as server:
        bucket = server.create_bucket("bench")
        keys = [f"frames/cam-{n % 8:02d}/20261120T{n // 3600 % 24:02d}{n // 60 % 60:02d}{n % 60:02d}.jpg"
                for n in range(options.frames)]
        for key in keys:
            storage.write_bytes(f"{bucket}/{key}", jpeg, s3=server.settings)
        settings = Settings(spark=SparkSettings(master=options.master, app_name="camscore-bench-service"),
                            s3=server.settings, source=SourceSettings(path_regex=PATH_REGEX))
        results["batch"] = _batch(settings, f"{bucket}/frames", model_dir, workdir / "scores" / "batch")
        report(f"batch job: {results['batch']['frames_per_second']:.1f} frames/s, "
               f"{results['batch']['cpu_ms_per_frame']:.1f} CPU ms a frame (JVM and workers)")
        results["service"] = _service(settings, model_dir, bucket, keys, workdir, options, report)
    batch = results["batch"]
    service = results["service"]
    results["ratios"] = {
        "score_p50_to_batch_cpu": service["score_c1"]["p50_ms"] / batch["cpu_ms_per_frame"],
        "score_p99_to_batch_cpu": service["score_c1"]["p99_ms"] / batch["cpu_ms_per_frame"],
        "event_p50_to_batch_cpu": service["event_c1"]["p50_ms"] / batch["cpu_ms_per_frame"],
        "event_p99_to_batch_cpu": service["event_c1"]["p99_ms"] / batch["cpu_ms_per_frame"],
        "score_c8_to_batch": service["score_c8"]["frames_per_second"] / batch["frames_per_second"],
        "event_c8_to_batch": service["event_c8"]["frames_per_second"] / batch["frames_per_second"],
    }
    results["parity"] = _parity(workdir / "scores")
    (workdir / "service.json").write_text(json.dumps(results, indent=2))
    return results


def format_service_results(results: dict[str, Any]) -> str:
    batch, service, ratios = results["batch"], results["service"], results["ratios"]
    lines = [f"{results['frames']} frames of {results['frame_bytes']} bytes (960x576 JPEG), {results['cores']} cores, "
             f"wrk runs of {results['seconds']:.0f} s",
             f"batch job (boto3 reader, SeaweedFS): {batch['frames_per_second']:.1f} frames/s, "
             f"{batch['cpu_ms_per_frame']:.1f} CPU ms a frame",
             f"service: ready {service['ready_seconds']:.2f} s after start",
             "| load | frames/s | p50 ms | p99 ms | service CPU ms a frame |", "| --- | --- | --- | --- | --- |"]
    for name in ("score_c1", "event_c1", "score_c4", "score_c8", "event_c8"):
        run = service[name]
        lines.append(f"| {name} | {run['frames_per_second']:.1f} | {run['p50_ms']:.1f} | {run['p99_ms']:.1f} | "
                     f"{run['cpu_ms_per_frame']:.1f} |")
    if service["duplicate_events"]:
        lines.append(f"{service['duplicate_events']:.0f} events named a frame named before (answered without "
                     f"scoring): give --n more frames than the event runs take")
    lines.append("ratios: " + ", ".join(f"{name} {value:.2f}" for name, value in ratios.items()))
    parity = results["parity"]
    lines.append(f"parity: {parity['frames']} frames scored by both, max |dp| {parity['max_dp']:.2e}")
    return "\n".join(lines)


def _model(directory: Path, booster: Path) -> str:
    if not (directory / "manifest.json").exists():
        import_booster(str(booster), str(directory), layer="predictions", weights=str(imagenet_weights_file()))
    return str(directory)


def _jpeg(source: Path, target: Path) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.open(source).convert("RGB").save(buffer, "JPEG", quality=90)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def _batch(settings: Settings, uri: str, model_dir: str, output: Path) -> dict[str, Any]:
    """The scoring job's second run over ``uri`` (the first warms the session and the caches)."""
    spark = spark_session(settings.spark)
    try:
        for attempt in range(2):
            shutil.rmtree(output, ignore_errors=True)
            run = prepare_score(dataclasses.replace(settings, score=ScoreSettings(input=uri, model=model_dir,
                                                                                  output=str(output))))
            before, started = cpu_seconds(), time.perf_counter()
            summary = run_score(spark, run)
            seconds, after = time.perf_counter() - started, cpu_seconds()
    finally:
        spark.stop()
    used = (after["jvm"] - before["jvm"]) + (after["workers"] - before["workers"])
    return {"frames_per_second": summary.frames_read / seconds, "seconds": seconds,
            "cpu_ms_per_frame": 1000 * used / summary.frames_read}


def _service(settings: Settings, model_dir: str, bucket: str, keys: list[str], workdir: Path,
             options: ServiceBenchOptions, report: Callable[[str], None]) -> dict[str, Any]:
    with served(settings, {"model": model_dir, "output": str(workdir / "scores" / "service"),
                           "max_in_flight": 16}, workdir=workdir) as service:
        url = service.url
        measured: dict[str, Any] = {"ready_seconds": service.ready_seconds}
        report(f"service ready in {measured['ready_seconds']:.2f} s")
        frame_script = workdir / "post-frame.lua"
        frame_script.write_text(_POST_FRAME.format(frame=workdir / "frame.jpg"))
        frames_of = {"event_c1": keys[: len(keys) // 3], "event_c8": keys[len(keys) // 3:]}
        for name, connections, path in (("score_c1", 1, "/score"), ("event_c1", 1, "/"), ("score_c4", 4, "/score"),
                                        ("score_c8", 8, "/score"), ("event_c8", 8, "/")):
            script = frame_script
            if path == "/":
                events = workdir / f"{name}.jsonl"
                events.write_text("".join(json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
                    "bucket": {"name": bucket[5:]}, "object": {"key": key}}}]}) + "\n" for key in frames_of[name]))
                script = workdir / f"{name}.lua"
                script.write_text(_POST_EVENTS.format(events=events))
            measured[name] = _wrk(url + path, script, connections=connections, seconds=options.seconds,
                                  pid=service.process.pid)
            report(f"{name}: {measured[name]['frames_per_second']:.1f} frames/s, p50 {measured[name]['p50_ms']:.1f} "
                   f"ms, p99 {measured[name]['p99_ms']:.1f} ms")
        metrics = urllib.request.urlopen(url + "/metrics").read().decode()
        found = re.search(r"^camscore_duplicate_events_total (\S+)$", metrics, re.M)
        measured["duplicate_events"] = float(found.group(1)) if found else 0.0
    return measured


def _wrk(url: str, script: Path, *, connections: int, seconds: float, pid: int) -> dict[str, Any]:
    before = _process_cpu(pid)
    done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", "--timeout", "30s",
                           "-s", str(script), url], capture_output=True, text=True, check=True)
    used = _process_cpu(pid) - before
    text = done.stdout
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {"frames_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
            "p50_ms": _milliseconds(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)),
            "p99_ms": _milliseconds(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)),
            "requests": requests, "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
            "cpu_ms_per_frame": 1000 * used / max(requests, 1)}


def _milliseconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _process_cpu(pid: int) -> float:
    """CPU seconds of a process and its threads so far."""
    return parse_stat(Path(f"/proc/{pid}/stat").read_text())[1]


def _parity(scores: Path) -> dict[str, Any]:
    """The largest |probability difference| over the frames both the batch job and the service scored."""
    import duckdb

    rows = duckdb.sql(f"select b.probability, s.probability from read_parquet('{scores}/batch/*/*/*.parquet') b "
                      f"join read_parquet('{scores}/service/*/*/*.parquet') s using (path)").fetchall()
    return {"frames": len(rows), "max_dp": max((abs(a - b) for a, b in rows), default=float("nan"))}
