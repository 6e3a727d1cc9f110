"""ResNet50 features of decoded frames. No Spark here.

One graph serves both feature layers: Keras' ResNet50 with its top, cut at
``avg_pool`` (2048 values) or left whole at ``predictions`` (1000 ImageNet
class probabilities, as the original notebook used). So one weights file, the
full model's, serves both layers.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import logging
import os
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from botocore.exceptions import BotoCoreError, ClientError

from camscore import storage
from camscore.config import S3Settings
from camscore.errors import ModelError
from camscore.packages import CACHE_ROOT

log = logging.getLogger(__name__)

ARCH = "resnet50"
INPUT_SIZE = 224
# keras.applications.resnet50.preprocess_input: RGB to BGR, minus the ImageNet channel means.
PREPROCESSING = "caffe"
FEATURE_SIZES = {"avg_pool": 2048, "predictions": 1000}
RUNTIMES = ("keras", "openvino")
PRECISIONS = ("fp32", "bf16", "int8")
# What the training job featurizes with unless the config says otherwise; a model is then scored with it.
# The parity rule (README, Benchmark): the fastest precision whose booster keeps CV AUC within 0.005 of
# Keras fp32's on real photos. int8 did (-0.002, at 3.5x fp32's frames/s); Keras stays fp32.
TRAINING_RUNTIME = "openvino"
TRAINING_PRECISION = {"openvino": "int8", "keras": "fp32"}
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
# OpenVINO runs a batch in slices of this many frames: measured with one bf16 thread per worker,
# 8 or 16 frames ran at 131 frames/s a worker, 32 at 124, 64 at 104 (activations outgrow the cache).
_OPENVINO_CHUNK = 16
WEIGHTS_HELP = ("use weights: imagenet (Keras download and cache), a weights file path, "
                "an s3:// URI of one, or none (seeded random weights)")


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
    """

    layer: str
    weights: str
    weights_source: str
    runtime: str = "keras"
    precision: str = "fp32"
    graph: str = ""
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
        known = {"layer", "weights", "weights_source", "runtime", "precision", "graph", "arch", "input_size",
                 "preprocessing"}
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass(frozen=True)
class Weights:
    """ResNet50 weights as arrays (what the driver broadcasts) and their identity."""

    identity: str
    source: str
    arrays: tuple[np.ndarray, ...]


def check_layer(layer: str) -> None:
    if layer not in FEATURE_SIZES:
        raise ModelError(f"unknown feature layer {layer!r}; allowed: {', '.join(FEATURE_SIZES)}")


def weights_identity(source: str, *, seed: int, s3: S3Settings) -> str:
    """The identity a weights source would have, without building the model."""
    if source == "imagenet":
        return "imagenet"
    if source == "none":
        return f"none:seed={seed}"
    return "sha256:" + hashlib.sha256(_weights_bytes(source, s3)).hexdigest()


def load_weights(source: str, *, seed: int = 0, s3: S3Settings = S3Settings()) -> Weights:
    """Loads ResNet50 weights (with top) once per process.

    Args:
        source: ``imagenet``, a weights file path, an ``s3://`` URI, or ``none``.
        seed: seed of the random weights when ``source`` is ``none``.
        s3: how to reach an ``s3://`` weights file.

    Raises:
        ModelError: the weights cannot be found, fetched or loaded; the message
            names the other sources.
    """
    if source in ("imagenet", "none"):
        return _load_builtin(source, seed)
    data = _weights_bytes(source, s3)
    return _load_file(source, data)


def require_keras():
    """Keras, or a ModelError that says where it is needed; the scoring environment may leave it out."""
    # TensorFlow reads its log level once, when it loads: only warnings and errors.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras
    except ImportError as exc:
        raise ModelError("Keras and TensorFlow are not installed here: they load weights where a model is made "
                         "(training, import-booster) and run runtime keras; install camscore[train], or score "
                         "a model directory that carries its OpenVINO featurizer") from exc
    return keras


@functools.lru_cache(maxsize=2)
def _load_builtin(source: str, seed: int) -> Weights:
    keras = require_keras()

    if source == "none":
        keras.utils.set_random_seed(seed)
        model = keras.applications.ResNet50(weights=None, include_top=True)
        return Weights(f"none:seed={seed}", "none", tuple(model.get_weights()))
    try:
        model = keras.applications.ResNet50(weights="imagenet", include_top=True)
    except Exception as exc:  # Keras' get_file wraps every download failure in a bare Exception.
        raise ModelError(
            f"cannot download the ImageNet weights of ResNet50 ({exc}); without internet use weights: "
            f"a weights file path, an s3:// URI of one, or none (seeded random weights)") from exc
    return Weights("imagenet", "imagenet", tuple(model.get_weights()))


def _weights_bytes(source: str, s3: S3Settings) -> bytes:
    try:
        return storage.read_bytes(source, s3)
    except FileNotFoundError:
        raise ModelError(f"weights file not found: {source}; {WEIGHTS_HELP}") from None
    except OSError as exc:
        raise ModelError(f"cannot read weights file {source}: {exc}; {WEIGHTS_HELP}") from exc
    except (BotoCoreError, ClientError) as exc:
        raise ModelError(f"cannot fetch weights {source}: {exc}; {WEIGHTS_HELP}") from exc


@functools.lru_cache(maxsize=2)
def _load_file(source: str, data: bytes) -> Weights:
    keras = require_keras()

    suffix = ".weights.h5" if source.endswith(".weights.h5") else Path(source).suffix or ".h5"
    with tempfile.TemporaryDirectory() as folder:
        local = Path(folder) / f"resnet50{suffix}"
        local.write_bytes(data)
        try:
            model = keras.applications.ResNet50(weights=str(local), include_top=True)
        except (ValueError, OSError) as exc:
            raise ModelError(
                f"weights file {source} does not load into ResNet50 with its top "
                f"(include_top=True, 1000 classes): {exc}") from exc
    return Weights("sha256:" + hashlib.sha256(data).hexdigest(), source, tuple(model.get_weights()))


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

    def read(self, core):
        """The model as an ``openvino.Model`` of ``core``."""
        import openvino as ov

        return core.read_model(model=self.xml.decode(), weights=ov.Tensor(np.frombuffer(self.bin, dtype=np.uint8)))


@dataclass(frozen=True)
class Graph:
    """The featurizer as Python workers receive it: made once on the driver, then broadcast.

    Attributes:
        layer: avg_pool or predictions.
        runtime: keras, or openvino (converted from the same Keras graph and weights).
        precision: fp32; bf16 (Keras mixed_bfloat16 policy, OpenVINO's bf16
            inference precision); int8 (an OpenVINO model quantized by NNCF).
        weights: the Keras weights (keras runtime).
        openvino: the OpenVINO model (openvino runtime).
    """

    layer: str
    runtime: str = "keras"
    precision: str = "fp32"
    weights: tuple[np.ndarray, ...] = ()
    openvino: OpenVinoModel | None = None

    @property
    def identity(self) -> str:
        """What FeaturizerSpec.graph records: the OpenVINO model's identity, empty for keras."""
        return self.openvino.identity if self.openvino else ""


def check_runtime(runtime: str, precision: str) -> None:
    if runtime not in RUNTIMES or precision not in PRECISIONS or (runtime, precision) == ("keras", "int8"):
        raise ModelError(f"runtime must be one of {', '.join(RUNTIMES)} and precision one of "
                         f"{', '.join(PRECISIONS)} (int8 with openvino only); "
                         f"got runtime={runtime!r}, precision={precision!r}")


def make_graph(weights: Weights, *, layer: str, runtime: str = "keras", precision: str = "fp32",
               cache_dir: Path | None = None) -> Graph:
    """Builds what workers need for this runtime from the weights; the OpenVINO conversion is cached on disk.

    Args:
        weights: the ResNet50 weights (with top).
        layer: the feature layer.
        runtime: keras or openvino.
        precision: fp32 or bf16 (int8 needs calibration frames: see quantized).
        cache_dir: where converted OpenVINO models are kept (default ~/.cache/camscore/openvino).
    """
    check_layer(layer)
    check_runtime(runtime, precision)
    if precision == "int8":
        raise ModelError("an int8 featurizer is quantized on frames of the training set: train with "
                         "featurizer.precision: int8, or score a model made that way")
    if runtime == "keras":
        return Graph(layer, runtime, precision, weights=weights.arrays)
    converted = _openvino_ir(weights, layer, cache_dir or CACHE_ROOT / "openvino")
    return Graph(layer, runtime, precision, openvino=converted)


def graph_for(weights: Weights, *, layer: str, runtime: str, precision: str,
              calibration: np.ndarray | None = None) -> Graph:
    """The graph of any runtime and precision: int8 is the fp32 OpenVINO model quantized on ``calibration``.

    Raises:
        ModelError: int8 without calibration frames, or calibration frames without int8.
    """
    check_runtime(runtime, precision)
    if (precision == "int8") != (calibration is not None):
        raise ModelError("precision int8 is quantized on calibration frames: give both, or neither; got "
                         f"precision={precision!r} and {'no ' if calibration is None else ''}calibration frames")
    if precision != "int8":
        return make_graph(weights, layer=layer, runtime=runtime, precision=precision)
    return quantized(make_graph(weights, layer=layer, runtime=runtime), calibration)


def openvino_graph(model: OpenVinoModel, *, layer: str, precision: str) -> Graph:
    """A graph from a converted model (a model directory's), without Keras or TensorFlow."""
    check_layer(layer)
    check_runtime("openvino", precision)
    return Graph(layer, "openvino", precision, openvino=model)


def quantized(graph: Graph, frames: np.ndarray, *, cache_dir: Path | None = None) -> Graph:
    """The int8 graph: the fp32 OpenVINO model quantized by NNCF, calibrated on ``frames``; cached on disk.

    Args:
        graph: an openvino graph (fp32 or bf16: the same converted model).
        frames: ``(n, 224, 224, 3)`` uint8 RGB calibration frames (a few hundred of the training set).
        cache_dir: where quantized models are kept (default ~/.cache/camscore/openvino).
    """
    import nncf
    import openvino as ov

    nncf.set_log_level(logging.WARNING)
    if graph.openvino is None or len(frames) == 0:
        raise ValueError("quantizing needs an openvino graph and at least one calibration frame")
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    key = hashlib.sha256(json.dumps([graph.identity, hashlib.sha256(frames.tobytes()).hexdigest(), list(frames.shape),
                                     nncf.__version__, ov.__version__]).encode()).hexdigest()[:16]

    def quantize(target: Path) -> None:
        model = graph.openvino.read(ov.Core())
        # One item is one frame as the model takes it; the preprocessing is inside the model.
        calibration = nncf.Dataset(frames, lambda frame: frame[None])
        with contextlib.redirect_stdout(io.StringIO()):  # NNCF draws progress bars on stdout
            result = nncf.quantize(model, calibration, subset_size=len(frames),
                                   preset=nncf.QuantizationPreset.PERFORMANCE, target_device=nncf.TargetDevice.CPU)
        ov.save_model(result, target, compress_to_fp16=False)

    converted = _cached_ir((cache_dir or CACHE_ROOT / "openvino") / f"int8-{key}", quantize)
    return Graph(graph.layer, "openvino", "int8", openvino=converted)


def _cached_ir(folder: Path, make) -> OpenVinoModel:
    """The model ``make(path.xml)`` writes, made once: a finished folder holds both files."""
    xml_path = folder / "resnet50.xml"
    if not xml_path.exists():
        partial = folder / f"partial-{os.getpid()}"
        partial.mkdir(parents=True, exist_ok=True)
        make(partial / "resnet50.xml")
        for name in ("resnet50.bin", "resnet50.xml"):  # xml last: its presence means the pair is whole
            os.replace(partial / name, folder / name)
        partial.rmdir()
    return OpenVinoModel(xml_path.read_bytes(), xml_path.with_suffix(".bin").read_bytes())


def _keras_model(layer: str, arrays: tuple[np.ndarray, ...], precision: str):
    keras = require_keras()

    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16" if precision == "bf16" else "float32")
    try:
        full = keras.applications.ResNet50(weights=None, include_top=True)
    finally:
        keras.config.set_dtype_policy(policy)
    full.set_weights(list(arrays))
    return full if layer == "predictions" else keras.Model(full.input, full.get_layer(layer).output)


def _openvino_ir(weights: Weights, layer: str, cache_dir: Path) -> OpenVinoModel:
    import openvino as ov

    keras = require_keras()

    key = hashlib.sha256(json.dumps([weights.identity, layer, PREPROCESSING, ov.__version__,
                                     keras.__version__]).encode()).hexdigest()[:16]

    def convert(target: Path) -> None:
        with warnings.catch_warnings():  # Keras warns that the tracer passes its input as a tuple
            warnings.simplefilter("ignore", UserWarning)
            converted = ov.convert_model(_keras_model(layer, weights.arrays, "fp32"),
                                         input=[(-1, INPUT_SIZE, INPUT_SIZE, 3)])
        steps = ov.preprocess.PrePostProcessor(converted)
        steps.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC"))
        steps.input().model().set_layout(ov.Layout("NHWC"))
        # The same arithmetic as keras' resnet50.preprocess_input ("caffe"): RGB to BGR, minus BGR means.
        steps.input().preprocess().convert_element_type(ov.Type.f32).reverse_channels().mean(list(_CAFFE_MEAN_BGR))
        ov.save_model(steps.build(), target, compress_to_fp16=False)

    return _cached_ir(cache_dir / key, convert)


class Featurizer:
    """Turns uint8 RGB frames into feature vectors; built once per Python worker."""

    def __init__(self, graph: Graph, *, threads: int | None = None):
        self.layer = graph.layer
        self.feature_size = FEATURE_SIZES[graph.layer]
        self.runtime = graph.runtime
        if graph.runtime == "openvino":
            import openvino as ov

            core = ov.Core()
            model = graph.openvino.read(core)
            config = {"INFERENCE_PRECISION_HINT": "bf16" if graph.precision == "bf16" else "f32",
                      "PERFORMANCE_HINT": "LATENCY"}
            if threads:
                # Spark runs one such process per task slot; pinned threads would all land on the
                # same cores (measured: two 1-thread workers at half speed each).
                config["INFERENCE_NUM_THREADS"] = threads
                config["ENABLE_CPU_PINNING"] = False
            self._compiled = core.compile_model(model, "CPU", config)
        else:
            _limit_threads(threads)
            self._model = _keras_model(graph.layer, graph.weights, graph.precision)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """Features of a ``(n, 224, 224, 3)`` uint8 RGB batch as an ``(n, feature_size)`` float32 array."""
        if len(frames) == 0:
            return np.zeros((0, self.feature_size), dtype=np.float32)
        if self.runtime == "openvino":
            frames = np.ascontiguousarray(frames, dtype=np.uint8)
            features = np.concatenate([
                np.asarray(self._compiled(frames[start:start + _OPENVINO_CHUNK])[0], dtype=np.float32)
                for start in range(0, len(frames), _OPENVINO_CHUNK)])
        else:
            from keras.applications.resnet50 import preprocess_input

            features = np.asarray(self._model.predict_on_batch(preprocess_input(frames.astype(np.float32))),
                                  dtype=np.float32)
        if features.shape != (len(frames), self.feature_size):
            raise RuntimeError(f"featurizer returned {features.shape} for {len(frames)} frames")
        return features


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
            log.warning("camscore: TensorFlow runs %d threads here, not %d (it started before)",
                        tf.config.threading.get_intra_op_parallelism_threads(), threads)
