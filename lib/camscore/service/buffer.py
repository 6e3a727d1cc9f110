"""Rows the service scored, kept until they are written to the table: every ``flush_rows`` rows, every
``flush_seconds`` and on the way out; a write that fails keeps its rows for the next try."""

from __future__ import annotations

import logging
import threading
from typing import Any, Mapping, Sequence

from camscore.config import S3Settings
from camscore.io import new_batch, write_rows

log = logging.getLogger(__name__)


class RowBuffer:
    def __init__(self, output: str, *, s3: S3Settings | None, flush_rows: int):
        self.output, self.s3, self.flush_rows = output, s3, flush_rows
        self._rows: list[Mapping[str, Any]] = []
        self._lock = threading.Lock()  # the rows list
        self._writing = threading.Lock()  # one flush at a time
        self.written = 0

    @property
    def waiting(self) -> int:
        return len(self._rows)

    @property
    def due(self) -> bool:
        """Whether enough rows wait to flush now."""
        return len(self._rows) >= self.flush_rows

    def add(self, rows: Sequence[Mapping[str, Any]]) -> bool:
        """Keeps the rows; tells whether enough wait to flush now."""
        with self._lock:
            self._rows.extend(rows)
            return self.due

    def flush(self) -> int:
        """Writes every waiting row as one new batch; returns how many.

        Raises:
            OSError: the write failed; the rows wait for the next flush.
        """
        with self._writing:
            with self._lock:
                rows, self._rows = self._rows, []
            if not rows:
                return 0
            try:
                write_rows(rows, self.output, batch=new_batch(), s3=self.s3)
            except Exception:
                with self._lock:
                    self._rows[:0] = rows
                raise
            self.written += len(rows)
            return len(rows)
