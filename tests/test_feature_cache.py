import dataclasses

from camscore.stages.feature_cache import featurizer_id
from camscore.model.featurizer import FeaturizerSpec
from camscore.model.imaging import DecodeOptions

SPEC = FeaturizerSpec(layer="avg_pool", weights="sha256:ab", weights_source="/weights/a.weights.h5",
                      runtime="openvino", precision="int8", graph="sha256:cd")


def test_the_same_featurizer_finds_the_same_cache_wherever_its_weights_file_lies():
    moved = dataclasses.replace(SPEC, weights_source="s3://bucket/weights/a.weights.h5")

    assert featurizer_id(moved, DecodeOptions()) == featurizer_id(SPEC, DecodeOptions())


def test_any_change_that_changes_features_changes_the_cache():
    changed = [dataclasses.replace(SPEC, layer="predictions"), dataclasses.replace(SPEC, weights="sha256:ef"),
               dataclasses.replace(SPEC, precision="bf16"), dataclasses.replace(SPEC, runtime="keras"),
               dataclasses.replace(SPEC, graph="sha256:01")]
    ids = {featurizer_id(spec, DecodeOptions()) for spec in changed}
    ids |= {featurizer_id(SPEC, DecodeOptions(resample="bilinear")), featurizer_id(SPEC, DecodeOptions())}

    assert len(ids) == len(changed) + 2
