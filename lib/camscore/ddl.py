"""The output table as each engine declares it, its column table and the service's answer keys, all made from
the row contract (camscore.rows), so README's copies cannot drift from what camscore writes.

``./submit.sh ddl`` prints them; tests/test_readme.py checks README's generated blocks against it.
"""

from __future__ import annotations

import textwrap

from camscore.rows import EVENT_ANSWER_KEYS, FRAME_ROW_NUMBER, PARTITION_COLUMNS, TABLE_COLUMNS, Column

DIALECTS = ("trino", "athena", "spark", "duckdb")
DEFAULT_LOCATION = {"trino": "s3://bucket/scores/", "athena": "s3://bucket/scores/", "spark": "s3://bucket/scores/",
                    "duckdb": "/data/scores"}
# Spark SQL's type names (camscore.rows) in the Hive DDL of Athena and Spark, and in Trino's. Trino's Hive
# connector takes a plain timestamp (its precision is the catalog's hive.timestamp-precision, milliseconds by
# default; CREATE TABLE refuses another).
_HIVE_TYPES = {"string": "string", "timestamp": "timestamp", "double": "double", "int": "int", "bigint": "bigint",
               "date": "date"}
_TRINO_TYPES = {"string": "varchar", "timestamp": "timestamp", "double": "double", "int": "integer",
                "bigint": "bigint", "date": "date"}
_JSON_TYPES = {"string": "string", "double": "number", "int": "number", "bigint": "number", "boolean": "boolean"}
_WIDTH = 110


def ddl(dialect: str, *, location: str | None = None) -> str:
    """The statements that declare the output at ``location`` as a table in ``dialect`` (one of DIALECTS)
    and a view of one row per frame (camscore.rows.FRAME_ROW_NUMBER): ``frames``, Athena's ``camscore_frames``.

    Raises:
        ValueError: an unknown dialect.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}; received: dialect={dialect!r}")
    location = location or DEFAULT_LOCATION[dialect]
    return {"trino": _trino, "athena": _athena, "spark": _spark, "duckdb": _duckdb}[dialect](_quoted(location))


def statements(sql: str) -> list[str]:
    """The statements of an SQL text such as ``ddl`` gives, one at a time as a client library runs them (Spark's
    ``spark.sql``), without their comment lines (which may hold a semicolon; camscore's literals hold none)."""
    code = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [part.strip() for part in code.split(";") if part.strip()]


def column_table() -> str:
    """The output's columns as a Markdown table: name, type and meaning, in the order engines read them."""
    lines = ["| column | type | meaning |", "| --- | --- | --- |"]
    for column in TABLE_COLUMNS:
        shown = f"{column.type} (UTC)" if column.type == "timestamp" else column.type
        lines.append(f"| `{column.name}` | {shown} | {column.doc} |")
    return "\n".join(lines)


def answer_keys() -> str:
    """The keys of the service's answer for each frame as a Markdown table: key, JSON type and meaning."""
    lines = ["| key | JSON type | meaning |", "| --- | --- | --- |"]
    for key in EVENT_ANSWER_KEYS:
        lines.append(f"| `{key.name}` | {_JSON_TYPES[key.type]}{' or null' if key.nullable else ''} | {key.doc} |")
    return "\n".join(lines)


def _data_and_partitions() -> tuple[list[Column], list[Column]]:
    data = [c for c in TABLE_COLUMNS if c.name not in PARTITION_COLUMNS]
    return data, [c for c in TABLE_COLUMNS if c.name in PARTITION_COLUMNS]


def _listed(columns, types: dict[str, str], *, quote: str = "") -> str:
    """Columns with their types, wrapped and indented for a CREATE TABLE's list (``quote``: around ``date``,
    a reserved word in Hive's DDL)."""
    return _wrapped([f"{quote}{c.name}{quote} {types[c.type]}" if c.name == "date" else f"{c.name} {types[c.type]}"
                     for c in columns])


def _wrapped(items: list[str], indent: str = "  ") -> str:
    """Items joined by commas, wrapped between items, each line indented."""
    text = ", ".join(item.replace(" ", "\0") for item in items)
    return textwrap.fill(text, _WIDTH, initial_indent=indent, subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False).replace("\0", " ")


def _rule(indent: str) -> str:
    """FRAME_ROW_NUMBER, each line indented."""
    return textwrap.indent(FRAME_ROW_NUMBER, indent)


def _frames_view(create: str, table: str) -> str:
    """A view of the table's rows, one per frame, for engines without QUALIFY (Trino, Athena, Spark)."""
    return (f"{create} AS\nSELECT\n{_wrapped([c.name for c in TABLE_COLUMNS])}\nFROM (SELECT *,\n"
            f"{_rule('  ')} AS frame_row\n  FROM {table}) AS numbered\nWHERE frame_row = 1;")


def _trino(location: str) -> str:
    data, partitions = _data_and_partitions()
    keys = ", ".join(f"'{c.name}'" for c in partitions)
    return ("-- Trino (Hive connector); timestamps read at the catalog's hive.timestamp-precision (milliseconds\n"
            "-- unless set to MICROSECONDS, as the files hold them)\n"
            f"CREATE TABLE hive.camscore.scores (\n{_listed(data + partitions, _TRINO_TYPES)})\n"
            f"WITH (external_location = '{location}', format = 'PARQUET', partitioned_by = ARRAY[{keys}]);\n"
            "-- after runs and compactions (or before queries): partitions added and removed\n"
            "CALL hive.system.sync_partition_metadata('camscore', 'scores', 'FULL');\n"
            "-- one row per frame (camscore.rows.FRAME_ROW_NUMBER)\n"
            + _frames_view("CREATE OR REPLACE VIEW hive.camscore.frames", "hive.camscore.scores"))


def _athena(location: str) -> str:
    data, partitions = _data_and_partitions()
    return (f"-- Athena\nCREATE EXTERNAL TABLE camscore_scores (\n{_listed(data, _HIVE_TYPES)})\n"
            f"PARTITIONED BY ({_listed(partitions, _HIVE_TYPES, quote='`').strip()})\n"
            f"STORED AS PARQUET LOCATION '{location}';\n"
            "-- after runs (or before queries): adds new partitions; those compaction removed read as empty\n"
            "MSCK REPAIR TABLE camscore_scores;\n"
            "-- one row per frame (camscore.rows.FRAME_ROW_NUMBER)\n"
            + _frames_view("CREATE OR REPLACE VIEW camscore_frames", "camscore_scores"))


def _spark(location: str) -> str:
    data, partitions = _data_and_partitions()
    keys = ", ".join(f"`{c.name}`" if c.name == "date" else c.name for c in partitions)
    return (f"-- Spark SQL (3.5 and 4)\nCREATE TABLE scores (\n"
            f"{_listed(data + partitions, _HIVE_TYPES, quote='`')})\n"
            f"USING parquet PARTITIONED BY ({keys}) LOCATION '{location}';\n"
            "-- after runs and compactions (or before queries): partitions added and removed\n"
            "MSCK REPAIR TABLE scores SYNC PARTITIONS;\n"
            "-- one row per frame (camscore.rows.FRAME_ROW_NUMBER)\n"
            + _frames_view("CREATE OR REPLACE VIEW frames", "scores"))


def _duckdb(location: str) -> str:
    # date=*/batch=*: the table's files only, never _reports/, _compacting/ or anything else beside them.
    files = f"{location.rstrip('/')}/date=*/batch=*/*.parquet"
    keys = ", ".join(PARTITION_COLUMNS)  # DuckDB puts them in its own order
    return ("-- DuckDB: one row per frame (camscore.rows.FRAME_ROW_NUMBER); the files' columns, then date and batch\n"
            f"CREATE OR REPLACE VIEW frames AS\nSELECT * EXCLUDE ({keys}), {keys} FROM read_parquet('{files}',\n"
            "  hive_partitioning = true, hive_types = {'date': DATE, 'batch': VARCHAR}, union_by_name = true)\n"
            f"QUALIFY\n{_rule('  ')} = 1;")


def _quoted(text: str) -> str:
    """Text inside SQL's single quotes."""
    return text.replace("'", "''")
