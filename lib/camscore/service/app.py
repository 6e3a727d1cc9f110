"""The HTTP service: ``POST /score`` (image bytes), ``POST /`` (an upload event), ``GET /healthz``,
``/readyz`` and ``/metrics``.

aiohttp serves it: a request's headers and body are read by the event loop, so a client that sends them
slowly holds no thread and delays no one; the body limit is checked from Content-Length before the body is
read (and while it streams, for a chunked one). Frames are fetched on the fetch threads and scored on the
scoring threads (camscore.service.batcher), at most ``serve.max_in_flight`` at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import json
import logging
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable

from aiohttp import web

from camscore.config import Settings
from camscore.errors import CamscoreError, ConfigError, one_line
from camscore.service.events import EventError, objects_of
from camscore.service.metrics import CONTENT_TYPE, Metrics
from camscore.rows import FrameRead
from camscore.service.scoring import Scoring

log = logging.getLogger(__name__)

DEFAULT_PORT = 8080
_OPEN = ("/healthz", "/readyz")  # answered without the token: platforms' probes carry none


class Service:
    """The state requests share: the scoring (once loaded), the frames in flight, the metrics."""

    def __init__(self, settings: Settings):
        self.settings, self.metrics = settings, Metrics()
        self.scoring: Scoring | None = None
        self.in_flight = 0
        self.token = os.environ.get(settings.serve.token_env) if settings.serve.token_env else None
        if settings.serve.token_env and not self.token:
            raise ConfigError(f"serve.token_env names {settings.serve.token_env}, which is not set")
        self.flushing: asyncio.Task | None = None
        # Events wait on these threads for their frames' fetches and scores (done by the fetch and scoring threads).
        self.workers = ThreadPoolExecutor(max_workers=settings.serve.max_in_flight, thread_name_prefix="camscore-event")

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.settings.source.max_frame_mb * 2 ** 20,
                              middlewares=[self._guard])
        app.router.add_post("/score", self.score)
        app.router.add_post("/", self.event)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics_text)
        return app

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
            faults = await asyncio.get_running_loop().run_in_executor(
                None, self.scoring.cameras.faults, dt.datetime.now(dt.timezone.utc))
            self.metrics.set_camera_faults(faults)
        return web.Response(body=self.metrics.text(), headers={"Content-Type": CONTENT_TYPE})

    async def score(self, request: web.Request) -> web.Response:
        """The image in the body, scored: one frame's answer, its error kind included (200)."""
        refused = self._refuse(request, 1)
        if refused:
            return refused
        body = await self._body(request)
        self.in_flight += 1
        self.metrics.in_flight.inc()
        try:
            started = time.perf_counter()
            scored = await self._within_deadline(asyncio.wrap_future(self.scoring.submit([FrameRead(body)])))
            return web.json_response(self.scoring.answers(scored, time.perf_counter() - started)[0])
        finally:
            self.in_flight -= 1
            self.metrics.in_flight.dec()

    async def event(self, request: web.Request) -> web.Response:
        """The frames an upload event names, fetched and scored: a list of answers, one per frame."""
        refused = self._refuse(request, 0)
        if refused:
            return refused
        try:
            objects = objects_of(await self._body(request), request.headers)
        except EventError as exc:
            return _error(exc.status, str(exc))
        refused = self._refuse(request, len(objects))
        if refused:
            return refused
        self.in_flight += len(objects)
        self.metrics.in_flight.inc(len(objects))
        try:
            work = asyncio.get_running_loop().run_in_executor(self.workers, self.scoring.score_objects, objects)
            answers, full = await self._within_deadline(work)
            if full:
                self._flush_soon()
        finally:
            self.in_flight -= len(objects)
            self.metrics.in_flight.dec(len(objects))
        return web.json_response(answers)

    def _refuse(self, request: web.Request, frames: int) -> web.Response | None:
        """503 while loading or past max_in_flight; 413 for a body declared over source.max_frame_mb."""
        limit = self.settings.source.max_frame_mb * 2 ** 20
        if request.content_length is not None and request.content_length > limit:
            response = _error(413, f"the body is {request.content_length} bytes, over source.max_frame_mb "
                                   f"{self.settings.source.max_frame_mb}")
            response.force_close()  # its body is never read
            return response
        if self.scoring is None:
            return _error(503, "the model is loading", retry_after=1)
        # An event of more frames than the bound runs alone rather than never.
        if frames and self.in_flight and self.in_flight + frames > self.settings.serve.max_in_flight:
            return _error(503, f"{self.in_flight} frames in flight, at serve.max_in_flight "
                               f"{self.settings.serve.max_in_flight}", retry_after=1)
        return None

    async def _body(self, request: web.Request) -> bytes:
        try:
            return await asyncio.wait_for(request.read(), self.settings.serve.header_seconds)
        except asyncio.TimeoutError:
            raise web.HTTPRequestTimeout(reason=f"the body took over serve.header_seconds "
                                                f"{self.settings.serve.header_seconds}") from None

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
    runner = web.AppRunner(service.app(), handle_signals=False, access_log=None,
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
        log.info("stopping: finishing %d frames in flight, then writing the rows", service.in_flight)
        started = time.perf_counter()
        await runner.cleanup()
        flusher.cancel()
        service.workers.shutdown(wait=True)
        await loop.run_in_executor(None, service.scoring.close)
        log.info("stopped in %.1fs; %d rows written in all", time.perf_counter() - started,
                 service.scoring.rows.written if service.scoring.rows else 0)
    except CamscoreError:
        await runner.cleanup()
        raise
