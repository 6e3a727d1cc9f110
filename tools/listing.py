"""How long listing an s3:// input takes as its keys grow (by hand, not in CI).

    python -m tools.listing [--keys 10000 50000 --cameras 50 --threads 16]

Puts the keys into a local object store (SeaweedFS), a folder per camera, then lists them as the scoring job does, with one listing
(source.list_depth 0) and folder by folder on ``threads`` threads (list_depth 1), and prints seconds and
keys/s of each, and the CPU seconds the store's process spent.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor

from camscore import storage
from camscore.config import SourceSettings
from camscore.io.readers.boto3 import list_frames

from tools.object_store import LocalObjectStore
from tools.processes import cpu_seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--cameras", type=int, default=50)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args(argv)
    with LocalObjectStore() as server:
        measure(server, args)


def measure(server: LocalObjectStore, args: argparse.Namespace) -> None:
    """Puts the keys into ``server`` in steps and lists them after each."""
    bucket = server.create_bucket("listing")
    settings = dataclasses.replace(server.settings, list_threads=args.threads)
    client = storage.client(settings)
    written = 0
    for keys in sorted(args.keys):
        names = [f"in/cam-{i % args.cameras:03d}/{i:08d}.jpg" for i in range(written, keys)]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda name: client.put_object(Bucket=bucket[5:], Key=name, Body=b"x"), names))
        written = keys
        for depth in (0, 1):
            before, started = cpu_seconds(), time.perf_counter()
            found = list_frames(f"{bucket}/in", source=SourceSettings(list_depth=depth), s3=settings)
            seconds, after = time.perf_counter() - started, cpu_seconds()
            print(f"{keys:>9,} keys, list_depth {depth}, {args.threads if depth else 1:>2} threads: "
                  f"{len(found):,} frames in {seconds:.2f} s ({len(found) / seconds:,.0f} keys/s); CPU s: "
                  f"store {after['store'] - before['store']:.2f}, this process "
                  f"{after['driver'] - before['driver']:.2f}", flush=True)


if __name__ == "__main__":
    main()
