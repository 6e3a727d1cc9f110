"""The featurizer's graph of a runtime and precision: Keras' ResNet50 converted to OpenVINO, quantized by NNCF.

Both are cached on disk (~/.cache/camscore/openvino): a conversion is made once
per weights, layer and library versions; an int8 model once per converted
model and calibration frames.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from camscore.cache import CACHE_ROOT
from camscore.errors import ModelError
from camscore.model.featurizer import (INPUT_SIZE, PREPROCESSING, Graph, KerasGraph, OpenVinoGraph, OpenVinoModel,
                                 check_layer, check_runtime, keras_model, require_keras)
from camscore.model.weights import Weights

if TYPE_CHECKING:
    import openvino as ov

_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


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
        return KerasGraph(layer=layer, precision=precision, weights=weights.arrays)
    converted = _openvino_ir(weights, layer, cache_dir or CACHE_ROOT / "openvino")
    return OpenVinoGraph(layer=layer, precision=precision, model=converted)


def graph_for(weights: Weights, *, layer: str, runtime: str, precision: str,
              calibration: np.ndarray | None = None, faithful: bool = False) -> Graph:
    """The graph of any runtime and precision: int8 is the fp32 OpenVINO model quantized on ``calibration``
    (``faithful``: see quantized).

    Raises:
        ModelError: int8 without calibration frames, or calibration frames without int8.
    """
    check_runtime(runtime, precision)
    if (precision == "int8") != (calibration is not None):
        raise ModelError("precision int8 is quantized on calibration frames: give both, or neither; got "
                         f"precision={precision!r} and {'no ' if calibration is None else ''}calibration frames")
    if precision != "int8":
        return make_graph(weights, layer=layer, runtime=runtime, precision=precision)
    return quantized(make_graph(weights, layer=layer, runtime=runtime), calibration, faithful=faithful)


def quantized(graph: OpenVinoGraph, frames: np.ndarray, *, faithful: bool = False,
              cache_dir: Path | None = None) -> OpenVinoGraph:
    """The int8 graph: the fp32 OpenVINO model quantized by NNCF, calibrated on ``frames``; cached on disk.

    Args:
        graph: an openvino graph (fp32 or bf16: the same converted model).
        frames: ``(n, 224, 224, 3)`` uint8 RGB calibration frames (a few hundred of the training set).
        faithful: keep in fp32 what moves the features most when quantized (kept_in_fp32), for a booster
            fitted on fp32 features (import-booster); a booster trained on the int8 features themselves
            does not need it, and int8 runs about 10% faster without.
        cache_dir: where quantized models are kept (default ~/.cache/camscore/openvino).
    """
    import nncf
    import openvino as ov

    nncf.set_log_level(logging.WARNING)
    if not isinstance(graph, OpenVinoGraph) or len(frames) == 0:
        raise ValueError("quantizing needs an openvino graph and at least one calibration frame")
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    kept = kept_in_fp32(graph.model.read(ov.Core())) if faithful else []
    key = hashlib.sha256(json.dumps([graph.identity, hashlib.sha256(frames.tobytes()).hexdigest(), list(frames.shape),
                                     kept, nncf.__version__, ov.__version__]).encode()).hexdigest()[:16]

    def quantize(target: Path) -> None:
        # One item is one frame as the model takes it; the preprocessing is inside the model.
        calibration = nncf.Dataset(frames, lambda frame: frame[None])
        with contextlib.redirect_stdout(io.StringIO()):  # NNCF draws progress bars on stdout
            result = nncf.quantize(graph.model.read(ov.Core()), calibration, subset_size=len(frames),
                                   preset=nncf.QuantizationPreset.PERFORMANCE, target_device=nncf.TargetDevice.CPU,
                                   ignored_scope=nncf.IgnoredScope(names=kept) if kept else None)
        ov.save_model(result, target, compress_to_fp16=False)

    converted = _cached_ir((cache_dir or CACHE_ROOT / "openvino") / f"int8-{key}", quantize)
    return OpenVinoGraph(layer=graph.layer, precision="int8", model=converted)


def kept_in_fp32(model: ov.Model) -> list[str]:
    """The operations int8 leaves in fp32: the first convolution, which takes the picture with ImageNet's
    preprocessing folded into it, and the predictions layer's matrix product where the graph has one. Measured
    on real photos (docs/BENCHMARKS.md, faithful int8), the original booster's labels agree with fp32's more often,
    for a tenth or so of int8's frames/s."""
    ops = model.get_ordered_ops()
    first = next(op.get_friendly_name() for op in ops if op.get_type_name() == "Convolution")
    return [first, *(op.get_friendly_name() for op in ops if op.get_type_name() == "MatMul")]


def _cached_ir(folder: Path, make: Callable[[Path], None]) -> OpenVinoModel:
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


def _openvino_ir(weights: Weights, layer: str, cache_dir: Path) -> OpenVinoModel:
    import openvino as ov

    keras = require_keras()

    key = hashlib.sha256(json.dumps([weights.identity, layer, PREPROCESSING, ov.__version__,
                                     keras.__version__]).encode()).hexdigest()[:16]

    def convert(target: Path) -> None:
        with warnings.catch_warnings():  # Keras warns that the tracer passes its input as a tuple
            warnings.simplefilter("ignore", UserWarning)
            converted = ov.convert_model(keras_model(layer, weights.arrays, "fp32"),
                                         input=[(-1, INPUT_SIZE, INPUT_SIZE, 3)])
        steps = ov.preprocess.PrePostProcessor(converted)
        steps.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC"))
        steps.input().model().set_layout(ov.Layout("NHWC"))
        # The same arithmetic as keras' resnet50.preprocess_input ("caffe"): RGB to BGR, minus BGR means.
        steps.input().preprocess().convert_element_type(ov.Type.f32).reverse_channels().mean(list(_CAFFE_MEAN_BGR))
        ov.save_model(steps.build(), target, compress_to_fp16=False)

    return _cached_ir(cache_dir / key, convert)
