"""One way to build the per-frame core: a CoreSpec, made once from a model directory and the settings, built
into a FrameCore wherever frames are scored.

The scoring driver and the service make the spec (the model's checks and the featurizer choice run there, once);
it is plain data (the featurizer graph, the booster text, decoding options), so the driver broadcasts it and each
Spark worker builds its core from it on first use (camscore.stages.batches keeps that core under the spec's
cache_key, made on the driver), and the service builds its own. Tools and tests build theirs the same way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from camscore.model.choice import scoring_featurizer
from camscore.model.classifier import Classifier
from camscore.model.core import FrameCore
from camscore.model.featurizer import Graph, KerasGraph, featurizer_for
from camscore.model.files import LOCAL, FileAccess
from camscore.model.imaging import DecodeOptions
from camscore.model.model_dir import Model

if TYPE_CHECKING:
    from camscore.config import Settings


@dataclass(frozen=True, kw_only=True)
class CoreSpec:
    """Everything a FrameCore is built from; picklable, so a Spark driver broadcasts it to its workers.

    A spec with a booster scores (and gives each frame's picture signals); one without only featurizes (the
    training job's features).

    Attributes:
        graph: the featurizer graph (OpenVINO model, or Keras weights), as the model is scored with it.
        decode: how frames are decoded, with the resize filter the run uses.
        weights: the identity of the weights in ``graph`` (run summaries); empty where not known.
        booster_text: the LightGBM booster; None: featurize only.
        threshold: the probability from which a frame gets label 1.
        label_names: the names of label 0 and label 1.
        skip_blank: leave absolutely dark, white or uniform pictures out of the model (score.skip_unhealthy).
    """

    graph: Graph
    decode: DecodeOptions
    weights: str = ""
    booster_text: str | None = None
    threshold: float = 0.5
    label_names: tuple[str, str] = ("0", "1")
    skip_blank: bool = False

    @classmethod
    def from_model(cls, model: Model, settings: Settings, *, files: FileAccess = LOCAL,
                   carried_only: bool = False) -> CoreSpec:
        """The spec that scores ``model`` as ``settings`` ask: featurizer.* over the model's featurizer
        (camscore.model.choice), score.allow_weights_mismatch and score.skip_unhealthy.

        Args:
            model: the loaded model directory (camscore.model.model_dir.load_model).
            settings: the run's settings.
            files: where weights named by the settings are read (s3:// through camscore.storage.StorageFiles).
            carried_only: score only with the OpenVINO featurizer the model directory carries (the service:
                no Keras).

        Raises:
            ModelError: the model does not fit the featurizer the settings ask for (see scoring_featurizer).
        """
        featurizer = scoring_featurizer(model, settings.featurizer, files=files, carried_only=carried_only,
                                        allow_weights_mismatch=settings.score.allow_weights_mismatch)
        manifest = model.manifest
        return cls(graph=featurizer.graph, decode=settings.featurizer.decode_options(featurizer.resample),
                   weights=featurizer.weights, booster_text=model.booster_text, threshold=manifest.threshold,
                   label_names=tuple(manifest.label_names), skip_blank=settings.score.skip_unhealthy)

    def build(self, *, threads: int | None = None) -> FrameCore:
        """The per-frame core, its featurizer inferring on ``threads`` threads (None: the runtime's choice)."""
        classifier = (Classifier(self.booster_text, threshold=self.threshold)
                      if self.booster_text is not None else None)
        return FrameCore(featurizer_for(self.graph, threads=threads), decode=self.decode, classifier=classifier,
                         label_names=self.label_names, signals=classifier is not None, skip_blank=self.skip_blank)

    def cache_key(self) -> str | None:
        """What a core built from this spec is made of: equal keys, equal cores, so a Spark worker keeps its core
        for every later job with the same key. None for a Keras graph: its weights have no cheap identity."""
        if isinstance(self.graph, KerasGraph):
            return None
        made_of = {"graph": self.graph.identity, "layer": self.graph.layer, "precision": self.graph.precision,
                   "decode": dataclasses.asdict(self.decode), "scores": self.booster_text is not None,
                   "threshold": self.threshold, "label_names": list(self.label_names), "skip_blank": self.skip_blank}
        digest = hashlib.sha256(json.dumps(made_of, sort_keys=True).encode())
        digest.update((self.booster_text or "").encode())
        return digest.hexdigest()
