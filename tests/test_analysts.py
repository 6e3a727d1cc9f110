"""The output as analysts read it: DuckDB and Spark SQL see the same table."""

import datetime as dt

import duckdb

from camscore.devtools import samples

from conftest import load_job, put_frames

score = load_job("score").main


def test_duckdb_and_spark_sql_read_the_same_rows_partitions_and_types(spark, openvino_model_dir, tmp_path):
    frames = {f"cam-{i % 2 + 1}/2026112{i % 3}T08{i:02d}00.jpg": samples.frame_jpeg(samples.KINDS[i % 2], seed=i)
              for i in range(9)}
    put_frames(str(tmp_path / "in"), {**frames, "cam-1/20261120T090000.jpg": b"broken"}, None)
    output = str(tmp_path / "scores")
    assert score(["--input", str(tmp_path / "in"), "--model", openvino_model_dir, "--output", output]) == 0

    query = "select date, camera_id, count(*) as frames, count(error_kind) as errors from scores " \
            "group by date, camera_id order by date, camera_id"
    spark.read.parquet(output).createOrReplaceTempView("scores")
    by_spark = [tuple(row) for row in spark.sql(query).collect()]
    with duckdb.connect() as db:
        db.execute(f"create view scores as select * from read_parquet('{output}/*/*/*.parquet', "
                   f"hive_partitioning = true)")
        by_duckdb = db.execute(query).fetchall()
        types = dict(db.execute("select column_name, column_type from (describe scores)").fetchall())

    assert by_duckdb == by_spark
    assert sum(row[2] for row in by_duckdb) == 10 and sum(row[3] for row in by_duckdb) == 1
    assert (types["date"], types["probability"], types["scored_at"], types["batch"]) == (
        "DATE", "DOUBLE", "TIMESTAMP WITH TIME ZONE", "VARCHAR")
    assert all(isinstance(row[0], dt.date) for row in by_duckdb)
