"""The per-frame core: read bytes → decoded frame → features → probability → a score row's columns.

The same code runs in a Spark worker (camscore.stages.batches), the training job's featurization and the
service: no Spark, no I/O. A batch of reads goes through at once, as one forward pass; a frame that was
not read or does not decode keeps its error and gets no features, and the others go on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from camscore.model.classifier import Classifier
from camscore.model.featurizer import Featurizer
from camscore.model.imaging import DecodeOptions, decode_frame
from camscore.rows import FrameError, FrameRead


@dataclass(frozen=True)
class Featurized:
    """A batch's features: one row of ``features`` per frame without an error, in order.

    Attributes:
        errors: one per frame: None, or why it has no features.
        seconds: CPU seconds by stage: ``decode`` (this thread's) and ``featurize`` (the whole
            process's while the featurizer ran: inference runs on threads of its own).
    """

    features: np.ndarray
    errors: list[FrameError | None]
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
    """A batch's outcomes, one per frame: probability, label and label name, or the error.

    Attributes:
        seconds: the Featurized seconds and ``classify`` (this thread's CPU: the booster predicts on it).
    """

    probability: list[float | None]
    label: list[int | None]
    label_name: list[str | None]
    errors: list[FrameError | None]
    seconds: dict[str, float]

    def columns(self) -> dict[str, list]:
        """The score columns the core decides (camscore.rows.SCORE_COLUMNS less the frame's own)."""
        return {"probability": self.probability, "label": self.label, "label_name": self.label_name,
                **error_columns(self.errors)}


def error_columns(errors: Sequence[FrameError | None]) -> dict[str, list[str | None]]:
    """The ``error_kind`` and ``error`` (message) columns of a batch."""
    return {"error_kind": [error.kind.value if error else None for error in errors],
            "error": [error.message if error else None for error in errors]}


class FrameCore:
    """The models of one scoring or featurizing process, applied to batches of read frames.

    Args:
        featurizer: the ResNet50 featurizer.
        decode: how frames are decoded (as the model was trained).
        classifier: the booster; None when only features are wanted (training).
        label_names: the names of label 0 and label 1.
    """

    def __init__(self, featurizer: Featurizer, *, decode: DecodeOptions, classifier: Classifier | None = None,
                 label_names: tuple[str, str] = ("0", "1")):
        self.featurizer, self.decode, self.classifier = featurizer, decode, classifier
        self._label_names = np.array(label_names, dtype=object)

    def featurize(self, reads: Sequence[FrameRead]) -> Featurized:
        """Decodes the frames that were read and featurizes those that decode, in one forward pass."""
        started = time.thread_time()
        arrays, errors = [], []
        for read in reads:
            if read.error is not None:
                errors.append(read.error)
                continue
            try:
                arrays.append(decode_frame(read.data, self.decode))
                errors.append(None)
            except FrameError as exc:
                errors.append(exc)
        decoded = time.thread_time()
        size = self.decode.size
        stacked = np.stack(arrays) if arrays else np.zeros((0, size, size, 3), np.uint8)
        before = time.process_time()
        features = self.featurizer(stacked)
        return Featurized(features, errors, {"decode": decoded - started,
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
        return Scored(probability, label, label_name, featurized.errors,
                      {**featurized.seconds, "classify": time.thread_time() - started})
