"""The service's work without HTTP, shared by the HTTP server and the serverless handlers: the model loaded
once, frames scored by the per-frame core, each event's frame one row of the batch job's table.

Frames, the model directory and serve.output are reached by boto3 with the s3 settings: s3:// ones, and
gs:// ones through Cloud Storage's S3-compatible XML API (s3.endpoint_url https://storage.googleapis.com,
HMAC keys in the standard chain), so a service on Google Cloud reads Eventarc's gs:// objects and writes its
rows into a gs:// table the batch job writes through Dataproc's GCS connector."""

from __future__ import annotations

import collections
import datetime as dt
import io
import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Sequence

from camscore import storage
from camscore.config import Settings
from camscore.errors import ConfigError
from camscore.health.episodes import CameraWatch
from camscore.io import camera_and_time, read_object
from camscore.model.unimportable import unimportable

# lightgbm (which the spec's classifier imports) imports pandas wherever it is installed (0.3 s of each cold
# start); the service gives it numpy only.
with unimportable("pandas"):
    from camscore.model.spec import CoreSpec
from camscore.model.core import FrameCore, Scored
from camscore.model.model_dir import load_model
from camscore.rows import CORE_COLUMNS, ErrorKind, FrameRead, names, run_values
from camscore.service.batcher import Batcher, Pace
from camscore.service.buffer import RowBuffer
from camscore.service.events import StoredObject
from camscore.service.metrics import Metrics

log = logging.getLogger(__name__)

# Paths answered before, so that an event delivered twice costs no second row (compaction drops what
# gets past this: a path scored by the batch job, or by an earlier life of the service).
_REMEMBERED = 100_000


@dataclass
class Delivery:
    """An event's objects on their way (Scoring.deliver): the answers known already (None for the others), the
    indexes of the fresh objects, their fetches, and when it started."""

    objects: Sequence[StoredObject]
    answers: list[dict[str, Any] | None]
    fresh: list[int]
    fetches: list[Future[tuple[FrameRead, dt.datetime | None]]]
    started: float


class Scoring:
    """Loads the model directory's OpenVINO featurizer and booster, warms them, and scores frames."""

    def __init__(self, settings: Settings, metrics: Metrics | None = None):
        if not settings.serve.model:
            raise ConfigError("--model is required (or serve.model in the config file)")
        if settings.serve.output:
            storage.check_writable(settings.serve.output, s3=settings.s3)
        self.settings, self.metrics = settings, metrics or Metrics()
        started = time.perf_counter()
        files = storage.StorageFiles(settings.s3)
        model = load_model(settings.serve.model, files=files)
        self.model_id = model.manifest.model_id
        threads = settings.serve.scoring_threads or len(os.sched_getaffinity(0))
        # Only the OpenVINO featurizer the model directory carries: the service never imports Keras.
        core = CoreSpec.from_model(model, settings, files=files, carried_only=True).build()
        self.batcher = Batcher(core, batch_size=settings.featurizer.batch_size, threads=threads,
                               pace=Pace(_warm_up(core)))
        self.fetchers = ThreadPoolExecutor(max_workers=settings.s3.fetch_threads, thread_name_prefix="camscore-get")
        self.rows = (RowBuffer(settings.serve.output, s3=settings.s3, flush_rows=settings.serve.flush_rows)
                     if settings.serve.output else None)
        self._answered: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        self.cameras = CameraWatch(settings.health)
        self._lock = threading.Lock()
        self.load_seconds = time.perf_counter() - started

    def submit(self, reads: Sequence[FrameRead]) -> Future[Scored]:
        return self.batcher.submit(reads)

    def answers(self, scored: Scored, seconds: float) -> list[dict[str, Any]]:
        """What each frame of a Scored is answered (its score row's columns), counted in the metrics."""
        columns = scored.columns()
        out = []
        for index, kind in enumerate(columns["error_kind"]):
            self.metrics.frames.labels(outcome=kind or "scored").inc()
            out.append({**{name: values[index] for name, values in columns.items()}, "model": self.model_id,
                        "seconds": round(seconds, 4)})
        return out

    def score_objects(self, objects: Sequence[StoredObject]) -> tuple[list[dict[str, Any]], bool]:
        """Each object's answer, fetched (s3.* retries and deadline) and scored, its row kept for the table;
        an object answered before is answered again (``duplicate``) without a new row. Blocks (the HTTP
        service awaits the same steps: deliver, the fetches, submit, finish).

        Returns:
            The answers, in order, and whether enough rows wait to flush now.
        """
        delivery = self.deliver(objects)
        got = [future.result() for future in delivery.fetches]
        return self.finish(delivery, got, self.submit([read for read, _ in got]).result())

    def deliver(self, objects: Sequence[StoredObject]) -> Delivery:
        """An event's objects on their way: those answered before answered again (``duplicate``), the others'
        fetches started on the fetch threads."""
        delivery = Delivery(objects, [None] * len(objects), [], [], time.perf_counter())
        for index, found in enumerate(objects):
            before = self._answered.get(found.uri)
            if before is not None:
                delivery.answers[index] = {"path": found.uri, **before, "duplicate": True}
                self.metrics.duplicates.inc()
            else:
                delivery.fresh.append(index)
                delivery.fetches.append(self.fetchers.submit(
                    read_object, found.uri, s3=self.settings.s3, max_frame_mb=self.settings.source.max_frame_mb,
                    length=found.size))
        return delivery

    def finish(self, delivery: Delivery, got: Sequence[tuple[FrameRead, dt.datetime | None]],
               scored: Scored) -> tuple[list[dict[str, Any]], bool]:
        """The delivery's answers, its fetched frames (``got``, with their modification times) scored, their
        rows kept for the table; and whether enough rows wait to flush now."""
        given = self.answers(scored, time.perf_counter() - delivery.started)
        for index, answer in zip(delivery.fresh, given):
            delivery.answers[index] = {"path": delivery.objects[index].uri, **answer}
        wanted = [delivery.objects[index] for index in delivery.fresh]
        return delivery.answers, self._keep(wanted, [modified for _, modified in got], given)

    def _keep(self, objects: Sequence[StoredObject], modified: Sequence[dt.datetime | None],
              answers: Sequence[dict[str, Any]]) -> bool:
        """Remembers the answers and keeps their rows for the table; tells whether to flush now."""
        scored_at = dt.datetime.now(dt.timezone.utc)
        rows = []
        for found, when, answer in zip(objects, modified, answers):
            if not (answer["error_kind"] and ErrorKind(answer["error_kind"]).passing):
                with self._lock:  # a passing fault is read again at the next delivery: not remembered
                    self._answered[found.uri] = answer
                    while len(self._answered) > _REMEMBERED:
                        self._answered.popitem(last=False)
            camera_id, captured_at = camera_and_time(found.uri, when, source=self.settings.source)
            rows.append({"path": found.uri, "camera_id": camera_id, "captured_at": captured_at,
                         **{name: answer[name] for name in names(CORE_COLUMNS)},
                         **run_values(model_id=self.model_id, scored_at=scored_at)})
        self.cameras.add(rows)
        if self.rows is None:
            return False
        full = self.rows.add(rows)
        self.metrics.rows_buffered.set(self.rows.waiting)
        return full

    @property
    def rows_due(self) -> bool:
        """Whether serve.flush_rows rows wait to be written."""
        return self.rows is not None and self.rows.due

    def flush(self) -> int:
        """Writes the rows waiting (see RowBuffer.flush)."""
        if self.rows is None:
            return 0
        written = self.rows.flush()
        self.metrics.rows_written.inc(written)
        self.metrics.rows_buffered.set(self.rows.waiting)
        return written

    def close(self) -> None:
        """Scores what was submitted, then writes every row left."""
        self.batcher.close()
        self.fetchers.shutdown(wait=True)
        self.flush()


def _warm_up(core: FrameCore) -> float:
    """One frame through decode, featurizer and booster, so the first request pays no first-call costs; then
    once more, timed: the seconds a frame the batcher's pace starts from."""
    from PIL import Image

    buffer = io.BytesIO()
    # A picture, not a blank one: score.skip_unhealthy would leave a flat frame out of the model.
    Image.linear_gradient("L").resize((320, 240)).convert("RGB").save(buffer, format="JPEG")
    core.score([FrameRead(buffer.getvalue())])
    started = time.perf_counter()
    core.score([FrameRead(buffer.getvalue())])
    return time.perf_counter() - started
