"""The serverless function as a platform runs it: its zip unpacked, its requirements installed into a clean
environment, ``index.handler`` called with a trigger's event, frames from the S3 server, rows written."""

import dataclasses
import datetime as dt
import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from camscore.assets.packages import CACHE_ROOT
from tools import samples
from tools.function_package import build
from conftest import kept
from service import REGEX, rows_of, storage_put, yandex_event

pytestmark = pytest.mark.packaged


def clean_environment(requirements: Path) -> Path:
    """A new venv with ``requirements`` installed, as the platform makes one. Kept for the day while the
    requirements (pinned) and the interpreter are the same: pip takes 20 s here, and the dependencies it
    leaves unpinned are resolved again the next day."""
    def make(env: Path) -> None:
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
        subprocess.run([str(env / "bin" / "pip"), "install", "--quiet", "-r", str(requirements)],
                       check=True, capture_output=True)

    key = hashlib.sha256(requirements.read_bytes() + sys.version.encode()).hexdigest()[:16]
    return kept(CACHE_ROOT / "test-environments" / f"function-{key}-{dt.date.today():%Y%m%d}", make)


def test_the_function_package_scores_a_trigger_event_in_a_clean_environment(
        tmp_path, write_config, s3_server, bucket, openvino_model_dir):
    keys = ["cam-1/20261120T081500.jpg", "cam-2/20261120T081600.jpg"]
    for n, key in enumerate(keys):
        storage_put(s3_server, bucket, key, samples.frame_jpeg("car", seed=n))
    config = write_config({"s3": dataclasses.asdict(s3_server.settings), "source": {"path_regex": REGEX}})
    package = build(tmp_path / "function.zip", config=Path(config))
    unpacked = tmp_path / "function"
    zipfile.ZipFile(package).extractall(unpacked)
    env = clean_environment(unpacked / "requirements.txt")
    output = tmp_path / "scores"
    call = ("import json, sys, index\n"
            "answer = index.handler(json.loads(sys.argv[1]), None)\n"
            "print(json.dumps([answer, sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pyspark', 'tensorflow', 'keras', 'aiohttp', 'pandas'))]))")

    done = subprocess.run([str(env / "bin" / "python"), "-c", call, json.dumps(yandex_event(bucket, *keys))],
                          cwd=unpacked, capture_output=True, text=True,
                          env={"CAMSCORE_MODEL": openvino_model_dir, "CAMSCORE_OUTPUT": str(output),
                               "PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": s3_server.key[0],
                               "AWS_SECRET_ACCESS_KEY": s3_server.key[1]})

    assert done.returncode == 0, done.stderr[-3000:]
    answer, heavy = json.loads(done.stdout.splitlines()[-1])
    assert (answer["statusCode"], heavy) == (200, [])
    assert [(a["path"], a["error_kind"]) for a in json.loads(answer["body"])] == [(f"{bucket}/{k}", None) for k in keys]
    assert [row[0] for row in rows_of(output)] == [f"{bucket}/{k}" for k in keys]
    # What the platform installs from requirements.txt (the venv's own pip and setuptools aside) fits its
    # limit: Yandex Cloud Functions takes at most 680 MB unpacked.
    site = next((env / "lib").glob("python3*/site-packages"))
    installed = sum(f.stat().st_size for f in site.rglob("*") if f.is_file() and f.relative_to(site).parts[0]
                    .split("-")[0] not in ("pip", "setuptools", "_distutils_hack", "distutils", "pkg_resources"))
    print(f"function package {package.stat().st_size / 1e6:.2f} MB zipped, its requirements {installed / 1e6:.0f} MB")
    assert package.stat().st_size < 128e6 and installed < 680e6
