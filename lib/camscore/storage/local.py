"""Whole files on the local disk: a path or a ``file:`` URI."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path
from typing import Iterator

from camscore.errors import ConfigError
from camscore.storage.uri import local_path


class LocalStorage:
    """Files on this machine's disk; conditional writes hold an exclusive lock beside the file."""

    def read(self, uri: str) -> bytes:
        return _path(uri).read_bytes()

    def write(self, uri: str, data: bytes) -> str:
        """Writes the whole file under a hidden name, then renames it: a reader sees all of it or none."""
        path = _path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        hidden = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            hidden.write_bytes(data)
            os.replace(hidden, path)
        finally:
            hidden.unlink(missing_ok=True)
        return uri

    def exists(self, uri: str) -> bool:
        return _path(uri).exists()

    def create(self, uri: str, data: bytes) -> object | None:
        with _locked(_path(uri)):
            try:
                with open(_path(uri), "xb") as file:
                    file.write(data)
            except FileExistsError:
                return None
        return data

    def read_versioned(self, uri: str) -> tuple[bytes, object] | None:
        try:
            data = _path(uri).read_bytes()
        except FileNotFoundError:
            return None
        return data, data

    def replace(self, uri: str, data: bytes, token: object) -> object | None:
        with _locked(_path(uri)):
            if self.read_versioned(uri) != (token, token):
                return None
            self.write(uri, data)  # renamed into place: a reader meanwhile sees the old bytes or the new
        return data

    def delete(self, uri: str) -> None:
        with _locked(_path(uri)):
            _path(uri).unlink(missing_ok=True)

    def check_writable(self, uri: str) -> None:
        existing = _path(uri).absolute()
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            raise ConfigError(f"cannot write to {uri}: {existing} is a file, not a folder")
        if not os.access(existing, os.W_OK):
            raise ConfigError(f"cannot write to {uri}: this user cannot write to {existing}")


def _path(uri: str) -> Path:
    return Path(local_path(uri))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
