"""``GET /cameras``: the fleet page (camscore.health.page, as the report writes it) of the cameras the service has
seen, from its CameraWatch: each camera's latest frames judged as the report judges a day (camscore.health.live),
the thumbnails read by path from the store the frames came from (read_object: the s3 settings' retries and
deadline) on the fetch threads, and kept, so that a frame is read for its thumbnail once.

The page is made at most once per serve.page_seconds, however many displays ask: a request finds it made, or
made for it and for every request that comes meanwhile; a wall display that refreshes every 10 s asks for one
page, and the frames that came since for their thumbnails."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import threading
import time
from concurrent.futures import Executor
from dataclasses import dataclass, replace

from camscore.config import Settings
from camscore.health.episodes import CameraWatch
from camscore.health.fleet import pictured
from camscore.health.live import live_page
from camscore.health.page import render_page
from camscore.health.thumbnails import thumbnail
from camscore.io import read_object
from camscore.rows import ErrorKind, FrameError

TITLE = "camscore service: the cameras seen"
# Thumbnails kept, the most recently shown: two for each of 2,000 cameras, a few KB each.
THUMBNAILS_KEPT = 4096


@dataclass(frozen=True)
class Made:
    """A page made: its HTML, when (monotonic, for its age) and the time it shows."""

    html: bytes
    at: float
    made_at: dt.datetime


class CamerasPage:
    """The fleet page of the cameras a CameraWatch holds, scored by ``model_id``; frames read for thumbnails on
    ``fetchers`` (the service's fetch threads)."""

    def __init__(self, settings: Settings, watch: CameraWatch, *, model_id: str, fetchers: Executor):
        self.settings, self.watch, self.model_id, self.fetchers = settings, watch, model_id, fetchers
        self._thumbnails: collections.OrderedDict[str, tuple[bytes | None, str | None]] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._made: Made | None = None
        self._making: asyncio.Future[Made] | None = None

    async def current(self) -> Made:
        """The page last made, when younger than serve.page_seconds; else the one being made, or a new one
        (made on a thread: the event loop goes on serving)."""
        if self._made is not None and time.monotonic() - self._made.at < self.settings.serve.page_seconds:
            return self._made
        if self._making is None or self._making.done():
            self._making = asyncio.get_running_loop().run_in_executor(None, self.make)
        # A client that goes away does not stop the page the others wait for.
        self._made = await asyncio.shield(self._making)
        return self._made

    def make(self) -> Made:
        """The page now: the cameras' latest frames judged, their thumbnails made (read for those not kept)."""
        now = dt.datetime.now(dt.timezone.utc)
        page = live_page(self.watch, now=now, title=TITLE, models=(self.model_id,))
        paths = {thumb.path for card in page.cards for thumb in card.thumbnails if thumb.path is not None}
        with self._lock:
            wanted = sorted(paths - self._thumbnails.keys())
        made = dict(zip(wanted, self.fetchers.map(self._thumbnail, wanted)))
        with self._lock:
            for path in paths:
                if path in self._thumbnails:
                    made[path] = self._thumbnails[path]
                    self._thumbnails.move_to_end(path)
                elif made[path][1] != ErrorKind.READ.value:  # a passing fault: read again next time
                    self._thumbnails[path] = made[path]
            while len(self._thumbnails) > THUMBNAILS_KEPT:
                self._thumbnails.popitem(last=False)
        html = render_page(replace(page, cards=tuple(pictured(page.cards, made))))
        return Made(html.encode(), time.monotonic(), now)

    def _thumbnail(self, path: str) -> tuple[bytes | None, str | None]:
        """A frame's thumbnail, or the error kind that kept it (the scoring's kinds: read, unreadable, the
        decoder's)."""
        read, _ = read_object(path, s3=self.settings.s3, max_frame_mb=self.settings.source.max_frame_mb)
        if read.error is not None:
            return None, read.error.kind.value
        try:
            return thumbnail(read.data), None
        except FrameError as exc:
            return None, exc.kind.value
