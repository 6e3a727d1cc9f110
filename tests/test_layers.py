"""camscore's import rules: the contracts of .importlinter, checked by import-linter over every import (those
inside functions too), and what a process loads, proven in a fresh interpreter (which no contract can say)."""

import json
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import camscore

from conftest import ROOT, drawn_png

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(*, cwd: Path, path: Path | None = None) -> subprocess.CompletedProcess:
    """lint-imports with the repository's contracts; ``path``: where camscore is imported from instead."""
    env = {**os.environ, "PYTHONPATH": str(path)} if path else None
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", str(ROOT / ".importlinter")],
                          cwd=cwd, env=env, capture_output=True, text=True)


def loaded_after_importing(modules: list[str]) -> set[str]:
    """The modules a fresh interpreter holds after importing ``modules``."""
    script = (f"import importlib\nfor name in {modules!r}: importlib.import_module(name)\n"
              "import json, sys; print(json.dumps(sorted(name for name, m in sys.modules.items() if m is not None)))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


def modules_of(package: str) -> list[str]:
    path = Path(camscore.__file__).parent / package.split(".", 1)[1]
    return [package] + [f"{package}.{info.name}" for info in pkgutil.iter_modules([str(path)])]


def reached(loaded: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(name for name in loaded if any(name == f or name.startswith(f + ".") for f in forbidden))


def test_the_package_keeps_every_import_contract(tmp_path):
    done = lint_imports(cwd=tmp_path)

    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " 0 broken." in done.stdout


# An import planted inside a function, as lazy imports are, and what lint-imports must then say: config
# under the model layer, the per-frame core into Spark, a cycle inside the model layer.
PLANTED = {
    "config.py": ("from camscore.model.imaging import decode_frame",
                  ("camscore.config is not allowed to import camscore.model:",
                   "camscore.config -> camscore.model.imaging")),
    "model/core.py": ("import pyspark",
                      ("camscore.model is not allowed to import pyspark:", "camscore.model.core -> pyspark")),
    "model/files.py": ("from camscore.model.weights import Weights",
                       ("No cycles are allowed in camscore.model.",)),
}


@pytest.mark.parametrize("module", sorted(PLANTED))
def test_an_import_inside_a_function_that_goes_against_the_rules_breaks_a_contract(tmp_path, module):
    planted, told = PLANTED[module]
    copy = tmp_path / "camscore"
    shutil.copytree(Path(camscore.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / module, "a") as file:
        file.write(f"\n\ndef _planted():\n    {planted}\n")

    done = lint_imports(cwd=tmp_path, path=tmp_path)

    assert done.returncode == 1, done.stdout[-4000:] + done.stderr[-2000:]
    assert [line for line in told if line not in done.stdout] == []


def test_the_service_loads_neither_spark_nor_tensorflow():
    # LightGBM and pyarrow import pandas where it is installed; the serverless function's package leaves it out.
    loaded = loaded_after_importing(modules_of("camscore.service"))

    assert "camscore.service.scoring" in loaded
    assert reached(loaded, ("pyspark", "py4j", "tensorflow", "keras", "nncf")) == []


@pytest.mark.parametrize("job", sorted(path.stem for path in (ROOT / "jobs").glob("*.py")))
def test_every_jobs_help_loads_no_lightgbm_openvino_pillow_or_pyspark(job):
    path = ROOT / "jobs" / f"{job}.py"
    script = (f"import runpy, sys\nsys.argv = [{str(path)!r}, '--help']\n"
              f"try:\n    runpy.run_path({str(path)!r}, run_name='__main__')\nexcept SystemExit:\n    pass\n"
              "import json; print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    assert reached(set(json.loads(done.stdout.splitlines()[-1])), ("pyspark", "lightgbm", "openvino", "PIL")) == []


def test_the_per_frame_core_scores_frames_in_a_process_that_cannot_import_pyspark_or_tensorflow(openvino_model_dir, tmp_path):
    frame = tmp_path / "car.png"
    frame.write_bytes(drawn_png("car"))
    script = f"""
import sys
for name in ("pyspark", "tensorflow", "keras"):
    sys.modules[name] = None  # any import of it fails: the core scores with the OpenVINO featurizer a model carries
from camscore.config import Settings
from camscore.model.model_dir import load_model
from camscore.model.spec import CoreSpec
from camscore.rows import FrameRead
core = CoreSpec.from_model(load_model({openvino_model_dir!r}), Settings(), carried_only=True).build()
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
