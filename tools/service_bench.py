"""The service's figures against the batch job's, in one run on the same cores, frames and model.

The original notebook's booster imported over Keras' ImageNet weights (OpenVINO fp32, the model directory
carrying its featurizer: import-booster's default), the original's 960x576 CCTV frame (both from the folder
CAMSCORE_ORIGINAL names) as a JPEG under many keys in the local object store (SeaweedFS).

(1) The scoring job over N of them: frames/s and the CPU its JVM and Python workers spent a frame.
(2) The service as its own process with the default serve settings: start to ready, then wrk (Debian's HTTP
load generator) at concurrency 1, 8, 32 and 64 posting the frame to /score, then posting S3 events that name one
frame each (each frame named once over all the runs): frames/s, p50, p99, the share answered 200, the queue's
deepest estimated wait (sampled from /metrics) and the service's CPU a frame.
(3) A trigger's burst: 500 frames named by 50 Yandex-shaped events of 10 messages, posted at once: how long
until the last is answered, the statuses, and the rows each frame got in the table.
(4) Overload: the service again with serve.request_seconds short enough that concurrency 64 needs more queue
than it (OVERLOAD_SHARE of the deepest wait (2) saw), under wrk at 64 on /score, its clients posting again at
once when refused, then waiting the Retry-After told, while a probe client times each answer it gets: the share
refused and how fast a refusal comes.
(5) The probabilities both gave the same frames.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator

from camscore import storage
from camscore.assets.imagenet_weights import imagenet_weights_file
from camscore.assets.original import require_original
from camscore.config import ScoreSettings, ServeSettings, Settings, SourceSettings, SparkSettings
from camscore.model.model_dir import import_booster
from camscore.spark.session import spark_session
from camscore.stages.score import prepare_score, run_score

from tools.object_store import LocalObjectStore
from tools.processes import cpu_seconds, parse_stat, usable_cores
from tools.served import Served, served

PATH_REGEX = r"(?P<camera_id>cam-\d+)/(?P<captured_at>\d{8}T\d{6})"
# serve.request_seconds of the overload run, as a share of the deepest wait the queue had at the highest
# concurrency with the defaults: that load then needs more queue than the budget, on whatever CPU this runs.
OVERLOAD_SHARE = 0.6
BURST_POSTS, BURST_MESSAGES = 50, 10
_POST_FRAME = """wrk.method = "POST"
wrk.headers["Content-Type"] = "image/jpeg"
local file = io.open("{frame}", "rb"); wrk.body = file:read("*a"); file:close()
"""
# A client that waits the Retry-After a 503 tells before it posts again (with wrk -t as -c: a thread, and so a Lua
# state, per connection).
_RETRY_AFTER = """local wait = 0
response = function(status, headers, body)
  wait = status == 503 and 1000 * tonumber(headers["Retry-After"] or "1") or 0
end
delay = function() return wait end
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
        frames: frames the batch job scores; the event runs name them (and more, if they need more).
        seconds: each wrk run.
        concurrency: the wrk runs' connections, on /score and on events each.
        workdir: where the model, the frame and the outputs go.
        master: Spark master of the batch job.
        booster: the original notebook's booster; None: the one in the folder CAMSCORE_ORIGINAL names.
        frame: the frame posted and stored; None: the original's 960x576 CCTV frame in that folder.
    """

    frames: int = 1600
    seconds: float = 10.0
    concurrency: tuple[int, ...] = (1, 8, 32, 64)
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
    results: dict[str, Any] = {"cores": usable_cores(), "cpu": _cpu(), "frames": options.frames,
                               "seconds": options.seconds, "frame_bytes": len(jpeg),
                               "defaults": {"request_seconds": ServeSettings().request_seconds,
                                            "queue_mb": ServeSettings().queue_mb}}
    with LocalObjectStore() as server:
        bucket = server.create_bucket("bench")
        # The batch job's frames, then more for the event runs should they need more (each named once), then
        # the burst's.
        event_frames = max(options.frames, int(options.seconds * 45 * len(options.concurrency)))
        keys = _put(server, bucket, "frames", options.frames, jpeg)
        keys += _put(server, bucket, "more", event_frames - options.frames, jpeg)
        burst = _put(server, bucket, "burst", BURST_POSTS * BURST_MESSAGES, jpeg)
        settings = Settings(spark=SparkSettings(master=options.master, app_name="camscore-bench-service"),
                            s3=server.settings, source=SourceSettings(path_regex=PATH_REGEX))
        results["batch"] = _batch(settings, f"{bucket}/frames", model_dir, workdir / "scores" / "batch")
        report(f"batch job: {results['batch']['frames_per_second']:.1f} frames/s, "
               f"{results['batch']['cpu_ms_per_frame']:.1f} CPU ms a frame (JVM and workers)")
        results["service"] = _service(settings, model_dir, bucket, keys, burst, workdir, options, report)
        deepest = max(run["deepest_wait_seconds"] for run in results["service"]["runs"] if run["path"] == "/score")
        results["overload"] = _overload(settings, model_dir, workdir, options, report,
                                        budget=round(max(0.5, OVERLOAD_SHARE * deepest), 1))
    results["ratios"] = _ratios(results, options.concurrency)
    results["parity"] = _parity(workdir / "scores")
    (workdir / "service.json").write_text(json.dumps(results, indent=2))
    return results


def format_service_results(results: dict[str, Any]) -> str:
    batch, service, overload = results["batch"], results["service"], results["overload"]
    defaults = results["defaults"]
    lines = [f"{results['frames']} frames of {results['frame_bytes']} bytes (960x576 JPEG), {results['cores']} cores "
             f"of {results['cpu']}, wrk runs of {results['seconds']:.0f} s",
             f"batch job (boto3 reader, SeaweedFS): {batch['frames_per_second']:.1f} frames/s, "
             f"{batch['cpu_ms_per_frame']:.1f} CPU ms a frame",
             f"service (defaults: serve.request_seconds {defaults['request_seconds']:g}, serve.queue_mb "
             f"{defaults['queue_mb']}): ready {service['ready_seconds']:.2f} s after start, peak memory "
             f"{service['peak_mb_scoring']:.0f} MiB after the /score runs, {service['peak_mb']:.0f} MiB in all",
             "| load | concurrency | frames/s | p50 ms | p99 ms | answered 200 | deepest wait s | CPU ms a frame |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for run in service["runs"]:
        lines.append(_row(run))
    burst = service["burst"]
    lines.append(f"burst: {burst['events']} events in {burst['posts']} posts at once, all answered in "
                 f"{burst['seconds']:.1f} s ({burst['events'] / burst['seconds']:.1f} frames/s); statuses "
                 f"{burst['statuses']}; {burst['rows']} rows for {burst['distinct']} frames")
    for run in overload["runs"]:
        probe = run["probe"]
        lines.append(f"overload (serve.request_seconds {overload['request_seconds']:g}), clients that "
                     f"{run['clients']}: {_row(run['run'])}")
        lines.append(f"  probe: {probe['refused']} of {probe['requests']} refused, in p50 "
                     f"{probe['refused_p50_ms']:.1f} ms, max {probe['refused_max_ms']:.1f} ms; its 200s in p50 "
                     f"{probe['answered_p50_ms']:.0f} ms")
    if service["duplicate_events"]:
        lines.append(f"{service['duplicate_events']:.0f} events named a frame named before (answered without "
                     f"scoring): give --n more frames than the event runs take")
    lines.append("ratios: " + ", ".join(f"{name} {value:.2f}" for name, value in results["ratios"].items()))
    parity = results["parity"]
    lines.append(f"parity: {parity['frames']} frames scored by both, max |dp| {parity['max_dp']:.2e}")
    return "\n".join(lines)


def _row(run: dict[str, Any]) -> str:
    return (f"| {'`/score`' if run['path'] == '/score' else 'events of one frame'} | {run['concurrency']} | "
            f"{run['frames_per_second']:.1f} | {run['p50_ms']:.0f} | {run['p99_ms']:.0f} | "
            f"{100 * run['answered_200']:.1f}% | {run['deepest_wait_seconds']:.1f} | {run['cpu_ms_per_frame']:.0f} |")


def _ratios(results: dict[str, Any], concurrency: tuple[int, ...]) -> dict[str, float]:
    runs, batch = results["service"]["runs"], results["batch"]
    ratios = {}
    for path, name in (("/score", "score"), ("/", "event")):
        rates = {run["concurrency"]: run["frames_per_second"] for run in runs if run["path"] == path}
        top = max(concurrency)
        ratios[f"{name}_c{top}_to_plateau"] = rates[top] / max(rates.values())
        ratios[f"{name}_c{top}_to_batch"] = rates[top] / batch["frames_per_second"]
    return ratios


def _cpu() -> str:
    """The CPU as lscpu names it: model name, family and model."""
    text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    found = dict(re.findall(r"^(Model name|CPU family|Model):\s+(.+)$", text, re.M))
    return f"{found.get('Model name', '?')}, family {found.get('CPU family', '?')} model {found.get('Model', '?')}"


def _put(server: LocalObjectStore, bucket: str, prefix: str, count: int, jpeg: bytes) -> list[str]:
    keys = [f"{prefix}/cam-{n % 8:02d}/20261120T{n // 3600 % 24:02d}{n // 60 % 60:02d}{n % 60:02d}.jpg"
            for n in range(count)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: storage.write_bytes(f"{bucket}/{key}", jpeg, s3=server.settings), keys))
    return keys


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


def _service(settings: Settings, model_dir: str, bucket: str, keys: list[str], burst: list[str], workdir: Path,
             options: ServiceBenchOptions, report: Callable[[str], None]) -> dict[str, Any]:
    output = workdir / "scores" / "service"
    with served(settings, {"model": model_dir, "output": str(output)}, workdir=workdir) as service:
        measured: dict[str, Any] = {"ready_seconds": service.ready_seconds, "runs": []}
        report(f"service ready in {measured['ready_seconds']:.2f} s")
        frame_script = workdir / "post-frame.lua"
        frame_script.write_text(_POST_FRAME.format(frame=workdir / "frame.jpg"))
        jpeg = (workdir / "frame.jpg").read_bytes()
        for connections in options.concurrency:
            run = _wrk(service, "/score", frame_script, connections=connections, seconds=options.seconds, frame=jpeg)
            measured["runs"].append(run)
            report(_row(run))
        measured["peak_mb_scoring"] = _peak_memory(service.process.pid) / 2 ** 20
        named = 0  # the event runs' keys named so far: each run names frames no earlier run named
        for connections in options.concurrency:
            events = workdir / f"events-c{connections}.jsonl"
            events.write_text("".join(json.dumps(_s3_event(bucket, key)) + "\n" for key in keys[named:]))
            script = workdir / f"events-c{connections}.lua"
            script.write_text(_POST_EVENTS.format(events=events))
            run = _wrk(service, "/", script, connections=connections, seconds=options.seconds, frame=jpeg)
            measured["runs"].append(run)
            report(_row(run))
            named = min(len(keys) - 1, named + run["requests"] + connections)  # those cut off at the end too
        measured["duplicate_events"] = _metric(service.url, "camscore_duplicate_events_total")
        measured["burst"] = _burst(service.url, bucket, burst)
        report(f"burst: all answered in {measured['burst']['seconds']:.1f} s, statuses {measured['burst']['statuses']}")
        measured["peak_mb"] = _peak_memory(service.process.pid) / 2 ** 20
    rows = _rows_of(output, [f"{bucket}/{key}" for key in burst])
    measured["burst"].update(rows=rows["rows"], distinct=rows["distinct"])
    return measured


def _s3_event(bucket: str, *keys: str) -> dict[str, Any]:
    return {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket[5:]},
                                                                  "object": {"key": key}}} for key in keys]}


def _yandex_event(bucket: str, *keys: str) -> dict[str, Any]:
    return {"messages": [{"event_metadata": {"event_type": "yandex.cloud.events.storage.ObjectCreate"},
                          "details": {"bucket_id": bucket[5:], "object_id": key}} for key in keys]}


def _burst(url: str, bucket: str, keys: list[str]) -> dict[str, Any]:
    """The keys named by Yandex-shaped events of BURST_MESSAGES messages, all posted at once."""
    bodies = [json.dumps(_yandex_event(bucket, *keys[n:n + BURST_MESSAGES])).encode()
              for n in range(0, len(keys), BURST_MESSAGES)]
    start = threading.Barrier(len(bodies))

    def post(body: bytes) -> int:
        start.wait()
        return _post(url + "/", body, "application/json")[0]

    started = time.perf_counter()
    with ThreadPoolExecutor(len(bodies)) as pool:
        statuses = list(pool.map(post, bodies))
    seconds = time.perf_counter() - started
    return {"posts": len(bodies), "events": len(keys), "seconds": seconds,
            "statuses": {str(status): statuses.count(status) for status in sorted(set(statuses))}}


def _rows_of(output: Path, paths: list[str]) -> dict[str, int]:
    import duckdb

    wanted = set(paths)
    found = [path for (path,) in duckdb.sql(f"select path from read_parquet('{output}/*/*/*.parquet')").fetchall()
             if path in wanted]
    return {"rows": len(found), "distinct": len(set(found))}


def _overload(settings: Settings, model_dir: str, workdir: Path, options: ServiceBenchOptions,
              report: Callable[[str], None], *, budget: float) -> dict[str, Any]:
    """wrk at the highest concurrency on a service whose budget is too short for it: clients that post again at
    once when refused (a retry storm, on the service's own cores), then clients that wait the Retry-After told;
    meanwhile a probe that posts one frame after another times each answer it gets."""
    directory = workdir / "overload"
    directory.mkdir(parents=True, exist_ok=True)
    connections = max(options.concurrency)
    frame = (workdir / "frame.jpg").read_bytes()
    polite = directory / "post-frame-retry-after.lua"
    polite.write_text(_POST_FRAME.format(frame=workdir / "frame.jpg") + _RETRY_AFTER)
    measured: dict[str, Any] = {"request_seconds": budget, "runs": []}
    with served(settings, {"model": model_dir, "request_seconds": budget}, workdir=directory) as service:
        for clients, script, threads in (("post again at once", workdir / "post-frame.lua", 1),
                                         ("wait Retry-After", polite, connections)):
            with _probe(service.url + "/score", frame) as answers:
                run = _wrk(service, "/score", script, connections=connections, seconds=options.seconds,
                           frame=frame, threads=threads)
            refused = sorted(seconds for status, seconds in answers if status == 503)
            answered = sorted(seconds for status, seconds in answers if status == 200)
            probe = {"requests": len(answers), "refused": len(refused),
                     "refused_p50_ms": 1000 * _quantile(refused, 0.5),
                     "refused_max_ms": 1000 * max(refused, default=float("nan")),
                     "answered_p50_ms": 1000 * _quantile(answered, 0.5)}
            measured["runs"].append({"clients": clients, "run": run, "probe": probe})
            report(f"overload, clients that {clients}: {_row(run)}; probe {probe}")
    return measured


@contextlib.contextmanager
def _probe(url: str, frame: bytes) -> Iterator[list[tuple[int, float]]]:
    """Posts the frame again and again while the block runs; the list fills with each answer's status and
    seconds."""
    answers: list[tuple[int, float]] = []
    running = threading.Event()
    running.set()

    def probe() -> None:
        time.sleep(1)  # wrk's connections first
        while running.is_set():
            answers.append(_post(url, frame, "image/jpeg"))

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        yield answers
    finally:
        running.clear()
        prober.join()


def _quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def _post(url: str, body: bytes, content_type: str) -> tuple[int, float]:
    """The status of a POST and the seconds it took."""
    started = time.perf_counter()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            answer.read()
            status = answer.status
    except urllib.error.HTTPError as refused:
        refused.read()
        status = refused.code
    return status, time.perf_counter() - started


def _wrk(service: Served, path: str, script: Path, *, connections: int, seconds: float, frame: bytes,
         threads: int = 1) -> dict[str, Any]:
    """One wrk run; /metrics sampled meanwhile for the queue's deepest estimated wait."""
    sampling, waits = threading.Event(), []
    sampling.set()

    def sample() -> None:
        while sampling.is_set():
            waits.append(_metric(service.url, "camscore_queue_wait_seconds"))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample)
    before = _process_cpu(service.process.pid)
    sampler.start()
    try:
        done = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:.0f}s", "--latency",
                               "--timeout", "60s", "-s", str(script), service.url + path],
                              capture_output=True, text=True, check=True)
    finally:
        sampling.clear()
        sampler.join()
    used = _process_cpu(service.process.pid) - before
    text = done.stdout
    found = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", text)
    requests, took = int(found.group(1)), _milliseconds(found.group(2) + found.group(3)) / 1000
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    failed = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, errors.groups())) if errors else 0)
    _drained(service.url, frame)
    return {"path": path, "concurrency": connections, "frames_per_second": (requests - failed) / took,
            "p50_ms": _milliseconds(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)),
            "p99_ms": _milliseconds(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)),
            "requests": requests, "failed": failed, "answered_200": (requests - failed) / max(requests, 1),
            "deepest_wait_seconds": max(waits, default=0.0),
            "cpu_ms_per_frame": 1000 * used / max(requests - failed, 1)}


def _drained(url: str, frame: bytes) -> None:
    """Waits until the service's queue is empty (the requests wrk cut off at the end leave it as they go), then
    until one more frame is answered: a batch under way when its requests went is scored all the same."""
    deadline = time.monotonic() + 120
    while _metric(url, "camscore_queue_frames") and time.monotonic() < deadline:
        time.sleep(0.1)
    _post(url + "/score", frame, "image/jpeg")


def _metric(url: str, name: str) -> float:
    text = urllib.request.urlopen(url + "/metrics", timeout=30).read().decode()
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def _milliseconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _process_cpu(pid: int) -> float:
    """CPU seconds of a process and its threads so far."""
    return parse_stat(Path(f"/proc/{pid}/stat").read_text())[1]


def _peak_memory(pid: int) -> int:
    """A process's peak resident memory so far, in bytes (VmHWM)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:", 1)[1].split()[0]) * 1024


def _parity(scores: Path) -> dict[str, Any]:
    """The largest |probability difference| over the frames both the batch job and the service scored."""
    import duckdb

    rows = duckdb.sql(f"select b.probability, s.probability from read_parquet('{scores}/batch/*/*/*.parquet') b "
                      f"join read_parquet('{scores}/service/*/*/*.parquet') s using (path)").fetchall()
    return {"frames": len(rows), "max_dp": max((abs(a - b) for a, b in rows), default=float("nan"))}
