"""Which featurizer a run uses: the config's featurizer.* settings over the trained model's or a new model's
defaults, one resolution for scoring (the batch job and the service) and training (import-booster is told
each value)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from camscore.config import FeaturizerSettings
from camscore.errors import ModelError
from camscore.model.conversion import make_graph
from camscore.model.featurizer import FeaturizerSpec, Graph, OpenVinoGraph, check_runtime
from camscore.model.files import FileAccess
from camscore.model.model_dir import Model
from camscore.model.weights import load_weights, weights_identity
from camscore.policy import TRAINING_LAYER, TRAINING_PRECISION, TRAINING_RESAMPLE, TRAINING_RUNTIME, TRAINING_WEIGHTS
from camscore.vocabulary import FEATURE_SIZES

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class FeaturizerChoice:
    """The featurizer a run asks for, before its weights are loaded and its graph made.

    Attributes:
        weights: where the weights come from: imagenet, a file, an s3:// URI or none.
        seed: the seed of the random weights when weights is none.
        resample: the Pillow filter that resizes frames to 224x224.
    """

    layer: str
    weights: str
    seed: int
    runtime: str
    precision: str
    resample: str


@dataclass(frozen=True)
class ScoringFeaturizer:
    """What a model is scored with: its graph, the identity of the weights in it, and the resize filter."""

    graph: Graph
    weights: str
    resample: str


def chosen(requested: FeaturizerSettings, trained: FeaturizerSpec | None = None) -> FeaturizerChoice:
    """Each ``featurizer.*`` setting, else the trained model's (scoring), else a new model's (training).

    Raises:
        ModelError: the runtime has no such precision.
    """
    if trained is None:
        layer, weights, seed = TRAINING_LAYER, TRAINING_WEIGHTS, requested.seed
        runtime = requested.runtime or TRAINING_RUNTIME
        precision = requested.precision or TRAINING_PRECISION[runtime]
        resample = requested.resample or TRAINING_RESAMPLE
    else:
        layer, weights, seed = trained.layer, trained.weights_source, requested.seed
        if requested.weights is None and trained.weights.startswith("none:seed="):
            seed = int(trained.weights.split("=", 1)[1])
        runtime = requested.runtime or trained.runtime
        precision = requested.precision or trained.precision
        resample = requested.resample or trained.resample
        if resample != trained.resample:
            log.warning("featurizer.resample %s differs from the %s the model was trained with: its features, "
                        "and so its scores, will differ", resample, trained.resample)
    check_runtime(runtime, precision)
    return FeaturizerChoice(layer=requested.layer or layer, weights=requested.weights or weights, seed=seed,
                            runtime=runtime, precision=precision, resample=resample)


def scoring_featurizer(model: Model, requested: FeaturizerSettings, *, allow_weights_mismatch: bool, files: FileAccess,
                       carried_only: bool = False) -> ScoringFeaturizer:
    """What a model is scored with: the config's choice, else the model's.

    A model directory that carries its OpenVINO featurizer is scored with it
    (fp32 or bf16 from the same converted model; int8 only from an int8 one),
    without Keras or TensorFlow. Otherwise the graph is made from the weights,
    read once.

    Args:
        carried_only: refuse anything but the model's own OpenVINO featurizer (the service: no Keras).

    Raises:
        ModelError: the layer differs from the manifest's, or the weights do
            (unless allow_weights_mismatch), or int8 is asked of a model
            that does not carry an int8 featurizer, or (carried_only) the graph would be made.
    """
    trained = model.manifest.featurizer
    choice = chosen(requested, trained)
    if choice.layer != trained.layer:
        raise ModelError(
            f"model {model.uri} was trained on layer {trained.layer!r} ({trained.feature_size} features) "
            f"but the config asks for {choice.layer!r} ({FEATURE_SIZES[choice.layer]} features); "
            f"drop featurizer.layer or use a model trained on {choice.layer!r}")

    def check(identity: str) -> None:
        if identity == trained.weights:
            return
        message = (f"model {model.uri} was trained with weights {trained.weights} but this run would use "
                   f"{identity} (from {choice.weights})")
        if not allow_weights_mismatch:
            raise ModelError(message + "; use the model's weights or pass --allow-weights-mismatch")
        log.warning("%s; scoring anyway (--allow-weights-mismatch)", message)

    # fp32 and bf16 run the same converted model; int8 is a model of its own.
    same_model = (choice.precision == "int8") == (trained.precision == "int8")
    carried = model.openvino if choice.runtime == "openvino" and same_model else None
    if carried:
        # The carried model is the manifest's weights: only weights the config names need checking.
        identity = trained.weights if requested.weights is None else weights_identity(
            choice.weights, seed=choice.seed, files=files)
        check(identity)
        if identity == trained.weights:
            return ScoringFeaturizer(OpenVinoGraph(layer=choice.layer, precision=choice.precision, model=carried),
                                     identity, choice.resample)
    if carried_only:
        raise ModelError(f"model {model.uri} carries no OpenVINO featurizer for {choice.runtime} "
                         f"{choice.precision} and these weights: the service scores only with the one a model "
                         f"directory carries (train or import it with runtime openvino)")
    if choice.precision == "int8":
        raise ModelError(f"model {model.uri} carries no int8 featurizer for these weights: int8 is quantized "
                         f"when a model is trained (or imported) with precision int8; score this one with "
                         f"featurizer.precision fp32 or bf16")
    # Checked once: the built-in sources before loading, so a refused run downloads nothing; a file by
    # the identity of what was loaded (one read).
    checked = carried is not None
    if not checked and choice.weights in ("imagenet", "none"):
        check(weights_identity(choice.weights, seed=choice.seed, files=files))
        checked = True
    weights = load_weights(choice.weights, seed=choice.seed, files=files)
    if not checked:
        check(weights.identity)
    graph = make_graph(weights, layer=choice.layer, runtime=choice.runtime, precision=choice.precision)
    return ScoringFeaturizer(graph, weights.identity, choice.resample)
