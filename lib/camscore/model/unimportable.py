"""Importing a library while some optional dependency of it cannot be imported."""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator


@contextlib.contextmanager
def unimportable(*names: str) -> Iterator[None]:
    """Meanwhile ``import name`` raises ImportError for each of ``names`` not imported yet, so that a library
    that imports them only where they are installed goes on without them (and stays so in this process)."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None
    try:
        yield
    finally:
        for name in hidden:
            del sys.modules[name]
