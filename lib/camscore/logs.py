"""Log lines as every camscore process writes them: the jobs (camscore.cli) and the serverless handler."""

from __future__ import annotations

import logging


def configure_logging() -> None:
    """Log lines on stderr, camscore's at INFO with the ``camscore:`` prefix, other libraries' at WARNING."""
    handler = logging.StreamHandler()
    handler.setFormatter(_Prefixed())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    logging.getLogger("camscore").setLevel(logging.INFO)


class _Prefixed(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        return f"camscore: {line}" if record.name.startswith("camscore") else line
