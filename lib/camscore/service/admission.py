"""Which requests the service takes. A request waits in the queue while the frames ahead of it and its own can
be scored within ``serve.request_seconds`` at the batcher's measured pace, and while its body fits beside the
bytes the requests taken hold (``serve.queue_mb``); otherwise it is refused at once, 503 with a Retry-After of
the queue's estimated wait, so that the platform retries later or sends it to another instance.

Plain accounting in the event loop's thread: no locks, no I/O. Frames count from the moment a request is taken
(an event's while they are fetched too) until it is answered."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

REASONS = ("loading", "time", "memory")


@dataclass(frozen=True)
class Refusal:
    """Why a request is not taken.

    Attributes:
        reason: one of REASONS, the label of camscore_refusals_total.
        message: the answer's one line.
        retry_after: seconds a client should wait before trying again (the queue's estimated wait, at least 1).
    """

    reason: str
    message: str
    retry_after: int


class Admission:
    """The queue's frames and bytes, and the wait they make at ``frame_seconds()`` a frame."""

    def __init__(self, *, request_seconds: float, queue_bytes: int, frame_seconds: Callable[[], float]):
        self.request_seconds, self.queue_bytes, self.frame_seconds = request_seconds, queue_bytes, frame_seconds
        self.frames = 0
        self.bytes = 0
        self.frame_bytes = 0.0  # the frames' usual size, from those seen: what an event's unfetched frames will hold

    def saw(self, sizes: list[int]) -> None:
        """Frames' sizes, as they were read: the usual size follows them."""
        for size in sizes:
            self.frame_bytes = size if not self.frame_bytes else 0.9 * self.frame_bytes + 0.1 * size

    def wait_seconds(self) -> float:
        """The estimated seconds until the frames queued now are scored."""
        return self.frames * self.frame_seconds()

    def request(self) -> Held:
        """What a new request will hold; give it back with ``Held.release`` once it is answered."""
        return Held(self)

    def refusal(self, reason: str, message: str) -> Refusal:
        return Refusal(reason, message, max(1, math.ceil(self.wait_seconds())))


class Held:
    """The frames and bytes one request holds in the queue."""

    def __init__(self, admission: Admission):
        self._admission = admission
        self.frames = 0
        self.bytes = 0

    def take_frames(self, count: int) -> Refusal | None:
        """Queues ``count`` frames if they and the frames ahead can be scored within the budget, or if none is
        ahead (an event of more frames than the budget holds runs alone rather than never); else the refusal."""
        queue = self._admission
        ahead = queue.frames
        if count and ahead and (ahead + count) * queue.frame_seconds() > queue.request_seconds:
            return queue.refusal("time", f"{ahead} frames queued, an estimated {queue.wait_seconds():.1f} s: with "
                                         f"this request's {count} they would take over serve.request_seconds "
                                         f"{queue.request_seconds:g}")
        queue.frames += count
        self.frames += count
        return None

    def take_bytes(self, count: int) -> Refusal | None:
        """Holds ``count`` bytes of a body if they fit beside those held; else the refusal."""
        queue = self._admission
        if queue.bytes + count > queue.queue_bytes:
            return queue.refusal("memory", f"{queue.bytes} bytes held by the requests queued; {count} more would "
                                           f"pass serve.queue_mb {queue.queue_bytes // 2 ** 20}")
        self.add_bytes(count)
        return None

    def add_bytes(self, count: int) -> None:
        """Holds ``count`` more bytes (fewer, when negative) without asking: what an event's fetched frames hold
        beyond what was expected of them."""
        self._admission.bytes += count
        self.bytes += count

    def release(self) -> None:
        """Gives back everything the request holds."""
        self._admission.frames -= self.frames
        self._admission.bytes -= self.bytes
        self.frames = self.bytes = 0
