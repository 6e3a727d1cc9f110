"""What every job entry point shares: logging and turning CamscoreError into exit code 2."""

from __future__ import annotations

import logging
import sys
from typing import Callable

from camscore.errors import CamscoreError

USER_ERROR = 2


def run_main(body: Callable[[], None]) -> int:
    """Runs a job body; a CamscoreError becomes one line on stderr and exit code 2."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("camscore").setLevel(logging.INFO)
    try:
        body()
    except CamscoreError as exc:
        print(f"camscore: error: {exc}", file=sys.stderr)
        return USER_ERROR
    return 0
