"""Frames from many requests scored together: each scoring thread runs the per-frame core on whatever is
waiting, up to a batch at once, so concurrent requests share forward passes; with several threads, one
decodes while another infers. The batcher also measures its pace (seconds a frame), which the service's
admission turns into the wait a new request would have."""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from typing import Sequence

from camscore.model.core import FrameCore, Scored
from camscore.rows import FrameRead

_STOP = object()


class Pace:
    """Seconds the batcher takes a frame, its threads together: the wall time while any of them scores over the
    frames they finished, both sums decayed at each batch, so that the pace follows a change in the frames or in
    the machine's load within a few batches.

    Measured on the whole batcher rather than per thread: OpenVINO infers on every core for each thread's request,
    so the threads share the cores, and a thread's seconds a frame divided by the threads would count them twice.
    """

    def __init__(self, seed_seconds: float, *, decay: float = 0.8):
        self._seconds, self._frames, self._decay = seed_seconds, 1.0, decay
        self._lock = threading.Lock()
        self._busy = 0  # threads scoring now
        self._since = 0.0  # the start of the busy time not yet counted

    @property
    def frame_seconds(self) -> float:
        with self._lock:
            return self._seconds / self._frames

    def started(self) -> None:
        with self._lock:
            if not self._busy:
                self._since = time.perf_counter()
            self._busy += 1

    def finished(self, frames: int) -> None:
        with self._lock:
            now = time.perf_counter()
            self._seconds = self._decay * self._seconds + (now - self._since)
            self._frames = self._decay * self._frames + frames
            self._since = now
            self._busy -= 1


class Batcher:
    """Scores submitted reads on ``threads`` threads of its own, joining what waits into batches of at most
    ``batch_size``; a submission cancelled before its batch starts is left out."""

    def __init__(self, core: FrameCore, *, batch_size: int, threads: int = 1, pace: Pace):
        self.core, self.batch_size, self.pace = core, batch_size, pace
        self._waiting: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._run, name=f"camscore-score-{n}", daemon=True)
                         for n in range(threads)]
        for thread in self._threads:
            thread.start()

    def submit(self, reads: Sequence[FrameRead]) -> Future[Scored]:
        """The reads' Scored, in their order, once a scoring thread gets to them."""
        done: Future[Scored] = Future()
        self._waiting.put((list(reads), done))
        return done

    def close(self) -> None:
        """Scores what was submitted, then stops the threads."""
        for _ in self._threads:
            self._waiting.put(_STOP)
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        held = None
        while True:
            item = held or self._waiting.get()
            held = None
            batch: list[tuple[list[FrameRead], Future]] = []
            size = 0
            while True:
                if item is _STOP or (batch and size + len(item[0]) > self.batch_size):
                    held = item
                    break
                if item[1].set_running_or_notify_cancel():  # False: its request gave up waiting
                    batch.append(item)
                    size += len(item[0])
                if size >= self.batch_size:
                    break
                try:
                    item = self._waiting.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._score(batch, size)
            if held is _STOP:
                return

    def _score(self, batch: list[tuple[list[FrameRead], Future]], size: int) -> None:
        self.pace.started()
        try:
            scored = self.core.score([read for reads, _ in batch for read in reads])
        except Exception as exc:  # the batch failed as a whole: its requests are told, the thread goes on
            for _, done in batch:
                done.set_exception(exc)
            return
        finally:
            self.pace.finished(size)
        start = 0
        for reads, done in batch:
            end = start + len(reads)
            done.set_result(scored.part(start, end))
            start = end
