"""What a scheduled ``--only-new`` run's listing costs as a bucket's history grows (by hand, not in CI).

    python -m tools.listing [--old 50000 200000 --cameras 1000 --new 1000 --threads 1 4 16] [--whole-run]

A local object store (SeaweedFS) kept under ~/.cache/camscore/listing-store holds the old keys (zero-byte
frames, a folder per camera, keys in time order within each): filling it is the slow part (about 200 PUTs a
second), so it is kept between runs and only topped up. For each count of old keys, the benchmark writes the
checkpoint a run would leave after listing them, puts ``--new`` keys (one a camera, later than the old ones),
and times the listing an ``--only-new`` run does from that checkpoint beside a listing of a bucket holding only
the new keys; then it deletes the new keys, so the old count stays what it says. With ``--whole-run``, the
largest input's new keys are real JPEG frames and the scoring job (``score --only-new``, seeded random
weights) runs over it from the checkpoint beside a run over a bucket holding only the new frames, each timed
as a whole process.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import yaml

from camscore import storage
from camscore.config import S3Settings, SourceSettings
from camscore.io import listing_checkpoint
from camscore.io.readers.boto3 import list_frames

from tools import samples
from tools.object_store import LocalObjectStore

ROOT = Path(__file__).resolve().parent.parent

KEPT = Path.home() / ".cache" / "camscore" / "listing-store"
BUCKET = "fleet"
FIRST = dt.datetime(2026, 11, 1)
MODEL_ID = "listing-benchmark"  # the listing alone counts no model's rows; the whole run's checkpoint names its model


def prefix_of(old: int) -> str:
    """The input holding ``old`` old keys (one input per count, so that one run lists each)."""
    return f"old-{old:07d}/"


def old_key(prefix: str, index: int, cameras: int) -> str:
    """The ``index``-th old key: cameras take turns, each a minute after its previous frame."""
    at = FIRST + dt.timedelta(minutes=index // cameras)
    return f"{prefix}cam-{index % cameras:04d}/{at:%Y%m%dT%H%M%S}.jpg"


def count_keys(settings: S3Settings, bucket: str, prefix: str) -> int:
    pages = storage.client(settings).get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sum(page.get("KeyCount", 0) for page in pages)


def fill(settings: S3Settings, *, old: int, cameras: int) -> str:
    """Tops the kept bucket's input of ``old`` keys up (in index order: a camera's keys stay in time order);
    returns its prefix."""
    client, prefix = storage.client(settings), prefix_of(old)
    if BUCKET not in [bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])]:
        client.create_bucket(Bucket=BUCKET)
    have = count_keys(settings, BUCKET, prefix)
    with ThreadPoolExecutor(32) as pool:
        for start in range(have, old, 10_000):
            names = [old_key(prefix, index, cameras) for index in range(start, min(old, start + 10_000))]
            list(pool.map(lambda name: client.put_object(Bucket=BUCKET, Key=name, Body=b""), names))
            print(f"{prefix}: {start + len(names):,} old keys", flush=True)
    return prefix


def new_key(prefix: str, camera: int) -> str:
    return f"{prefix}cam-{camera:04d}/20261201T{camera // 60:02d}{camera % 60:02d}00.jpg"


def timed_listing(uri: str, settings: S3Settings, *, threads: int, after: dict[str, str] | None,
                  repeats: int = 3) -> tuple[float, int]:
    """The median seconds of listing ``uri`` as the scoring job lists it (from ``after``), and the frames found."""
    source, s3 = SourceSettings(list_depth=1), dataclasses.replace(settings, list_threads=threads)
    seconds, found = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        found = len(list_frames(uri, source=source, s3=s3, after=after))
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), found


def checkpoint_after_whole_listing(uri: str, settings: S3Settings) -> tuple[listing_checkpoint.Checkpoint, float]:
    """The checkpoint a run leaves after listing ``uri`` whole (its old keys long settled), and that listing's
    seconds: what every run costs without a checkpoint."""
    started = time.perf_counter()
    objects = list_frames(uri, source=SourceSettings(list_depth=1), s3=settings)
    seconds = time.perf_counter() - started
    now = dt.datetime.now(dt.timezone.utc)
    whole = listing_checkpoint.Plan(True, {}, "benchmark", now)
    return listing_checkpoint.advance(None, whole, objects, input_uri=uri, list_depth=1, model_id=MODEL_ID,
                                      unsettled=[], lookback=dt.timedelta(0), whole_every_hours=24), seconds


def put_new(settings: S3Settings, keys: list[str], frames: list[bytes] | None) -> None:
    client = storage.client(settings)
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda i: client.put_object(Bucket=BUCKET, Key=keys[i], Body=frames[i] if frames else b""),
                      range(len(keys))))


def delete(settings: S3Settings, keys: list[str]) -> None:
    client = storage.client(settings)
    for start in range(0, len(keys), 1000):
        client.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": key} for key in keys[start:start + 1000]]})


def measure(settings: S3Settings, *, old: int, cameras: int, new: int, threads: list[int],
            frames: list[bytes] | None, workdir: Path | None) -> None:
    """Lists the input of ``old`` keys past its checkpoint beside a bucket of only the new keys (and with
    ``workdir``, scores both); prints one line per thread count."""
    prefix = prefix_of(old)
    uri = f"s3://{BUCKET}/{prefix.rstrip('/')}"
    checkpoint, whole_seconds = checkpoint_after_whole_listing(uri, settings)
    fresh = [new_key(prefix, camera) for camera in range(new)]
    alone = [new_key("new-only/", camera) for camera in range(new)]
    put_new(settings, fresh + alone, (frames + frames) if frames else None)
    try:
        plan = listing_checkpoint.plan(checkpoint, input_uri=uri, list_depth=1, model_id=MODEL_ID,
                                       whole_every_hours=24, now=dt.datetime.now(dt.timezone.utc))
        print(f"{old:,} old keys over {cameras:,} cameras, {new:,} new: whole listing {whole_seconds:.2f} s",
              flush=True)
        for count in threads:
            past, found = timed_listing(uri, settings, threads=count, after=dict(plan.after))
            only, found_alone = timed_listing(f"s3://{BUCKET}/new-only", settings, threads=count, after=None)
            print(f"  {count:>2} threads: past the checkpoint {past:.3f} s ({found} frames), bucket of only the new "
                  f"{only:.3f} s ({found_alone} frames): {past / only:.2f}x", flush=True)
        if workdir is not None:
            whole_runs(settings, uri=uri, checkpoint=checkpoint, workdir=workdir)
    finally:
        delete(settings, fresh + alone)


def whole_runs(settings: S3Settings, *, uri: str, checkpoint: listing_checkpoint.Checkpoint, workdir: Path) -> None:
    """``score --only-new`` over the input from its checkpoint beside ``score`` over the new frames alone, each
    a whole process (Spark's start included)."""
    config = workdir / "config.yaml"
    config.write_text(yaml.safe_dump({"spark": {"master": "local[2]"}, "s3": dataclasses.asdict(settings)}))
    model = make_model(workdir / "model")
    output = workdir / "scores-fleet"
    model_id = json.loads((Path(model) / "manifest.json").read_text())["model_id"]
    listing_checkpoint.write(None, str(output), dataclasses.replace(checkpoint, model_id=model_id))
    runs = {"score --only-new, 200k-key input past its checkpoint": [uri, str(output), "--only-new"],
            "score over a bucket of only the new frames": [f"s3://{BUCKET}/new-only", str(workdir / "scores-alone")]}
    for name, (input_uri, out, *flags) in runs.items():
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(ROOT / "jobs" / "score.py"), "--config", str(config), "--input",
                               input_uri, "--model", model, "--output", out, *flags], capture_output=True, text=True,
                              env={**os.environ, "PYSPARK_PYTHON": sys.executable})
        seconds = time.perf_counter() - started
        if done.returncode:
            raise SystemExit(f"{name} failed: {done.stderr[-2000:]}")
        summary = json.loads((Path(out) / "_summary.json").read_text())
        stages = ", ".join(f"{stage} {value} s" for stage, value in summary["seconds"].items())
        print(f"  {name}: {seconds:.1f} s wall, {summary['frames_read']} frames scored; stages: {stages}", flush=True)


def make_model(folder: Path) -> str:
    """A model over seeded random weights (its booster fitted on random features): the scoring job's whole
    path, whatever the scores."""
    from camscore.model.model_dir import import_booster
    from camscore.model.training import fit_booster

    rng = np.random.default_rng(0)
    fit = fit_booster(rng.random((64, 2048)), np.arange(64) % 2, rounds=5)
    booster = folder.parent / "booster.txt"
    booster.write_text(fit.booster_text)
    import_booster(str(booster), str(folder), layer="avg_pool", weights="none")
    return str(folder)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=int, nargs="+", default=[50_000, 200_000])
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--new", type=int, default=1000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4, 16], help="listing threads (s3.list_threads)")
    parser.add_argument("--fill-only", action="store_true", help="only top the kept bucket up")
    parser.add_argument("--whole-run", action="store_true", help="also time the scoring job over the largest input")
    args = parser.parse_args(argv)
    with LocalObjectStore(kept=KEPT) as server, tempfile.TemporaryDirectory(prefix="camscore-listing-") as scratch:
        for old in args.old:
            fill(server.settings, old=old, cameras=args.cameras)
        if args.fill_only:
            return
        frames = [samples.frame_jpeg(samples.KINDS[i % 2], seed=i) for i in range(args.new)] \
            if args.whole_run else None
        for old in sorted(args.old):
            last = old == max(args.old)
            measure(server.settings, old=old, cameras=args.cameras, new=args.new, threads=args.threads,
                    frames=frames if last else None, workdir=Path(scratch) if args.whole_run and last else None)


if __name__ == "__main__":
    main()
