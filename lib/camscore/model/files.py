"""How the model layer reads and writes whole files without knowing where they are: it is given a Files.

camscore.storage.Files reaches s3:// too; LOCAL reaches the local disk only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from camscore.errors import ConfigError


class Files(Protocol):
    """Whole files by location. Failures are OSErrors (FileNotFoundError when nothing is there)."""

    def read(self, uri: str) -> bytes: ...
    def write(self, uri: str, data: bytes) -> str: ...


class LocalFiles:
    """Files on the local disk: a path or a ``file:`` URI; anything else is refused."""

    def read(self, uri: str) -> bytes:
        return self._path(uri).read_bytes()

    def write(self, uri: str, data: bytes) -> str:
        path = self._path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return uri

    @staticmethod
    def _path(uri: str) -> Path:
        if "://" in uri and not uri.startswith("file:"):
            reach = "here only local paths: an s3:// one needs camscore.storage.Files" if uri.startswith("s3://") \
                else "local paths or s3:// URIs"
            raise ConfigError(f"models, boosters and weights are read and written as {reach}; got {uri!r} "
                              f"(scheme {uri.split('://', 1)[0]!r})")
        path = uri[len("file:"):] if uri.startswith("file:") else uri
        return Path("/" + path.lstrip("/") if path.startswith("//") else path)


LOCAL = LocalFiles()


def join(uri: str, name: str) -> str:
    """``uri/name`` for a path or a URI."""
    return f"{uri.rstrip('/')}/{name}"
