"""ResNet50 features of decoded frames: the featurizer's graphs and inference. No Spark and no I/O here.

One graph serves both feature layers: Keras' ResNet50 with its top, cut at
``avg_pool`` (2048 values) or left whole at ``predictions`` (1000 ImageNet
class probabilities, as the original notebook used). So one weights file, the
full model's, serves both layers. camscore.model.weights loads the weights;
camscore.model.conversion converts them to OpenVINO and quantizes them. (Loading
Keras logs what TensorFlow's native code prints meanwhile: see require_keras.)
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

import numpy as np

from camscore.errors import ModelError
from camscore.model import native_stderr
from camscore.vocabulary import FEATURE_SIZES, ORIGINAL_RESAMPLE, PRECISIONS, RUNTIMES

if TYPE_CHECKING:
    import keras
    import openvino

log = logging.getLogger(__name__)

ARCH = "resnet50"
INPUT_SIZE = 224
# keras.applications.resnet50.preprocess_input: RGB to BGR, minus the ImageNet channel means.
PREPROCESSING = "caffe"
# OpenVINO runs a batch in slices of this many frames: measured with one bf16 thread per worker,
# 8 or 16 frames ran at 131 frames/s a worker, 32 at 124, 64 at 104 (activations outgrow the cache).
_OPENVINO_CHUNK = 16


@dataclass(frozen=True, kw_only=True)
class FeaturizerSpec:
    """What a booster's features were computed with; recorded in the model manifest.

    Attributes:
        layer: avg_pool or predictions.
        weights: identity of the weights: ``imagenet``, ``sha256:<hex>`` of a
            weights file, or ``none:seed=<n>`` for seeded random weights.
        weights_source: where the weights were loaded from (informational,
            used by scoring when the config names no weights).
        runtime: keras or openvino, the runtime the features were computed with.
        precision: fp32, bf16 or int8 (openvino only).
        graph: identity (``sha256:<hex>``) of the OpenVINO model the features
            came from, which the model directory carries; empty for keras.
        resample: the Pillow filter frames were resized to 224x224 with;
            nearest for manifests written before it was recorded (the original
            notebook's Keras load_img).
    """

    layer: str
    weights: str
    weights_source: str
    runtime: str = "keras"
    precision: str = "fp32"
    graph: str = ""
    resample: str = ORIGINAL_RESAMPLE
    arch: str = ARCH
    input_size: int = INPUT_SIZE
    preprocessing: str = PREPROCESSING

    @property
    def feature_size(self) -> int:
        return FEATURE_SIZES[self.layer]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "feature_size": self.feature_size}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "FeaturizerSpec":
        known = {"layer", "weights", "weights_source", "runtime", "precision", "graph", "resample", "arch",
                 "input_size", "preprocessing"}
        return cls(**{k: v for k, v in values.items() if k in known})


def check_layer(layer: str) -> None:
    if layer not in FEATURE_SIZES:
        raise ModelError(f"unknown feature layer {layer!r}; allowed: {', '.join(FEATURE_SIZES)}")


def require_keras() -> ModuleType:
    """Keras, or a ModelError that says where it is needed; the scoring environment may leave it out."""
    # TensorFlow reads its log level once, when it loads: only warnings and errors.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        with native_stderr.logged(log, debug=_TENSORFLOW_LOADING):
            import keras
    except ImportError as exc:
        raise ModelError("Keras and TensorFlow are not installed here: they load weights where a model is made "
                         "(training, import-booster) and run runtime keras; install the 'train' extra (pip install '.[train]' in camscore's checkout), or score "
                         "a model directory that carries its OpenVINO featurizer") from exc
    return keras


# What TensorFlow's C++ side prints as it loads, before its log level applies (absl is not set up yet).
_TENSORFLOW_LOADING = re.compile(r"WARNING: All log messages before absl::InitializeLog|I\d{4} .*\] ")


@dataclass(frozen=True)
class OpenVinoModel:
    """A converted featurizer in OpenVINO's IR (``.xml`` and ``.bin``): it takes uint8 RGB and does the
    ResNet50 preprocessing itself."""

    xml: bytes
    bin: bytes

    @property
    def identity(self) -> str:
        digest = hashlib.sha256(self.xml)
        digest.update(self.bin)
        return "sha256:" + digest.hexdigest()

    def read(self, core: "openvino.Core") -> "openvino.Model":
        """The model as an ``openvino.Model`` of ``core``."""
        import openvino as ov

        return core.read_model(model=self.xml.decode(), weights=ov.Tensor(np.frombuffer(self.bin, dtype=np.uint8)))


def check_runtime(runtime: str, precision: str) -> None:
    if runtime not in RUNTIMES or precision not in PRECISIONS or (runtime, precision) == ("keras", "int8"):
        raise ModelError(f"runtime must be one of {', '.join(RUNTIMES)} and precision one of "
                         f"{', '.join(PRECISIONS)} (int8 with openvino only); "
                         f"got runtime={runtime!r}, precision={precision!r}")


class _CheckedGraph:
    """Refuses a layer or a precision its runtime does not have, wherever a graph is made."""

    def __post_init__(self) -> None:
        check_layer(self.layer)
        check_runtime(self.runtime, self.precision)


@dataclass(frozen=True, kw_only=True)
class KerasGraph(_CheckedGraph):
    """The featurizer as Python workers receive it for runtime keras: made once on the driver, then broadcast.

    Attributes:
        layer: avg_pool or predictions.
        precision: fp32, or bf16 (Keras' mixed_bfloat16 policy).
        weights: the ResNet50 weights (with top), as Keras' ``get_weights`` gives them.
    """

    runtime: ClassVar[str] = "keras"
    # What FeaturizerSpec.graph records: a Keras graph is its weights, whose identity the spec holds apart.
    identity: ClassVar[str] = ""

    layer: str
    precision: str
    weights: tuple[np.ndarray, ...]


@dataclass(frozen=True, kw_only=True)
class OpenVinoGraph(_CheckedGraph):
    """The featurizer as Python workers receive it for runtime openvino: made once on the driver, then broadcast.

    Attributes:
        layer: avg_pool or predictions.
        precision: fp32 or bf16 (OpenVINO's inference precision, the same
            model), or int8 (a model quantized by NNCF).
        model: the converted model.
    """

    runtime: ClassVar[str] = "openvino"

    layer: str
    precision: str
    model: OpenVinoModel

    @property
    def identity(self) -> str:
        """What FeaturizerSpec.graph records: the OpenVINO model's identity."""
        return self.model.identity


Graph = KerasGraph | OpenVinoGraph


def keras_model(layer: str, arrays: tuple[np.ndarray, ...], precision: str) -> keras.Model:
    """ResNet50 with its top and these weights, cut at ``layer``, computing in ``precision`` (fp32 or bf16)."""
    keras = require_keras()

    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16" if precision == "bf16" else "float32")
    try:
        full = keras.applications.ResNet50(weights=None, include_top=True)
    finally:
        keras.config.set_dtype_policy(policy)
    full.set_weights(list(arrays))
    return full if layer == "predictions" else keras.Model(full.input, full.get_layer(layer).output)


class Featurizer(ABC):
    """Turns uint8 RGB frames into feature vectors; built once per Python worker (see featurizer_for)."""

    def __init__(self, graph: Graph):
        self.layer = graph.layer
        self.feature_size = FEATURE_SIZES[graph.layer]

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """Features of a ``(n, 224, 224, 3)`` uint8 RGB batch as an ``(n, feature_size)`` float32 array."""
        if len(frames) == 0:
            return np.zeros((0, self.feature_size), dtype=np.float32)
        features = self._features(frames)
        if features.shape != (len(frames), self.feature_size):
            raise RuntimeError(f"featurizer returned {features.shape} for {len(frames)} frames")
        return features

    @abstractmethod
    def _features(self, frames: np.ndarray) -> np.ndarray: ...


class OpenVinoFeaturizer(Featurizer):
    """Thread-safe: each calling thread runs an inference request of its own (the service's scoring threads:
    one decodes while another infers; a lone request still has every core)."""

    def __init__(self, graph: OpenVinoGraph, *, threads: int | None = None):
        super().__init__(graph)
        import openvino as ov

        core = ov.Core()
        config = {"INFERENCE_PRECISION_HINT": "bf16" if graph.precision == "bf16" else "f32",
                  "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            # Spark runs one such process per task slot; pinned threads would all land on the
            # same cores (measured: two 1-thread workers at half speed each).
            config["INFERENCE_NUM_THREADS"] = threads
            config["ENABLE_CPU_PINNING"] = False
        self._compiled = core.compile_model(graph.model.read(core), "CPU", config)
        self._requests = threading.local()

    def _features(self, frames: np.ndarray) -> np.ndarray:
        request = getattr(self._requests, "request", None)
        if request is None:
            request = self._requests.request = self._compiled.create_infer_request()
        frames = np.ascontiguousarray(frames, dtype=np.uint8)
        return np.concatenate([
            np.array(request.infer({0: frames[start:start + _OPENVINO_CHUNK]})[0], dtype=np.float32)
            for start in range(0, len(frames), _OPENVINO_CHUNK)])


class KerasFeaturizer(Featurizer):
    def __init__(self, graph: KerasGraph, *, threads: int | None = None):
        super().__init__(graph)
        _limit_threads(threads)
        self._model = keras_model(graph.layer, graph.weights, graph.precision)

    def _features(self, frames: np.ndarray) -> np.ndarray:
        from keras.applications.resnet50 import preprocess_input

        return np.asarray(self._model.predict_on_batch(preprocess_input(frames.astype(np.float32))),
                          dtype=np.float32)


def featurizer_for(graph: Graph, *, threads: int | None = None) -> Featurizer:
    """The featurizer that runs ``graph`` in this process, on ``threads`` threads (None: the runtime's choice)."""
    runner = OpenVinoFeaturizer if isinstance(graph, OpenVinoGraph) else KerasFeaturizer
    return runner(graph, threads=threads)


def _limit_threads(threads: int | None) -> None:
    if not threads:
        return
    require_keras()  # TensorFlow with its log level set
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        # TensorFlow already started in this process, its thread pools sized: they stay as they are.
        if tf.config.threading.get_intra_op_parallelism_threads() != threads:
            log.warning("TensorFlow runs %d threads here, not %d (it started before)",
                        tf.config.threading.get_intra_op_parallelism_threads(), threads)
