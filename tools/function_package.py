"""Builds the serverless function's package: ``index.py`` (entry point ``index.handler``), the camscore
package without the jobs' Spark stages, ``requirements.txt`` pinned as setup.py pins them (what scoring
needs, and the service's metrics; no pyspark, TensorFlow or HTTP server) and, when given, the config file
as ``camscore.yaml``. Yandex Cloud Functions installs requirements.txt itself; AWS Lambda takes the same
files in a container image (README, The service).

Run as ``./submit.sh pack --for function [--config FILE] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import sys
import zipfile
from pathlib import Path

import camscore
from camscore.service.handler import CONFIG_FILE

INDEX = '"""Entry point: index.handler."""\nfrom camscore.service.handler import handler  # noqa: F401\n'
# What the handler's process never imports: the jobs' Spark stages (the package holds no development tools).
LEFT_OUT = ("stages", "spark")
# Of the serve extra, what the handler needs (the HTTP server is the service's, not the function's).
FUNCTION_EXTRAS = ("prometheus-client",)
NOT_NEEDED = ("pandas",)  # pyspark's, for the batch job's Arrow batches


def requirements() -> list[str]:
    """The pinned requirements of the function, from camscore's installed metadata (setup.py's pins).

    Raises:
        SystemExit: the installed metadata predates the serve extra (reinstall the project).
    """
    required = importlib.metadata.requires("camscore") or []
    base = [r for r in required if ";" not in r and _name(r) not in NOT_NEEDED]
    extra = [r.split(";")[0].strip() for r in required if 'extra == "serve"' in r and _name(r) in FUNCTION_EXTRAS]
    if len(extra) != len(FUNCTION_EXTRAS):
        raise SystemExit("camscore: the installed camscore has no serve extra: reinstall it "
                         "(./submit.sh reinstalls when setup.py changes)")
    return base + extra


def build(out: Path, *, config: Path | None = None) -> Path:
    """Writes the function's zip to ``out``; returns it."""
    source = Path(camscore.__file__).resolve().parent
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.py", INDEX)
        archive.writestr("requirements.txt", "\n".join(requirements()) + "\n")
        if config is not None:
            archive.write(config, CONFIG_FILE)
        for path in sorted(source.rglob("*.py")):
            relative = path.relative_to(source)
            if relative.parts[0] not in LEFT_OUT:
                archive.write(path, f"camscore/{relative.as_posix()}")
    return out


def _name(requirement: str) -> str:
    return re.split(r"[=<>!~;\[ ]", requirement, maxsplit=1)[0].lower()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pack --for function", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("dist/camscore-function.zip"))
    parser.add_argument("--config", type=Path, help="YAML config packed as camscore.yaml (s3.*, serve.*, source.*)")
    args = parser.parse_args(argv)
    written = build(args.out, config=args.config)
    print(f"{written} ({written.stat().st_size / 2 ** 20:.2f} MiB): entry point index.handler")
    return 0


if __name__ == "__main__":
    sys.exit(main())
