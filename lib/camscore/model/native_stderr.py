"""What native libraries print on stderr, taken into logging instead."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from typing import Iterator


@contextlib.contextmanager
def logged(log: logging.Logger, *, debug: re.Pattern[str]) -> Iterator[None]:
    """Takes what native code writes on stderr (file descriptor 2) during the block and logs it, a line
    repeated in a row once: lines that ``debug`` matches at DEBUG, anything else as a warning.
    Python-level writes to sys.stderr made by other threads meanwhile are logged the same way, not lost."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            last = None
            for line in captured.read().decode(errors="replace").splitlines():
                if line.strip() and line != last:
                    (log.debug if debug.match(line) else log.warning)("%s", line)
                last = line
