"""``GET /cameras``: the fleet page (camscore.health.page, as the report writes it) of the cameras the service has
seen, from its CameraWatch: each camera's latest frames judged as the report judges a day (camscore.health.live),
the thumbnails read by path from the store the frames came from (read_object: the s3 settings' retries and
deadline) on threads of their own, so that a page never delays an event's frames, and kept: a frame is read for
its thumbnail once (one the store could not give for a passing fault, again after RETRY_SECONDS).

The page is made at most once per serve.page_seconds, however many displays ask: a request finds it made, or
made for it and for every request that comes meanwhile. A page that could not be made is told as such (503, one
line) until serve.page_seconds have passed. The page reloads itself every REFRESH_SECONDS (a wall display).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from camscore.config import Settings
from camscore.errors import one_line
from camscore.health.episodes import CameraWatch
from camscore.health.fleet import pictured
from camscore.health.live import live_page
from camscore.health.page import render_page
from camscore.health.thumbnails import thumbnail
from camscore.io import read_object
from camscore.rows import ErrorKind, FrameError

log = logging.getLogger(__name__)

TITLE = "camscore service: the cameras seen"
REFRESH_SECONDS = 10
# Thumbnails kept, the most recently shown (never fewer than one page's): two for each of 2,000 cameras, a few KB
# each.
THUMBNAILS_KEPT = 4096
THREADS = 2  # beside the fetch threads, within the S3 client's connection pool (twice s3.fetch_threads)
RETRY_SECONDS = 60.0


@dataclass(frozen=True)
class Made:
    """A page made: its HTML, the time it shows and the monotonic clock's then (its age)."""

    html: bytes
    made_at: dt.datetime
    clock: float

    def age(self) -> float:
        return time.monotonic() - self.clock


class PageUnavailable(Exception):
    """The page could not be made (why, in one line); asked again within serve.page_seconds, the same."""


@dataclass(frozen=True)
class _Failed:
    message: str
    clock: float


class CamerasPage:
    """The fleet page of the cameras a CameraWatch holds, scored by ``model_id``."""

    def __init__(self, settings: Settings, watch: CameraWatch, *, model_id: str):
        self.settings, self.watch, self.model_id = settings, watch, model_id
        self._readers = ThreadPoolExecutor(THREADS, thread_name_prefix="camscore-page")
        # path: (jpeg, error kind, when read); a passing fault's is read again after RETRY_SECONDS.
        self._thumbnails: collections.OrderedDict[str, tuple[bytes | None, str | None, float]] = \
            collections.OrderedDict()
        self._lock = threading.Lock()
        self._last: Made | _Failed | None = None
        self._making: asyncio.Future[Made] | None = None

    async def current(self) -> Made:
        """The page last made, when younger than serve.page_seconds; else the one being made, or a new one
        (made on a thread: the event loop goes on serving).

        Raises:
            PageUnavailable: it could not be made (and it was tried within serve.page_seconds).
        """
        last = self._last
        if last is not None and time.monotonic() - last.clock < self.settings.serve.page_seconds:
            if isinstance(last, _Failed):
                raise PageUnavailable(last.message)
            return last
        if self._making is None or self._making.done():
            self._making = asyncio.get_running_loop().run_in_executor(None, self.make)
            self._making.add_done_callback(self._keep)  # kept even when every request waiting went away
        try:
            return await asyncio.shield(self._making)
        except Exception as exc:
            raise PageUnavailable(one_line(exc)) from None

    def _keep(self, making: asyncio.Future[Made]) -> None:
        if making.cancelled():
            return
        failed = making.exception()
        if failed is not None:
            log.error("the camera page could not be made: %s", one_line(failed))
            self._last = _Failed(one_line(failed), time.monotonic())
        else:
            self._last = making.result()

    def make(self) -> Made:
        """The page now: the cameras' latest frames judged, their thumbnails made (read for those not kept)."""
        now = dt.datetime.now(dt.timezone.utc)
        page = live_page(self.watch, now=now, title=TITLE, models=(self.model_id,))
        paths = {thumb.path for card in page.cards for thumb in card.thumbnails if thumb.path is not None}
        clock = time.monotonic()
        with self._lock:
            wanted = sorted(path for path in paths if self._due(path, clock))
        read = dict(zip(wanted, self._readers.map(self._thumbnail, wanted)))
        with self._lock:
            for path, (jpeg, kind) in read.items():
                self._thumbnails[path] = (jpeg, kind, clock)
            for path in paths:
                self._thumbnails.move_to_end(path)
            shown = {path: self._thumbnails[path][:2] for path in paths}
            while len(self._thumbnails) > max(THUMBNAILS_KEPT, len(paths)):  # the page's are the latest used
                self._thumbnails.popitem(last=False)
        html = render_page(replace(page, cards=tuple(pictured(page.cards, shown)), refresh_seconds=REFRESH_SECONDS))
        return Made(html.encode(), now, time.monotonic())

    def _due(self, path: str, clock: float) -> bool:
        """Whether a frame is to be read for its thumbnail: not read yet, or not given for a passing fault
        RETRY_SECONDS ago."""
        kept = self._thumbnails.get(path)
        return kept is None or (kept[1] == ErrorKind.READ.value and clock - kept[2] > RETRY_SECONDS)

    def _thumbnail(self, path: str) -> tuple[bytes | None, str | None]:
        """A frame's thumbnail, or the error kind that kept it (the scoring's kinds: read, unreadable, the
        decoder's)."""
        got, _ = read_object(path, s3=self.settings.s3, max_frame_mb=self.settings.source.max_frame_mb)
        if got.error is not None:
            return None, got.error.kind.value
        try:
            return thumbnail(got.data), None
        except FrameError as exc:
            return None, exc.kind.value

    def close(self) -> None:
        self._readers.shutdown(wait=False, cancel_futures=True)
