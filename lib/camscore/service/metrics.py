"""What /metrics tells Prometheus: requests and frames by outcome, latency, the queue (frames, bytes, estimated
wait) and refusals, rows, the cameras at fault and the fleet's quiet."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from camscore.service.admission import REASONS

CONTENT_TYPE = CONTENT_TYPE_LATEST
disable_created_metrics()  # a _created series per counter doubles the text for nothing an operator reads


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("camscore_requests", "requests answered, by endpoint and HTTP status",
                                ("endpoint", "status"), registry=self.registry)
        self.frames = Counter("camscore_frames", "frames scored, by outcome: scored, or the error kind",
                              ("outcome",), registry=self.registry)
        self.latency = Histogram("camscore_request_seconds", "seconds from a request's body to its answer",
                                 ("endpoint",), registry=self.registry,
                                 buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.queue_frames = Gauge("camscore_queue_frames", "frames of the requests taken and not yet answered: "
                                                           "being fetched, waiting or being scored",
                                  registry=self.registry)
        self.queue_bytes = Gauge("camscore_queue_bytes", "bytes the requests taken hold: bodies and fetched frames",
                                 registry=self.registry)
        self.queue_wait = Gauge("camscore_queue_wait_seconds", "estimated seconds until the frames queued now are "
                                                               "scored (a new request's wait)", registry=self.registry)
        self.frame_seconds = Gauge("camscore_frame_seconds", "seconds the scoring takes a frame, its threads "
                                                             "together (the last batches' pace)",
                                   registry=self.registry)
        self.refusals = Counter("camscore_refusals", "requests answered 503 at once, by reason: loading, time "
                                                     "(over serve.request_seconds) or memory (over serve.queue_mb)",
                                ("reason",), registry=self.registry)
        for reason in REASONS:  # each told from the start, 0 until it happens
            self.refusals.labels(reason=reason)
        self.rows_buffered = Gauge("camscore_rows_buffered", "rows scored and not yet written",
                                   registry=self.registry)
        self.rows_written = Counter("camscore_rows_written", "rows written to the output",
                                    registry=self.registry)
        self.duplicates = Counter("camscore_duplicate_events", "frames an event named again, answered without a "
                                                               "new row", registry=self.registry)
        self.camera_faults = Gauge("camscore_camera_fault", "1 for each fault that lasts at a camera whose frames "
                                                            "this process scored (camera health)",
                                   ("camera_id", "status"), registry=self.registry)
        self.fleet_quiet = Gauge("camscore_fleet_quiet_cameras", "cameras quiet together now, most of those this "
                                                                 "process watches (night, the site, the upload "
                                                                 "path): the fleet's quiet, no camera's fault; 0: none",
                                 registry=self.registry)

    def set_camera_faults(self, faults: dict[str, list[str]]) -> None:
        """The cameras' faults that last now, in place of the last ones told."""
        self.camera_faults.clear()
        for camera, statuses in faults.items():
            for status in statuses:
                self.camera_faults.labels(camera_id=camera, status=status).set(1)

    def text(self) -> bytes:
        return generate_latest(self.registry)
