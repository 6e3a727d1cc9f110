"""Score rows written without Spark, as the service writes them: one Parquet file per date in a batch folder
of its own, in the batch job's ``date=/batch=`` layout and schema, so that analysts, ``--only-new``,
compaction and the report read one table."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections import defaultdict
from typing import Any, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from camscore import storage
from camscore.config import S3Settings
from camscore.rows import NO_DATE, OUTPUT_COLUMNS, OUTPUT_ORDER, PARTITION_COLUMNS, Column

_ARROW_TYPES = {"string": pa.string(), "timestamp": pa.timestamp("us", tz="UTC"), "double": pa.float64(),
                "int": pa.int32(), "bigint": pa.int64(), "date": pa.date32()}


def arrow_schema(columns: Sequence[Column]) -> pa.Schema:
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.type], nullable=c.nullable) for c in columns])


FILE_SCHEMA = arrow_schema([c for name in OUTPUT_ORDER for c in OUTPUT_COLUMNS
                            if c.name == name and name not in PARTITION_COLUMNS])


def new_batch(now: dt.datetime | None = None) -> str:
    """A batch name no other writer uses: ``s`` (the service), the time, and a random suffix."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"s{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def write_rows(rows: Sequence[Mapping[str, Any]], output: str, *, batch: str, s3: S3Settings | None) -> list[str]:
    """Writes the rows (each with OUTPUT_ORDER's columns but date and batch) under ``output``, dated by
    ``captured_at``, one file per date, each file put whole (a reader sees all of it or none).

    Returns:
        The files written.

    Raises:
        OSError: a file could not be written; the ones before it stay (their rows are whole).
    """
    by_date: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        captured = row.get("captured_at")
        by_date[captured.astimezone(dt.timezone.utc).date().isoformat() if captured else NO_DATE].append(row)
    written = []
    for date, dated in sorted(by_date.items()):
        table = pa.Table.from_pylist([{name: row.get(name) for name in FILE_SCHEMA.names} for row in dated],
                                     schema=FILE_SCHEMA)
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="snappy")
        uri = f"{output.rstrip('/')}/date={date}/batch={batch}/part-00000-{batch}.snappy.parquet"
        written.append(storage.write_bytes(uri, buffer.getvalue(), s3=s3))
    return written
