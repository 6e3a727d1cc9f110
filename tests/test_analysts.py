"""The output as analysts read it: DuckDB and Spark SQL see the same table."""

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from camscore.ddl import ddl
from camscore.rows import OUTPUT_COLUMNS, PARTITION_COLUMNS, TABLE_COLUMNS, names
from camscore.stages.batches import with_output_columns

from camscore.io.on_spark import rows_under, write_scores
from tables import score_rows

DUCKDB_TYPES = {"string": "VARCHAR", "timestamp": "TIMESTAMP WITH TIME ZONE", "double": "DOUBLE", "int": "INTEGER",
                "bigint": "BIGINT", "date": "DATE"}


def test_duckdb_and_spark_sql_read_the_same_rows_partitions_and_types(spark, tmp_path):
    output = write_output(spark, tmp_path, batch_id="b1")

    query = "select date, camera_id, count(*) as frames, count(error_kind) as errors from scores " \
            "group by date, camera_id order by date, camera_id"
    spark.read.parquet(output).createOrReplaceTempView("scores")
    by_spark = [tuple(row) for row in spark.sql(query).collect()]
    spark.catalog.dropTempView("scores")
    with duckdb.connect() as db:
        db.execute(f"create view scores as select * from read_parquet('{output}/date=*/batch=*/*.parquet', "
                   f"hive_partitioning = true)")
        by_duckdb = db.execute(query).fetchall()
        types = dict(db.execute("select column_name, column_type from (describe scores)").fetchall())

    assert by_duckdb == by_spark
    assert sum(row[2] for row in by_duckdb) == 10 and sum(row[3] for row in by_duckdb) == 1
    assert (types["date"], types["probability"], types["scored_at"], types["batch"]) == (
        "DATE", "DOUBLE", "TIMESTAMP WITH TIME ZONE", "VARCHAR")
    assert all(isinstance(row[0], dt.date) for row in by_duckdb)


def write_output(spark, tmp_path, *, batch_id: str = "20261121") -> str:
    """Rows as the scoring job writes them (its own sink): nine scored frames over three days, one broken; the
    default batch id is all digits, which Spark's own partition discovery would read as a number."""
    rows = [(f"file:/in/cam-{i % 2 + 1}/{i}.jpg", f"cam-{i % 2 + 1}", dt.datetime(2026, 11, 20 + i % 3, 8, i,
                                                                                    tzinfo=dt.timezone.utc),
             0.9, 1, "car", None, None) for i in range(9)]
    rows.append(("file:/in/cam-1/broken.jpg", "cam-1", dt.datetime(2026, 11, 20, 9, tzinfo=dt.timezone.utc), None,
                 None, None, "not_image", "not a known image format (6 bytes)"))
    output = str(tmp_path / "scores")
    write_scores(with_output_columns(score_rows(spark, rows), model_id="m", batch_id=batch_id,
                                     scored_at=dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc)), output)
    return output


def write_beside(output: str) -> None:
    """What camscore writes beside the table, as Parquet files a glob could reach: a report's health file, and a
    compaction's copy of a day's rows (which would read every frame of it twice)."""
    base = Path(output)
    (base / "_reports" / "2026-11-20").mkdir(parents=True)
    duckdb.sql(f"copy (select 'cam-1' as camera_id, 'ok' as status) to "
               f"'{base / '_reports' / '2026-11-20' / 'camera_health.parquet'}'")
    (base / "_compacting" / "c0123").mkdir(parents=True)
    day = next((base / "date=2026-11-20" / "batch=20261121").glob("*.parquet"))
    shutil.copy(day, base / "_compacting" / "c0123" / day.name)


@pytest.mark.spark35
def test_the_spark_tables_ddl_reads_the_rows_the_job_wrote_with_their_types(spark, tmp_path):
    output = write_output(spark, tmp_path)
    write_beside(output)
    columns = ", ".join(names(TABLE_COLUMNS))
    # As camscore reads its output, with its schema (Spark's own discovery would make batch 20261121 an int).
    written = sorted(tuple(row) for row in rows_under(spark, output).selectExpr(*names(TABLE_COLUMNS)).collect())

    for statement in ddl("spark", location=output).split(";\n"):
        spark.sql(statement.rstrip(";"))
    try:
        table = sorted(tuple(row) for row in spark.sql(f"select {columns} from scores").collect())
        types = [(field.name, field.dataType.simpleString()) for field in spark.table("scores").schema]
        frames = spark.sql("select count(*), count(distinct path) from frames").first()
    finally:
        spark.sql("drop view frames")
        spark.sql("drop table scores")

    assert table == written and len(table) == 10
    assert types == [(column.name, column.type) for column in TABLE_COLUMNS]
    assert tuple(frames) == (10, 10)


def test_the_duckdb_view_reads_the_table_and_nothing_camscore_writes_beside_it(spark, tmp_path):
    output = write_output(spark, tmp_path)
    write_beside(output)
    by_spark = sorted(tuple(row) for row in rows_under(spark, output).select("path", "batch", "date").collect())

    with duckdb.connect() as db:
        db.execute(ddl("duckdb", location=output))
        rows = db.execute("select path, batch, date from frames order by all").fetchall()
        types = db.execute("select column_name, column_type from (describe frames)").fetchall()

    assert rows == by_spark and len(rows) == 10
    assert types == [(column.name, DUCKDB_TYPES[column.type]) for column in TABLE_COLUMNS]


def declared(text: str, after: str, before: str) -> list[tuple[str, str]]:
    """The (name, type) pairs of a column list in DDL text, between ``after`` and ``before``."""
    listed = text[text.index(after) + len(after):text.index(before)]
    return [tuple(item.replace("`", "").split()) for item in listed.replace("\n", " ").split(",")]


def test_the_trino_and_athena_tables_name_every_output_column_with_its_type_and_the_partitions_last():
    trino = ddl("trino", location="s3://b/out/")
    athena = ddl("athena", location="s3://b/out/")
    trino_types = {"string": "varchar", "timestamp": "timestamp", "double": "double", "int": "integer",
                   "bigint": "bigint", "date": "date"}
    partitions = [c for c in OUTPUT_COLUMNS if c.name in PARTITION_COLUMNS]

    listed = declared(trino, "CREATE TABLE hive.camscore.scores (", ")\nWITH (")
    assert sorted(listed) == sorted((c.name, trino_types[c.type]) for c in OUTPUT_COLUMNS)
    assert [name for name, _ in listed[-2:]] == list(PARTITION_COLUMNS) == ["date", "batch"]
    assert "external_location = 's3://b/out/', format = 'PARQUET', partitioned_by = ARRAY['date', 'batch']" in trino
    assert "sync_partition_metadata('camscore', 'scores', 'FULL')" in trino

    data = declared(athena, "CREATE EXTERNAL TABLE camscore_scores (", ")\nPARTITIONED BY (")
    keys = declared(athena, "PARTITIONED BY (", ")\nSTORED AS PARQUET")
    assert sorted(data + keys) == sorted((c.name, c.type) for c in OUTPUT_COLUMNS)
    assert keys == [(c.name, c.type) for c in partitions] and "PARTITIONED BY (`date` date, batch string)" in athena
    assert "STORED AS PARQUET LOCATION 's3://b/out/';\nMSCK REPAIR TABLE camscore_scores;" in athena.replace(
        "\n-- after runs (or before queries): adds new partitions; those compaction removed read as empty", "")
