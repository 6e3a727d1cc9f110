"""A frame with several rows (a passing fault's row then a scored one, the batch job's and the service's) has one
row wherever the table is read: compaction, the report and the analysts' views keep the same one, by the one
rule beside the row contract (camscore.rows.FRAME_ROW_NUMBER)."""

import datetime as dt

import duckdb
from pyspark.sql import functions as F

from camscore.config import HealthSettings, load_settings
from camscore.ddl import ddl
from camscore.io import new_batch, write_rows
from camscore.io.on_spark import write_scores
from camscore.stages.batches import with_output_columns
from camscore.stages.compact import compact_day
from camscore.stages.report import camera_health, camera_hours, frame_rows
from tables import score_rows

UTC = dt.timezone.utc
DAY = dt.datetime(2026, 11, 20, tzinfo=UTC)
A, B, C = (f"s3://b/cam-1/{name}.jpg" for name in "abc")


def at(hour: int) -> dt.datetime:
    return DAY + dt.timedelta(hours=hour)


def micros(when: dt.datetime) -> int:
    return (when - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(microseconds=1)


def signals(seed: int) -> tuple:
    """A sound frame's picture signals, its hash and bytes' hash its own."""
    return 0.5, 0.2, 0.05, 0.01, 150.0, 0x5A5A5A5A5A5A5A5A ^ seed, f"{seed:064x}"


def error(path: str, hour: int) -> tuple:
    return path, "cam-1", at(hour), None, None, None, "read", "read: connection reset"


def scored(path: str, hour: int, probability: float) -> tuple:
    label = int(probability >= 0.5)
    return path, "cam-1", at(hour), probability, label, ("bus", "car")[label], None, None


def write_batch_run(spark, output: str, *, batch: str, scored_at: dt.datetime, rows: list[tuple],
                    pictures: list[tuple]) -> None:
    write_scores(with_output_columns(score_rows(spark, rows, pictures), model_id="m", batch_id=batch,
                                     scored_at=scored_at), output)


def test_compaction_the_report_and_the_views_keep_the_same_row_of_each_frame(spark, tmp_path):
    output = str(tmp_path / "scores")
    none = (None,) * 7
    # Frame A: a passing fault's row, then a scored row by the next batch run, then a later one by the service.
    # Frame B: one row. Frame C: scored by the batch run, then a passing fault by the service (a doubled event
    # reaching a restarted service whose read failed).
    write_batch_run(spark, output, batch="b0", scored_at=at(9), rows=[error(A, 8)], pictures=[none])
    write_batch_run(spark, output, batch="b1", scored_at=at(10),
                    rows=[scored(A, 8, 0.2), scored(B, 9, 0.3), scored(C, 10, 0.8)],
                    pictures=[signals(1), signals(2), signals(3)])
    served = new_batch(at(11))
    names = ("path", "camera_id", "captured_at", "probability", "label", "label_name", "error_kind", "error",
             "brightness", "contrast", "dark_fraction", "bright_fraction", "sharpness", "phash", "content_sha")
    write_rows([{**dict(zip(names, scored(A, 8, 0.9) + signals(4))), "model_id": "m", "scored_at": at(11)},
                {**dict(zip(names, error(C, 10) + none)), "model_id": "m", "scored_at": at(11)}],
               output, batch=served, s3=None)
    kept = {A: (served, micros(at(11)), 0.9), B: ("b1", micros(at(10)), 0.3), C: ("b1", micros(at(10)), 0.8)}

    # The report: what it counts and judges, frames and cars per hour (one frame an hour), the camera's health.
    rows = frame_rows(spark, output, date="2026-11-20")
    assert {row[0]: tuple(row[1:]) for row in rows.select(
        "path", "batch", F.unix_micros("scored_at"), "probability").collect()} == kept
    hours = camera_hours(spark, output, date="2026-11-20").select(
        F.hour("hour"), "frames", "scored", "cars", "errors").collect()
    assert [tuple(row) for row in hours] == [(8, 1, 1, 1, 0), (9, 1, 1, 0, 0), (10, 1, 1, 1, 0)]
    health = camera_health(spark, output, date="2026-11-20", settings=HealthSettings(), now=at(12)).episodes
    assert health[["status", "frames"]].values.tolist() == [["ok", 3]]

    # The analysts' views: DuckDB's, and Spark SQL's.
    with duckdb.connect() as db:
        db.execute(ddl("duckdb", location=output))
        by_duckdb = {row[0]: row[1:] for row in db.execute(
            "select path, batch, epoch_us(scored_at), probability from frames").fetchall()}
    assert by_duckdb == kept
    for statement in ddl("spark", location=output).split(";\n"):
        spark.sql(statement.rstrip(";"))
    try:
        by_spark = {row[0]: tuple(row[1:]) for row in spark.sql(
            "select path, batch, unix_micros(scored_at), probability from frames").collect()}
    finally:
        spark.sql("drop view frames")
        spark.sql("drop table scores")
    assert by_spark == kept

    # Compaction: the day's one batch holds the same row of each frame (its batch now compaction's own).
    done = compact_day(spark, load_settings(), output=output, date="2026-11-20", file_mb=128)
    compacted = duckdb.sql(f"select path, batch, epoch_us(scored_at), probability from read_parquet("
                           f"'{output}/*/*/*.parquet', hive_partitioning = true)").fetchall()
    assert {row[0]: row[2:] for row in compacted} == {path: row[1:] for path, row in kept.items()}
    assert {row[1] for row in compacted} == {done.batch} and (done.rows, done.duplicates) == (3, 3)


def test_the_demo_shows_the_row_the_frames_view_keeps_of_a_frame_the_service_scored_again(spark, tmp_path):
    from tools.demo_run import one_per_frame

    output = tmp_path / "scores"
    frame = "s3://b/incoming/cam-1/a.jpg"
    write_batch_run(spark, str(output), batch="b1", scored_at=at(10), rows=[scored(frame, 8, 0.2)],
                    pictures=[signals(1)])
    write_batch_run(spark, str(output), batch="s1-service", scored_at=at(11), rows=[scored(frame, 8, 0.3)],
                    pictures=[signals(1)])

    shown = one_per_frame(spark, str(output), [frame])

    assert shown.splitlines()[1].split() == ["cam-1/a.jpg", "service", "0.3000", "bus"]
    assert "frames" not in [table.name for table in spark.catalog.listTables()]
