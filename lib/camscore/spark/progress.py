"""The progress line of a long Spark job: frames done of total, and frames/s."""

from __future__ import annotations

import logging
import threading
import time

from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


class Progress:
    """Prints frames done of total and frames/s while Spark works.

    Frames done is estimated from the finished tasks of the scoring stage,
    which hold similar numbers of frames.
    """

    def __init__(self, spark: SparkSession, *, total: int, every: float = 10.0):
        self._context = spark.sparkContext
        self._total = total
        self._every = every
        self._done = threading.Event()
        self._group = f"camscore-{time.time_ns()}"
        self._thread = threading.Thread(target=self._run, name="camscore-progress", daemon=True)

    def __enter__(self) -> "Progress":
        self._started = time.perf_counter()
        self._context.setJobGroup(self._group, "camscore scoring")
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        self._thread.join()
        self._context.setLocalProperty("spark.jobGroup.id", None)

    def _run(self) -> None:
        tracker, done = self._context.statusTracker(), 0
        while not self._done.wait(self._every):
            stages = [tracker.getStageInfo(stage) for job in tracker.getJobIdsForGroup(self._group)
                      for stage in (tracker.getJobInfo(job).stageIds if tracker.getJobInfo(job) else [])]
            stages = [stage for stage in stages if stage and stage.numTasks]
            if not stages:
                continue
            stage = max(stages, key=lambda s: s.numTasks)
            # Never backwards: a finished stage's information may be dropped before the job ends.
            done = max(done, round(self._total * stage.numCompletedTasks / stage.numTasks))
            elapsed = time.perf_counter() - self._started
            log.info("%d of %d frames, %.1f frames/s", done, self._total, done / elapsed)
