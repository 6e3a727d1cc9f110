"""The LightGBM booster: read from its text, its feature count checked, probabilities and labels. No Spark and
no I/O here.

camscore.model.model_dir says what a model directory holds (the booster beside its manifest) and reads and
writes it.
"""

from __future__ import annotations

import functools
import logging
import re
import threading

import numpy as np

from camscore.errors import ModelError
from camscore.model.unimportable import unimportable

log = logging.getLogger(__name__)


# lightgbm imports scikit-learn for its estimators wherever it is installed (0.8 s of each Spark worker's and the
# driver's start here); camscore uses only Booster and train.
with unimportable("sklearn"):
    import lightgbm


class LightGBMLog:
    """LightGBM's own messages as log records (it prints them on stdout otherwise).

    A booster file written by an older LightGBM names parameters this one ignores,
    and it says so once per parameter each time the file is read: that becomes one
    INFO line per process, each parameter at DEBUG.
    """

    _IGNORED = re.compile(r"\[LightGBM\] \[Warning\] Ignoring unrecognized parameter '([^']+)'")

    def __init__(self) -> None:
        self.ignored: set[str] = set()

    def info(self, message: str) -> None:
        found = self._IGNORED.match(message)
        if found:
            if not self.ignored:
                log.info("LightGBM ignores parameters of an older version in the booster file "
                         "(first: %s); no effect on predictions", found.group(1))
            self.ignored.add(found.group(1))
            log.debug("%s", message)
        elif message.startswith("[LightGBM] [Warning]"):
            log.warning("%s", message)
        else:
            log.debug("%s", message)

    def warning(self, message: str) -> None:
        log.warning("%s", message)


@functools.lru_cache(maxsize=1)
def _booster_log() -> LightGBMLog:
    """Routes LightGBM's messages to logging, once per process, where a booster is first read."""
    routed = LightGBMLog()
    lightgbm.register_logger(routed)
    return routed


_THREADS_ROUTED = threading.local()


def load_booster(booster_text: str) -> lightgbm.Booster:
    """A booster from its text, LightGBM's messages routed to logging."""
    _booster_log()
    if not getattr(_THREADS_ROUTED, "done", False):
        # LightGBM's native library keeps its log callback per thread and sets it only on the thread that
        # loaded it: on any other (the service loads its model on a worker thread) it prints to stdout.
        lightgbm.basic._LIB.LGBM_RegisterLogCallback(lightgbm.basic._LIB.callback)
        _THREADS_ROUTED.done = True
    return lightgbm.Booster(model_str=booster_text)


class Classifier:
    """Probabilities and labels from feature vectors; built once per Python worker."""

    def __init__(self, booster_text: str, *, threshold: float = 0.5):
        self._booster = load_booster(booster_text)
        self.threshold = threshold
        self.feature_count = self._booster.num_feature()

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Probability of label 1 for each row of an ``(n, feature_count)`` array."""
        if len(features) == 0:
            return np.zeros(0, dtype=np.float64)
        result = np.asarray(self._booster.predict(features, num_threads=1), dtype=np.float64)
        if result.shape != (len(features),):
            raise RuntimeError(f"booster returned {result.shape} for {len(features)} rows")
        return result

    def labels(self, probabilities: np.ndarray) -> np.ndarray:
        return (probabilities >= self.threshold).astype(np.int32)


def booster_feature_count(booster_text: str, *, origin: str) -> int:
    """Number of features of a LightGBM text model; refuses anything but a binary booster."""
    try:
        booster = load_booster(booster_text)
    except lightgbm.basic.LightGBMError as exc:
        raise ModelError(f"{origin} is not a LightGBM text model: {exc}") from exc
    objective = next((line.split("=", 1)[1] for line in booster_text.splitlines()
                      if line.startswith("objective=")), "")
    if not objective.startswith("binary"):
        raise ModelError(f"{origin} has objective {objective or 'unknown'!r}; camscore needs a binary booster")
    return booster.num_feature()
