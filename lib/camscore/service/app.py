"""The HTTP service: ``POST /score`` (image bytes), ``POST /`` (an upload event), ``GET /cameras`` (the fleet
page of the cameras seen), ``GET /healthz``, ``/readyz`` and ``/metrics``.

aiohttp serves it: a request's headers and body are read by the event loop, so a client that sends them
slowly holds no thread and delays no one; the body limit is checked from Content-Length before the body is
read (and while it streams, for a chunked one). A request is taken into the queue or refused at once
(camscore.service.admission); its frames are fetched on the fetch threads and scored on the scoring threads
(camscore.service.batcher) while its handler awaits them, holding no thread.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import hmac
import logging
import math
import os
import signal
import time
from typing import Any, Awaitable, Callable

from aiohttp import web

from camscore.config import Settings
from camscore.errors import CamscoreError, ConfigError, one_line
from camscore.rows import FrameRead
from camscore.service.admission import Admission, Held, Refusal
from camscore.service.cameras import CamerasPage, PageUnavailable
from camscore.service.events import EventError, objects_of
from camscore.service.metrics import CONTENT_TYPE, Metrics
from camscore.service.scoring import Scoring

log = logging.getLogger(__name__)

DEFAULT_PORT = 8080
_OPEN = ("/healthz", "/readyz")  # answered without the token: platforms' probes carry none


class Service:
    """The state requests share: the scoring (once loaded), the queue, the metrics."""

    def __init__(self, settings: Settings):
        self.settings, self.metrics = settings, Metrics()
        self.scoring: Scoring | None = None
        self.page: CamerasPage | None = None
        self.token = os.environ.get(settings.serve.token_env) if settings.serve.token_env else None
        if settings.serve.token_env and not self.token:
            raise ConfigError(f"serve.token_env names {settings.serve.token_env}, which is not set")
        self.flushing: asyncio.Task | None = None
        self.queue = Admission(request_seconds=settings.serve.request_seconds,
                               queue_bytes=settings.serve.queue_mb * 2 ** 20, frame_seconds=self._frame_seconds)
        self.metrics.queue_frames.set_function(lambda: self.queue.frames)
        self.metrics.queue_bytes.set_function(lambda: self.queue.bytes)
        self.metrics.queue_wait.set_function(self.queue.wait_seconds)
        self.metrics.frame_seconds.set_function(self._frame_seconds)

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/score", self.score), web.post("/", self.event), web.get("/healthz", self.healthz),
                web.get("/readyz", self.readyz), web.get("/metrics", self.metrics_text),
                web.get("/cameras", self.cameras)]

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.settings.source.max_frame_mb * 2 ** 20,
                              middlewares=[self._guard])
        app.add_routes(self.routes())
        return app

    def _frame_seconds(self) -> float:
        return self.scoring.batcher.pace.frame_seconds if self.scoring is not None else 0.0

    @web.middleware
    async def _guard(self, request: web.Request,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            if self.token and request.path not in _OPEN and not hmac.compare_digest(
                    request.headers.get("Authorization", ""), f"Bearer {self.token}"):
                response = _error(401, "a bearer token is required (Authorization: Bearer ...)")
            else:
                response = await handler(request)
        except web.HTTPException as exc:
            response = _error(exc.status, exc.reason)
        except _TooLarge as exc:
            response = _error(413, str(exc))
            response.force_close()  # its body is never read, or not all of it
        self.metrics.requests.labels(endpoint=request.path, status=str(response.status)).inc()
        if request.method == "POST":
            self.metrics.latency.labels(endpoint=request.path).observe(time.perf_counter() - started)
        return response

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(self, request: web.Request) -> web.Response:
        if self.scoring is None:
            return web.json_response({"status": "loading"}, status=503)
        return web.json_response({"status": "ready", "model": self.scoring.model_id})

    async def metrics_text(self, request: web.Request) -> web.Response:
        if self.scoring is not None:
            watch, now = self.scoring.cameras, dt.datetime.now(dt.timezone.utc)
            faults, quiet = await asyncio.get_running_loop().run_in_executor(
                None, lambda: (watch.faults(now), watch.fleet_quiet(now)))
            self.metrics.set_camera_faults(faults)
            self.metrics.fleet_quiet.set(quiet.cameras if quiet else 0)
        return web.Response(body=self.metrics.text(), headers={"Content-Type": CONTENT_TYPE})

    async def cameras(self, request: web.Request) -> web.Response:
        """The fleet page of the cameras seen (camscore.service.cameras), at most serve.page_seconds old."""
        if self.scoring is None:
            return _error(503, "the model is loading", retry_after=1)
        if self.page is None:
            self.page = CamerasPage(self.settings, self.scoring.cameras, model_id=self.scoring.model_id)
        try:
            made = await self.page.current()
        except PageUnavailable as exc:
            return _error(503, f"the camera page could not be made: {exc}",
                          retry_after=math.ceil(self.settings.serve.page_seconds))
        age = made.age()
        headers = {"Cache-Control": f"private, max-age={max(0, int(self.settings.serve.page_seconds - age))}",
                   "Age": str(int(age)), "Last-Modified": email.utils.format_datetime(made.made_at, usegmt=True)}
        since = request.if_modified_since
        if since is not None and made.made_at.replace(microsecond=0) <= since:
            return web.Response(status=304, headers=headers)
        return web.Response(body=made.html, content_type="text/html", charset="utf-8", headers=headers)

    async def score(self, request: web.Request) -> web.Response:
        """The image in the body, scored: one frame's answer, its error kind included (200)."""
        held = self.queue.request()
        try:
            refusal = self._at_door(request) or held.take_frames(1)
            body = refusal or await self._body(request, held)
            if isinstance(body, Refusal):
                return self._refused(body)
            self.queue.saw([len(body)])
            started = time.perf_counter()
            scored = await self._within_deadline(asyncio.wrap_future(self.scoring.submit([FrameRead(body)])))
            return web.json_response(self.scoring.answers(scored, time.perf_counter() - started)[0])
        finally:
            held.release()

    async def event(self, request: web.Request) -> web.Response:
        """The frames an upload event names, fetched and scored: a list of answers, one per frame."""
        held = self.queue.request()
        try:
            body = self._at_door(request) or await self._body(request, held)
            if isinstance(body, Refusal):
                return self._refused(body)
            try:
                objects = objects_of(body, request.headers)
            except EventError as exc:
                return _error(exc.status, str(exc))
            # The frames' bytes are held before they are fetched: as the event tells their sizes, else the usual.
            expected = sum(found.size or int(self.queue.frame_bytes) for found in objects)
            refusal = held.take_frames(len(objects)) or held.take_bytes(expected)
            if refusal:
                return self._refused(refusal)
            answers, full = await self._within_deadline(self._objects_scored(objects, held, expected))
            if full:
                self._flush_soon()
            return web.json_response(answers)
        finally:
            held.release()

    async def _objects_scored(self, objects: list, held: Held, expected: int) -> tuple[list[dict[str, Any]], bool]:
        """Scoring.score_objects' steps, awaited: the event holds no thread while its frames are fetched and
        scored; once fetched, the bytes it holds are theirs instead of the ``expected``."""
        delivery = self.scoring.deliver(objects)
        got = await asyncio.gather(*(asyncio.wrap_future(fetch) for fetch in delivery.fetches))
        sizes = [len(read.data) for read, _ in got if read.data]
        self.queue.saw(sizes)
        held.add_bytes(sum(sizes) - expected)
        scored = await asyncio.wrap_future(self.scoring.submit([read for read, _ in got]))
        return self.scoring.finish(delivery, got, scored)

    def _at_door(self, request: web.Request) -> Refusal | None:
        """Refused before anything is read: 413 for a body declared over source.max_frame_mb (raised), 503
        while loading."""
        limit = self.settings.source.max_frame_mb * 2 ** 20
        if request.content_length is not None and request.content_length > limit:
            raise _TooLarge(f"the body is {request.content_length} bytes, over source.max_frame_mb "
                            f"{self.settings.source.max_frame_mb}")
        if request.content_length is not None and request.content_length > self.queue.queue_bytes:
            raise _TooLarge(f"the body is {request.content_length} bytes, over serve.queue_mb "
                            f"{self.settings.serve.queue_mb}")
        if self.scoring is None:
            return Refusal("loading", "the model is loading", 1)
        return None

    def _refused(self, refusal: Refusal) -> web.Response:
        # Answered before the rest of the body is read; aiohttp then reads and drops it (lingering), so that the
        # client gets the 503 and not a reset connection.
        self.metrics.refusals.labels(reason=refusal.reason).inc()
        return _error(503, refusal.message, retry_after=refusal.retry_after)

    async def _body(self, request: web.Request, held: Held) -> bytes | Refusal:
        """The body, its bytes held in the queue: a declared Content-Length at once, before any is read; a
        chunked body as it grows (refused when it grows past what is free, or 413 past source.max_frame_mb)."""
        declared = request.content_length
        refusal = held.take_bytes(declared) if declared is not None else None
        if refusal:
            return refusal
        limit, chunks, size = self.settings.source.max_frame_mb * 2 ** 20, [], 0
        try:
            async with asyncio.timeout(self.settings.serve.header_seconds):
                while chunk := await request.content.readany():
                    size += len(chunk)
                    if declared is None:
                        if size > limit:
                            raise _TooLarge(f"the body grew over source.max_frame_mb "
                                            f"{self.settings.source.max_frame_mb}")
                        refusal = held.take_bytes(len(chunk))
                        if refusal:
                            return refusal
                    chunks.append(chunk)
        except TimeoutError:
            raise web.HTTPRequestTimeout(reason=f"the body took over serve.header_seconds "
                                                f"{self.settings.serve.header_seconds}") from None
        return b"".join(chunks)

    async def _within_deadline(self, work: Awaitable) -> Any:
        try:
            return await asyncio.wait_for(work, self.settings.serve.request_seconds)
        except asyncio.TimeoutError:
            raise web.HTTPGatewayTimeout(reason=f"not scored within serve.request_seconds "
                                                f"{self.settings.serve.request_seconds}") from None

    def _flush_soon(self) -> None:
        if self.flushing is None or self.flushing.done():
            self.flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        """Writes the rows waiting, and again while serve.flush_rows came in meanwhile: their requests found
        this flush under way and started none."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, self.scoring.flush)
            while self.scoring.rows_due:
                await loop.run_in_executor(None, self.scoring.flush)
        except Exception as exc:  # the rows wait for the next flush
            log.error("could not write rows to %s: %s; they wait for the next flush", self.settings.serve.output,
                      one_line(exc))

    async def flush_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            if self.scoring is not None:
                await self._flush()


class _TooLarge(Exception):
    """A body over source.max_frame_mb or serve.queue_mb: 413, its connection closed."""


def _error(status: int, message: str, *, retry_after: int | None = None) -> web.Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return web.json_response({"error": message}, status=status, headers=headers)


def port_of(settings: Settings) -> int:
    """serve.port, else $PORT (as serverless containers set it), else 8080."""
    if settings.serve.port is not None:
        return settings.serve.port
    given = os.environ.get("PORT")
    if given:
        if not given.isdigit() or not 0 < int(given) < 65536:
            raise ConfigError(f"$PORT must be a port number, 1 to 65535; got {given!r}")
        return int(given)
    return DEFAULT_PORT


async def serve(settings: Settings) -> None:
    """Listens, loads the model (``/readyz`` 503 meanwhile), serves until SIGTERM or SIGINT, then drains:
    stops accepting, finishes the requests in flight and writes every row within serve.drain_seconds.

    Raises:
        CamscoreError: the model cannot be loaded (ModelError) or the settings are wrong (ConfigError).
    """
    service = Service(settings)
    port = port_of(settings)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # A client that goes away (its own timeout, a platform's) takes its request out of the queue: its frames
    # would be scored for no one, and make every later request's wait longer.
    runner = web.AppRunner(service.app(), handle_signals=False, access_log=None, handler_cancellation=True,
                           shutdown_timeout=settings.serve.drain_seconds)
    await runner.setup()
    await web.TCPSite(runner, settings.serve.host, port).start()
    log.info("listening on http://%s:%d (model %s loading)", settings.serve.host, port, settings.serve.model)
    loading = loop.run_in_executor(None, Scoring, settings, service.metrics)
    waiting = loop.create_task(stop.wait())
    await asyncio.wait({loading, waiting}, return_when=asyncio.FIRST_COMPLETED)
    try:
        if not loading.done():
            await runner.cleanup()
            return
        service.scoring = loading.result()  # raises what loading raised
        log.info("ready: model %s loaded and warmed in %.1fs", service.scoring.model_id,
                 service.scoring.load_seconds)
        flusher = loop.create_task(service.flush_every(settings.serve.flush_seconds))
        await waiting
        log.info("stopping: finishing the %d frames queued, then writing the rows", service.queue.frames)
        started = time.perf_counter()
        await runner.cleanup()
        flusher.cancel()
        if service.page is not None:
            service.page.close()
        await loop.run_in_executor(None, service.scoring.close)
        log.info("stopped in %.1fs; %d rows written in all", time.perf_counter() - started,
                 service.scoring.rows.written if service.scoring.rows else 0)
    except CamscoreError:
        await runner.cleanup()
        raise
