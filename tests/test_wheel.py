"""The wheel users install holds camscore and nothing that develops it: no tools, no tests, no test helpers."""

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

from conftest import ROOT

# What camscore ships besides its modules (setup.py's package_data).
PACKAGE_DATA = ["camscore/spark/log4j2.properties"]
DEVELOPMENT = {"devtools", "tools", "tests", "bench", "samples.py", "object_store.py"}


def checkout_copy(target: Path) -> Path:
    """The checkout's files as a commit of them would hold them (tracked, and new ones not ignored), without
    build/: setuptools builds in the source tree, and would ship what an earlier build left in build/lib."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():  # not a file deleted since the last commit
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def wheel_names(source: Path, out: Path) -> list[str]:
    """The files of the wheel ``pip wheel`` builds of ``source`` (with this environment's setuptools)."""
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                           "--quiet", "--wheel-dir", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = out.glob("camscore-*.whl")
    return zipfile.ZipFile(wheel).namelist()


def test_the_wheel_holds_camscores_modules_and_its_package_data_and_no_development_tools(tmp_path):
    source = checkout_copy(tmp_path / "checkout")

    names = wheel_names(source, tmp_path / "wheels")

    print("\n".join(names))
    shipped = [name for name in names if not re.match(r"camscore-[^/]+\.dist-info/", name)]
    assert [name for name in shipped if set(PurePosixPath(name).parts) & DEVELOPMENT] == []
    lib = source / "lib"
    assert sorted(shipped) == sorted([path.relative_to(lib).as_posix() for path in (lib / "camscore").rglob("*.py")]
                                     + PACKAGE_DATA)
