"""The one way a scorer is built (camscore.model.spec): a spec made from a model directory and the settings,
pickled as the scoring driver broadcasts it, built where frames are scored."""

import io
import pickle

import numpy as np
from PIL import Image

from camscore.config import load_settings
from camscore.model.classifier import Classifier
from camscore.model.featurizer import OpenVinoGraph, featurizer_for
from camscore.model.imaging import DecodeOptions, decode_frame
from camscore.model.model_dir import load_model
from camscore.model.spec import CoreSpec
from camscore.rows import FrameRead
from camscore.service.scoring import Scoring

from conftest import drawn_png


def test_a_spec_made_from_a_model_directory_pickled_and_built_scores_frames_as_the_services_core_does(model_dir):
    # Settings besides the model's own, so that a spec that dropped one would score otherwise: another resize
    # filter than the model's (nearest), and blank pictures left out of the model.
    settings = load_settings(overrides={"serve.model": model_dir, "featurizer.resample": "bilinear",
                                        "score.skip_unhealthy": True})
    black = io.BytesIO()
    Image.new("RGB", (640, 480)).save(black, "JPEG")
    pictures = [drawn_png("car", seed=1), drawn_png("bus", seed=2)]
    reads = [*map(FrameRead, pictures), FrameRead(black.getvalue()), FrameRead(b"")]
    model = load_model(model_dir)

    spec = pickle.loads(pickle.dumps(CoreSpec.from_model(model, settings)))
    built = spec.build().score(reads).columns()
    service = Scoring(settings)
    try:
        served = service.submit(reads).result().columns()
    finally:
        service.close()

    assert built == served
    assert built["error_kind"] == [None, None, "blank", "empty"]
    # The model directory's featurizer and booster over the pictures resized as the settings say, in this process.
    featurizer = featurizer_for(OpenVinoGraph(layer=model.manifest.featurizer.layer, precision="fp32",
                                              model=model.openvino))
    pixels = np.stack([decode_frame(picture, DecodeOptions(resample="bilinear")) for picture in pictures])
    expected = Classifier(model.booster_text, threshold=model.manifest.threshold).probabilities(featurizer(pixels))
    np.testing.assert_allclose(built["probability"][:2], expected, rtol=1e-6)
    assert built["label_name"][:2] == [model.manifest.label_names[int(p >= model.manifest.threshold)]
                                       for p in expected]
