"""Frames from many requests scored together: each scoring thread runs the per-frame core on whatever is
waiting, up to a batch at once, so concurrent requests share forward passes; with several threads, one
decodes while another infers."""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Sequence

from camscore.model.core import FrameCore, Scored
from camscore.rows import FrameRead

_STOP = object()


class Batcher:
    """Scores submitted reads on ``threads`` threads of its own, joining what waits into batches of at most
    ``batch_size``."""

    def __init__(self, core: FrameCore, *, batch_size: int, threads: int = 1):
        self.core, self.batch_size = core, batch_size
        self._waiting: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._run, name=f"camscore-score-{n}", daemon=True)
                         for n in range(threads)]
        for thread in self._threads:
            thread.start()

    def submit(self, reads: Sequence[FrameRead]) -> Future[Scored]:
        """The reads' Scored, in their order, once the scoring thread gets to them."""
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
            first = held or self._waiting.get()
            held = None
            if first is _STOP:
                return
            batch = [first]
            size = len(first[0])
            while size < self.batch_size:
                try:
                    item = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP or size + len(item[0]) > self.batch_size:
                    held = item
                    break
                batch.append(item)
                size += len(item[0])
            try:
                self._score(batch)
            except Exception as exc:  # the batch failed as a whole: its requests are told, the thread goes on
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)

    def _score(self, batch: list[tuple[list[FrameRead], Future]]) -> None:
        scored = self.core.score([read for reads, _ in batch for read in reads])
        start = 0
        for reads, done in batch:
            end = start + len(reads)
            done.set_result(scored.part(start, end))
            start = end
