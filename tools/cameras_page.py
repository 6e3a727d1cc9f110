"""What the service's GET /cameras costs it for a fleet (by hand, not in CI).

    python -m tools.cameras_page [--cameras 500] [--refresh 10]

Fills a CameraWatch as the service does (one row per frame, with the picture signals of drawn 960x576 frames)
with ``cameras`` cameras sending a frame a minute, the watch full (39 frames each); one camera per fault of
tools.fleet_page from the 21st frame on (silent: it stopped there). The frames the page shows are put in
SeaweedFS on 127.0.0.1, as the frames an event named. Then camscore.service.cameras.CamerasPage, as the service
runs it, makes: the first page (every thumbnail read), the page asked for again within serve.page_seconds
(shared), and the page a display refreshing every ``refresh`` seconds asks for (the frames that came since:
one a minute from each camera, each judged, its thumbnail read). CPU seconds are this process's (the store's
excluded).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import datetime as dt
import io
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from camscore import storage
from camscore.config import load_settings
from camscore.health.episodes import CameraWatch
from camscore.health.live import live_page
from camscore.health.signals import picture_signals
from camscore.service.cameras import CamerasPage
from tools import samples
from tools.object_store import LocalObjectStore

FRAMES = 39 + 6  # the watch's 39, and some to come
ONSET = 20
FAULTS = ("covered", "dark", "frozen", "blurred", "silent", "overexposed", "moved")
SOUND_SCENES = 8  # drawn sound cameras; the others send their pictures under their own paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=500)
    parser.add_argument("--refresh", type=float, default=10.0, help="seconds between a display's requests")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    scenes = {fault: drawn(fault, seed) for seed, fault in enumerate(FAULTS)}
    sound = [drawn(None, seed) for seed in range(len(FAULTS), len(FAULTS) + SOUND_SCENES)]
    print(f"{sum(map(len, [*scenes.values(), *sound]))} frames drawn in {time.perf_counter() - started:.1f} s")
    faulty = {index * args.cameras // len(FAULTS): fault for index, fault in enumerate(FAULTS)}
    cameras = {f"cam-{index:03d}": scenes[faulty[index]] if index in faulty else sound[index % len(sound)]
               for index in range(args.cameras)}
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    first = now - dt.timedelta(minutes=39)

    with LocalObjectStore() as store:
        bucket = store.create_bucket("frames")
        settings = load_settings(None, overrides={f"s3.{key}": value
                                                  for key, value in dataclasses.asdict(store.settings).items()})
        watch = CameraWatch(settings.health)
        for camera, frames in cameras.items():
            watch.add(rows(bucket, camera, frames[:39], first))
        page = CamerasPage(settings, watch, model_id="m")
        put_shown(watch, cameras, bucket, first, now, store)

        cold = timed(lambda: page.make())
        made = asyncio.run(shared(page))
        statuses = collections.Counter(re.findall(r'<article class="card" data-camera="[^"]+" data-status="([^"]+)"',
                                                  made.html.decode()))
        print(f"{args.cameras} cameras, {39 * args.cameras:,} frames held: first page {cold.line()}, "
              f"{len(made.html) / 2 ** 20:.2f} MiB, cards {dict(statuses)}; asked again within serve.page_seconds "
              f"{settings.serve.page_seconds:g}: the page made, {made.seconds * 1000:.2f} ms")
        coming = round(args.cameras * args.refresh / 60)
        for camera, frames in list(cameras.items())[:coming]:
            if faulty.get(int(camera[4:])) != "silent":
                watch.add(rows(bucket, camera, frames[39:40], first + dt.timedelta(minutes=39)))
        later = now + dt.timedelta(minutes=1)
        put_shown(watch, cameras, bucket, first, later, store)
        refresh = timed(lambda: page.make())
        print(f"after {coming} new frames (one a minute from each camera, {args.refresh:g} s): {refresh.line()}: "
              f"{refresh.cpu / (args.refresh * len(os.sched_getaffinity(0))):.1%} of this machine's "
              f"{len(os.sched_getaffinity(0))} cores at one page per {args.refresh:g} s")


@dataclasses.dataclass
class Timed:
    wall: float
    cpu: float

    def line(self) -> str:
        return f"{self.wall:.2f} s ({self.cpu:.2f} CPU s)"


def timed(work) -> Timed:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return Timed(time.perf_counter() - wall, time.process_time() - cpu)


@dataclasses.dataclass
class Shared:
    html: bytes
    seconds: float


async def shared(page: CamerasPage) -> Shared:
    """The page asked for as a request asks (current), once to make it and once more at once: the second's time."""
    await page.current()
    started = time.perf_counter()
    made = await page.current()
    return Shared(made.html, time.perf_counter() - started)


def drawn(fault: str | None, seed: int) -> list[tuple[bytes, dict]]:
    """A camera's FRAMES frames a minute apart (960x576 JPEG) with their picture signals, its fault from ONSET."""
    day = dt.date(2026, 11, 20)
    start = dt.datetime.combine(day, dt.time(6))
    frames = samples.camera_day("cam", day=day, every_minutes=1, fault=fault, seed=seed, width=960, height=576,
                                onset=(start + dt.timedelta(minutes=ONSET)).time(),
                                stop=(start + dt.timedelta(minutes=FRAMES)).time())
    signals = [picture_signals(Image.open(io.BytesIO(frame.data))) for frame in frames]
    return [(frame.data, dict(zip(found.names(), found.values()))) for frame, found in zip(frames, signals)]


def rows(bucket: str, camera: str, frames: list[tuple[bytes, dict]], first: dt.datetime) -> list[dict]:
    """The frames as the service keeps them: its rows' columns, a minute apart from ``first``."""
    return [{"path": path_of(bucket, camera, first + index * dt.timedelta(minutes=1)), "camera_id": camera,
             "captured_at": first + index * dt.timedelta(minutes=1), "label": index % 2, "error_kind": None,
             "content_sha": str(hash(data)), **signals} for index, (data, signals) in enumerate(frames)]


def path_of(bucket: str, camera: str, at: dt.datetime) -> str:
    return f"{bucket}/{camera}/{at:%Y%m%dT%H%M%S}.jpg"


def put_shown(watch: CameraWatch, cameras: dict, bucket: str, first: dt.datetime, now: dt.datetime,
              store: LocalObjectStore) -> None:
    """Puts the frames the page shows now in the store (the frames an event named)."""
    shown = {thumb.path for card in live_page(watch, now=now, title="").cards for thumb in card.thumbnails
             if thumb.path}
    data = {}
    for camera, frames in cameras.items():
        for index, (jpeg, _) in enumerate(frames):
            data[path_of(bucket, camera, first + index * dt.timedelta(minutes=1))] = jpeg
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda path: storage.write_bytes(path, data[path], s3=store.settings), sorted(shown)))


if __name__ == "__main__":
    main()
