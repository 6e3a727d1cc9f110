"""How the model layer reads, writes and names whole files without knowing where they are: it is given a
FileAccess.

camscore.storage.StorageFiles reaches s3:// (and gs://) too, and names files there with storage's one URI join;
LOCAL reaches the local disk only. The model layer names a file inside a folder with the FileAccess's join, never
its own: one join per place a location can be.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from camscore.errors import ConfigError


class FileAccess(Protocol):
    """Whole files by location. Failures are OSErrors (FileNotFoundError when nothing is there)."""

    def read(self, uri: str) -> bytes: ...
    def write(self, uri: str, data: bytes) -> str: ...
    def join(self, uri: str, name: str) -> str:
        """``name`` inside the folder ``uri``."""
        ...


class LocalFiles:
    """Files on the local disk: a path or a ``file:`` URI; anything else is refused."""

    def read(self, uri: str) -> bytes:
        return self._path(uri).read_bytes()

    def write(self, uri: str, data: bytes) -> str:
        path = self._path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return uri

    def join(self, uri: str, name: str) -> str:
        # A local path's join, as camscore.storage.uri.join makes it for one (a file: URI keeps its prefix).
        return os.path.join(uri, name)

    @staticmethod
    def _path(uri: str) -> Path:
        if "://" in uri and not uri.startswith("file:"):
            reach = ("here only local paths: an s3:// one needs camscore.storage.StorageFiles"
                     if uri.startswith("s3://") else "local paths or s3:// URIs")
            raise ConfigError(f"models, boosters and weights are read and written as {reach}; got {uri!r} "
                              f"(scheme {uri.split('://', 1)[0]!r})")
        path = uri[len("file:"):] if uri.startswith("file:") else uri
        return Path("/" + path.lstrip("/") if path.startswith("//") else path)


LOCAL = LocalFiles()
