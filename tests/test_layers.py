"""The layers of lib/camscore and what each may import, each proven in a fresh interpreter."""

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import camscore

from conftest import ROOT, drawn_png

HEAVY = ("pyspark", "lightgbm", "openvino", "PIL", "boto3", "botocore", "tensorflow", "keras")
# A layer's modules, and what importing all of them must not load.
RULES = {
    # Picture signals and camera health: numpy and Pillow only, for the core, the report and the service.
    "camscore.health": ("pandas", "pyspark", "boto3", "botocore", "lightgbm", "openvino", "tensorflow", "keras",
                        "camscore.model", "camscore.io", "camscore.storage", "camscore.spark", "camscore.stages",
                        "camscore.devtools", "camscore.service"),
    "camscore.model": ("pyspark", "boto3", "botocore", "camscore.io", "camscore.storage", "camscore.spark",
                       "camscore.stages", "camscore.devtools"),
    "camscore.io": ("lightgbm", "openvino", "PIL", "camscore.model", "camscore.stages", "camscore.devtools"),
    "camscore.storage": ("pyspark", "py4j", "lightgbm", "openvino", "PIL", "camscore.model", "camscore.io",
                         "camscore.spark", "camscore.stages"),
    "camscore.spark": ("boto3", "lightgbm", "openvino", "PIL", "camscore.model", "camscore.io", "camscore.storage",
                       "camscore.stages"),
    "camscore.stages": ("tensorflow", "keras", "camscore.devtools"),
    # The service scores with the OpenVINO featurizer a model directory carries, without Spark. (LightGBM and
    # pyarrow import pandas where it is installed; the serverless function's package leaves it out.)
    "camscore.service": ("pyspark", "py4j", "tensorflow", "keras", "nncf", "camscore.spark", "camscore.stages",
                         "camscore.devtools"),
}
BASE = ("camscore.errors", "camscore.rows", "camscore.vocabulary", "camscore.config", "camscore.cli",
        "camscore.ddl")


def loaded_after_importing(modules: list[str], *, block: tuple[str, ...] = ()) -> set[str]:
    """The modules a fresh interpreter holds after importing ``modules`` (``block``: made unimportable)."""
    script = (f"import sys\nfor name in {list(block)!r}: sys.modules[name] = None\n"
              f"import importlib\nfor name in {modules!r}: importlib.import_module(name)\n"
              "import json; print(json.dumps(sorted(name for name, m in sys.modules.items() if m is not None)))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


def modules_of(package: str) -> list[str]:
    path = Path(camscore.__file__).parent / package.split(".", 1)[1]
    return [package] + [f"{package}.{info.name}" for info in pkgutil.iter_modules([str(path)])]


def reached(loaded: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(name for name in loaded if any(name == f or name.startswith(f + ".") for f in forbidden))


@pytest.mark.parametrize("package", sorted(RULES))
def test_each_layer_imports_only_what_its_rule_allows(package):
    assert reached(loaded_after_importing(modules_of(package)), RULES[package]) == []


def test_the_base_modules_load_no_model_spark_or_storage_library():
    loaded = loaded_after_importing(list(BASE))

    assert reached(loaded, HEAVY + ("camscore.model", "camscore.io", "camscore.storage", "camscore.stages")) == []


@pytest.mark.parametrize("job", sorted(path.stem for path in (ROOT / "jobs").glob("*.py")))
def test_every_jobs_help_loads_no_lightgbm_openvino_pillow_or_pyspark(job):
    path = ROOT / "jobs" / f"{job}.py"
    script = (f"import runpy, sys\nsys.argv = [{str(path)!r}, '--help']\n"
              f"try:\n    runpy.run_path({str(path)!r}, run_name='__main__')\nexcept SystemExit:\n    pass\n"
              "import json; print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    assert reached(set(json.loads(done.stdout.splitlines()[-1])), ("pyspark", "lightgbm", "openvino", "PIL")) == []


def test_the_per_frame_core_scores_frames_in_a_process_that_never_imports_pyspark(openvino_model_dir, tmp_path):
    frame = tmp_path / "car.png"
    frame.write_bytes(drawn_png("car"))
    script = f"""
import sys
sys.modules["pyspark"] = None  # any import of it fails
from camscore.model.classifier import Classifier
from camscore.model.core import FrameCore
from camscore.model.featurizer import OpenVinoGraph, featurizer_for
from camscore.model.imaging import DecodeOptions
from camscore.model.model_dir import load_model
from camscore.rows import FrameRead
model = load_model({openvino_model_dir!r})
graph = OpenVinoGraph(layer="predictions", precision="fp32", model=model.openvino)
core = FrameCore(featurizer_for(graph), decode=DecodeOptions(), classifier=Classifier(model.booster_text),
                 label_names=tuple(model.manifest.label_names))
scored = core.score([FrameRead(open({str(frame)!r}, "rb").read()), FrameRead(b"")])
columns = scored.columns()
print(repr((columns["label_name"], columns["error_kind"], type(columns["probability"][0]).__name__)))
print(sorted(name for name in sys.modules if name.startswith("pyspark") and sys.modules[name] is not None))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)

    assert done.returncode == 0, done.stderr[-2000:]
    outcome, pyspark_modules = done.stdout.splitlines()[-2:]
    (car, empty), kinds, probability_type = eval(outcome)
    assert (car in ("bus", "car"), empty, kinds, probability_type) == (True, None, [None, "empty"], "float")
    assert pyspark_modules == "[]"
