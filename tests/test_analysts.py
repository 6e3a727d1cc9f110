"""The output as analysts read it: DuckDB and Spark SQL see the same table."""

import datetime as dt

import duckdb

from camscore.stages.batches import with_output_columns

from camscore.io.sinks import write_scores
from tables import score_rows


def test_duckdb_and_spark_sql_read_the_same_rows_partitions_and_types(spark, tmp_path):
    # Rows as the scoring job writes them (its own sink): nine scored frames over three days, one broken.
    rows = [(f"file:/in/cam-{i % 2 + 1}/{i}.jpg", f"cam-{i % 2 + 1}", dt.datetime(2026, 11, 20 + i % 3, 8, i,
                                                                                    tzinfo=dt.timezone.utc),
             0.9, 1, "car", None, None) for i in range(9)]
    rows.append(("file:/in/cam-1/broken.jpg", "cam-1", dt.datetime(2026, 11, 20, 9, tzinfo=dt.timezone.utc), None,
                 None, None, "not_image", "not a known image format (6 bytes)"))
    output = str(tmp_path / "scores")
    write_scores(with_output_columns(score_rows(spark, rows), model_id="m", batch_id="b1",
                                     scored_at=dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc)), output)

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
