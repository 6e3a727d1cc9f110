"""The per-frame core: read bytes → decoded frame → features → probability → a score row's columns.

The same code runs in a Spark worker (camscore.stages.batches), the training job's featurization and the
service: no Spark, no I/O. A batch of reads goes through at once, as one forward pass; a frame that was
not read or does not decode keeps its error and gets no features, and the others go on. Scoring also gives
each frame's picture signals (camscore.health.signals) and the hash of its bytes.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from camscore.health.signals import PictureSignals, blank_reason, picture_signals
from camscore.model.classifier import Classifier
from camscore.model.featurizer import Featurizer
from camscore.model.imaging import DecodeOptions, decode_picture
from camscore.rows import SIGNAL_COLUMNS, ErrorKind, FrameError, FrameRead, names

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Featurized:
    """A batch's features: one row of ``features`` per frame without an error, in order.

    Attributes:
        errors: one per frame: None, or why it has no features.
        signals: one per frame: its picture signals, or None (not decoded, or not asked for).
        content_sha: one per frame: the SHA-256 of its bytes (hex), or None (no bytes read, or not asked for).
        seconds: CPU seconds by stage: ``decode`` and ``signals`` (this thread's) and ``featurize`` (the
            whole process's while the featurizer ran: inference runs on threads of its own).
    """

    features: np.ndarray
    errors: list[FrameError | None]
    signals: list[PictureSignals | None] = field(default_factory=list)
    content_sha: list[str | None] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> np.ndarray:
        """Which frames have features, as a boolean mask."""
        return np.array([error is None for error in self.errors], dtype=bool)

    def per_frame(self) -> list[np.ndarray | None]:
        """Each frame's feature vector, or None for a frame with an error."""
        rows = iter(self.features)
        return [None if error else next(rows) for error in self.errors]


@dataclass(frozen=True)
class Scored:
    """A batch's outcomes, one per frame: probability, label and label name, or the error; signals and hash.

    Attributes:
        seconds: the Featurized seconds and ``classify`` (this thread's CPU: the booster predicts on it).
    """

    probability: list[float | None]
    label: list[int | None]
    label_name: list[str | None]
    errors: list[FrameError | None]
    signals: list[PictureSignals | None]
    content_sha: list[str | None]
    seconds: dict[str, float]

    def part(self, start: int, end: int) -> "Scored":
        """The outcomes of frames ``start`` to ``end`` (a request's share of a batch), with the batch's seconds."""
        return Scored(self.probability[start:end], self.label[start:end], self.label_name[start:end],
                      self.errors[start:end], self.signals[start:end], self.content_sha[start:end], self.seconds)

    def columns(self) -> dict[str, list]:
        """The columns the core decides (camscore.rows.CORE_COLUMNS), a list each."""
        return {"probability": self.probability, "label": self.label, "label_name": self.label_name,
                **error_columns(self.errors), **signal_columns(self.signals, self.content_sha)}


def error_columns(errors: Sequence[FrameError | None]) -> dict[str, list[str | None]]:
    """The ``error_kind`` and ``error`` (message) columns of a batch."""
    return {"error_kind": [error.kind.value if error else None for error in errors],
            "error": [error.message if error else None for error in errors]}


_SIGNAL_NAMES = PictureSignals.names()
assert names(SIGNAL_COLUMNS) == (*_SIGNAL_NAMES, "content_sha")


def signal_columns(signals: Sequence[PictureSignals | None], content_sha: Sequence[str | None]
                   ) -> dict[str, list]:
    """The signal columns of a batch (camscore.rows.SIGNAL_COLUMNS)."""
    values = [found.values() if found else (None,) * len(_SIGNAL_NAMES) for found in signals]
    return {**{name: [row[index] for row in values] for index, name in enumerate(_SIGNAL_NAMES)},
            "content_sha": list(content_sha)}


class FrameCore:
    """The models of one scoring or featurizing process, applied to batches of read frames.

    Args:
        featurizer: the ResNet50 featurizer.
        decode: how frames are decoded (as the model was trained).
        classifier: the booster; None when only features are wanted (training).
        label_names: the names of label 0 and label 1.
        signals: give each frame's picture signals and the hash of its bytes (scoring does).
        skip_blank: leave absolutely dark, white or uniform pictures out of the model (blank_reason): their
            rows keep their signals and get the error kind ``blank`` instead of a probability.
    """

    def __init__(self, featurizer: Featurizer, *, decode: DecodeOptions, classifier: Classifier | None = None,
                 label_names: tuple[str, str] = ("0", "1"), signals: bool = False, skip_blank: bool = False):
        self.featurizer, self.decode, self.classifier = featurizer, decode, classifier
        self._label_names = np.array(label_names, dtype=object)
        self.signals, self.skip_blank = signals or skip_blank, skip_blank

    def featurize(self, reads: Sequence[FrameRead]) -> Featurized:
        """Decodes the frames that were read and featurizes those that decode (and are not left out as blank),
        in one forward pass."""
        started = time.thread_time()
        arrays, errors, signals, hashes = [], [], [], []
        signal_seconds = 0.0
        for read in reads:
            found, error = None, read.error
            if error is None:
                try:
                    pixels, picture = decode_picture(read.data, self.decode)
                except FrameError as exc:
                    error = exc
            if self.signals:
                before = time.thread_time()
                hashes.append(hashlib.sha256(read.data).hexdigest() if read.data else None)
                found = _signals_of(picture) if error is None else None
                signal_seconds += time.thread_time() - before
                reason = blank_reason(found) if self.skip_blank and found else None
                if reason:
                    error = FrameError(ErrorKind.BLANK, f"{reason} picture, not scored (score.skip_unhealthy)")
            else:
                hashes.append(None)
            if error is None:
                arrays.append(pixels)
            errors.append(error)
            signals.append(found)
        decoded = time.thread_time()
        size = self.decode.size
        stacked = np.stack(arrays) if arrays else np.zeros((0, size, size, 3), np.uint8)
        before = time.process_time()
        features = self.featurizer(stacked)
        return Featurized(features, errors, signals, hashes, {
            "decode": decoded - started - signal_seconds, "signals": signal_seconds,
            "featurize": time.process_time() - before})

    def score(self, reads: Sequence[FrameRead]) -> Scored:
        """Each frame's probability, label and label name, or its error.

        Raises:
            ValueError: the core has no classifier.
        """
        if self.classifier is None:
            raise ValueError("a FrameCore without a classifier only featurizes")
        featurized = self.featurize(reads)
        started = time.thread_time()
        probabilities = self.classifier.probabilities(featurized.features)
        labels = self.classifier.labels(probabilities)
        found = iter(zip(probabilities.tolist(), labels.tolist()))
        probability, label, label_name = [], [], []
        for error in featurized.errors:
            value, number = (None, None) if error else next(found)
            probability.append(value)
            label.append(number)
            label_name.append(None if number is None else self._label_names[number])
        return Scored(probability, label, label_name, featurized.errors, featurized.signals, featurized.content_sha,
                      {**featurized.seconds, "classify": time.thread_time() - started})


def _signals_of(picture) -> PictureSignals | None:
    """A decoded picture's signals; None where Pillow cannot give its luma (its row still has its score)."""
    try:
        return picture_signals(picture)
    except (OSError, ValueError) as exc:
        log.debug("no picture signals: %s", exc)
        return None
