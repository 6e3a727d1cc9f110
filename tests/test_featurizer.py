import subprocess
import sys

import numpy as np
import pytest

from camscore import storage
from camscore.model.conversion import make_graph, quantized
from tools import samples
from camscore.errors import ModelError
from camscore.model.featurizer import featurizer_for
from camscore.model.imaging import DecodeOptions, decode_frame
from camscore.model.weights import load_weights, weights_identity


@pytest.fixture(scope="module")
def openvino_cache(tmp_path_factory):
    """One conversion cache for fp32 and bf16, which run the same converted model."""
    return tmp_path_factory.mktemp("openvino-cache")


def frames(*kinds: str) -> np.ndarray:
    return np.stack([decode_frame(samples.frame_jpeg(kind, seed=i), DecodeOptions()) for i, kind in enumerate(kinds)])


# Modules the pure ones must not load: object storage, the config, the disk cache, Spark.
IMPURE = ("boto3", "botocore", "camscore.storage", "camscore.config", "camscore.assets.packages", "pyspark")


def test_the_featurizer_and_the_classifier_load_no_storage_config_cache_nor_spark():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, camscore.model.featurizer, camscore.model.classifier; print(*sorted(sys.modules))"],
        capture_output=True, text=True, check=True).stdout.split()

    assert "camscore.model.classifier" in loaded
    assert sorted({bad for bad in IMPURE for name in loaded if name == bad or name.startswith(bad + ".")}) == []


def test_avg_pool_gives_2048_features_per_frame(featurizer):
    features = featurizer(frames("car", "bus", "car"))

    assert features.shape == (3, 2048)
    assert features.dtype == np.float32
    assert np.isfinite(features).all()


def test_an_empty_batch_gives_no_rows(featurizer):
    assert featurizer(np.zeros((0, 224, 224, 3), np.uint8)).shape == (0, 2048)


@pytest.mark.keras
def test_predictions_gives_1000_class_probabilities(weights):
    predictions = featurizer_for(make_graph(weights, layer="predictions"))

    features = predictions(frames("car", "bus"))

    assert features.shape == (2, 1000)
    np.testing.assert_allclose(features.sum(axis=1), 1.0, rtol=1e-4)


def test_random_weights_are_the_same_for_the_same_seed(weights):
    load_weights.__globals__["_load_builtin"].cache_clear()
    again = load_weights("none", seed=0)

    assert again is not weights
    assert again.identity == "none:seed=0"
    assert all(np.array_equal(a, b) for a, b in zip(weights.arrays, again.arrays))


def test_random_weights_differ_for_another_seed(weights):
    other = load_weights("none", seed=1)

    assert other.identity == "none:seed=1"
    assert not np.array_equal(weights.arrays[0], other.arrays[0])


@pytest.mark.keras
def test_a_weights_file_loads_by_path_and_from_s3_with_its_hash(tmp_path, weights, s3_server, bucket):
    import keras

    model = keras.applications.ResNet50(weights=None, include_top=True)
    model.set_weights(list(weights.arrays))
    path = tmp_path / "resnet50.weights.h5"
    model.save_weights(path)
    uri = f"{bucket}/weights/resnet50.weights.h5"
    storage.write_bytes(uri, path.read_bytes(), s3=s3_server.settings)

    from_file = load_weights(str(path))
    from_s3 = load_weights(uri, files=storage.StorageFiles(s3_server.settings))

    assert from_file.identity.startswith("sha256:")
    assert from_s3.identity == from_file.identity == weights_identity(str(path), seed=0, files=storage.StorageFiles(s3_server.settings))
    assert all(np.array_equal(ours, theirs) for ours, theirs in zip(from_s3.arrays, weights.arrays))


def test_a_missing_weights_file_names_the_sources_to_use(tmp_path):
    with pytest.raises(ModelError, match="weights file not found: .*use weights: imagenet .* or none"):
        load_weights(str(tmp_path / "missing.h5"))


@pytest.mark.keras
def test_a_file_that_is_not_resnet50_weights_is_refused(tmp_path):
    path = tmp_path / "junk.h5"
    path.write_bytes(b"not hdf5 at all")

    with pytest.raises(ModelError, match="does not load into ResNet50"):
        load_weights(str(path))


@pytest.mark.keras
def test_when_imagenet_cannot_be_downloaded_the_error_names_the_other_sources():
    try:
        load_weights("imagenet")
    except ModelError as exc:
        message = str(exc)
    else:
        pytest.skip("the ImageNet weights are reachable (or cached) on this machine")

    assert message.startswith("cannot download the ImageNet weights of ResNet50")
    assert "a weights file path, an s3:// URI of one, or none" in message


@pytest.mark.parametrize("runtime, precision, tolerance", [
    ("openvino", "fp32", 1e-3), ("openvino", "bf16", 0.5), ("keras", "bf16", 0.5)])
def test_other_runtimes_give_the_features_of_keras_fp32(weights, featurizer, openvino_cache, runtime, precision,
                                                       tolerance):
    batch = frames("car", "bus", "car")
    reference = featurizer(batch)

    other = featurizer_for(make_graph(weights, layer="avg_pool", runtime=runtime, precision=precision,
                                      cache_dir=openvino_cache), threads=2)(batch)

    assert other.shape == reference.shape
    assert np.abs(other - reference).max() <= tolerance
    assert np.corrcoef(other.ravel(), reference.ravel())[0, 1] > 0.999


@pytest.mark.keras
def test_the_openvino_conversion_is_cached_on_disk(weights, tmp_path):
    first = make_graph(weights, layer="predictions", runtime="openvino", cache_dir=tmp_path)
    written = sorted(path.name for path in tmp_path.rglob("*") if path.is_file())

    again = make_graph(weights, layer="predictions", runtime="openvino", cache_dir=tmp_path)

    assert written == ["resnet50.bin", "resnet50.xml"]
    assert again.model == first.model


@pytest.mark.keras
def test_loading_keras_prints_nothing_of_tensorflows_on_stderr():
    done = subprocess.run([sys.executable, "-c", "from camscore.model.featurizer import require_keras; require_keras()"],
                          capture_output=True, text=True, check=True)

    assert done.stderr == ""


def test_an_openvino_featurizer_called_from_many_threads_at_once_gives_each_its_features(openvino_model_dir):
    from concurrent.futures import ThreadPoolExecutor

    from camscore.model.featurizer import OpenVinoGraph
    from camscore.model.model_dir import load_model

    model = load_model(openvino_model_dir)
    featurizer = featurizer_for(OpenVinoGraph(layer="predictions", precision="fp32", model=model.openvino))
    batches = [frames(*kinds) for kinds in (("car",), ("bus",), ("car", "bus"), ("bus", "car", "car"))]
    alone = [featurizer(batch) for batch in batches]

    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(featurizer, batches))

    assert all(np.array_equal(a, b) for a, b in zip(alone, together))


@pytest.mark.keras
def test_faithful_int8_keeps_the_first_convolution_and_the_predictions_layer_in_fp32(weights, openvino_cache):
    import openvino as ov

    graph = make_graph(weights, layer="predictions", runtime="openvino", cache_dir=openvino_cache)

    int8 = quantized(graph, frames("car", "bus"), faithful=True, cache_dir=openvino_cache).model.read(ov.Core())

    def weights_from(op) -> str:  # a Constant holds fp32 weights; int8 ones are dequantized by a Multiply
        return op.input(1).get_source_output().get_node().get_type_name()

    convolutions = [op for op in int8.get_ordered_ops() if op.get_type_name() == "Convolution"]
    products = [op for op in int8.get_ordered_ops() if op.get_type_name() == "MatMul"]
    assert [weights_from(op) for op in (convolutions[0], *products)] == ["Constant", "Constant"]
    assert {weights_from(op) for op in convolutions[1:]} == {"Multiply"}
