import datetime as dt

import duckdb
import pytest

from camscore.stages.compact import STAGING, compact_day
from camscore.config import load_settings
from camscore.errors import LeaseHeld
from camscore.io import held
from camscore.stages.batches import with_output_columns

from camscore.io.on_spark import write_scores
from tables import score_rows


def path_of(i: int, day: int = 20) -> str:
    return f"s3://b/cam-{i % 2}/{day}-{i}.jpg"


def write_run(spark, output: str, *, day: int, batch: str, frames: range, model_id: str = "m") -> None:
    rows = [(path_of(i, day), f"cam-{i % 2}", dt.datetime(2026, 11, day, 8, i % 60),
             None if i % 7 == 0 else 0.25, None if i % 7 == 0 else 0, None if i % 7 == 0 else "bus",
             "decode" if i % 7 == 0 else None, "decode: bad" if i % 7 == 0 else None) for i in frames]
    write_scores(with_output_columns(score_rows(spark, rows), model_id=model_id,
                                     batch_id=batch, scored_at=dt.datetime(2026, 11, day, 9, len(batch))), output)


def every_row(output: str, where: str = "true") -> list[tuple]:
    return duckdb.sql(f"select path, camera_id, captured_at, probability, label, label_name, error_kind, error, "
                      f"model_id, scored_at, date from read_parquet('{output}/*/*/*.parquet', hive_partitioning = "
                      f"true) where {where} order by all").fetchall()


def test_a_days_runs_become_one_batch_with_every_row_and_other_days_stay_as_they_were(spark, tmp_path):
    output = str(tmp_path / "scores")
    for number in range(5):
        write_run(spark, output, day=20, batch=f"b{number}", frames=range(number * 10, number * 10 + 10))
    write_run(spark, output, day=21, batch="b9", frames=range(3))
    before = every_row(output)

    done = compact_day(spark, load_settings(), output=output, date="2026-11-20", file_mb=128)

    assert every_row(output) == before
    assert [path.name for path in (tmp_path / "scores" / "date=2026-11-20").iterdir()] == [f"batch={done.batch}"]
    assert len(list((tmp_path / "scores" / "date=2026-11-20").glob("*/*.parquet"))) == done.files == 1
    assert [path.name for path in (tmp_path / "scores" / "date=2026-11-21").iterdir()] == ["batch=b9"]
    assert (done.batches_read, done.rows) == (5, 50) and not (tmp_path / "scores" / STAGING).exists()
    again = compact_day(spark, load_settings(), output=output, date="2026-11-20", file_mb=128)
    assert (again.batch, again.batches_read) == (None, 1)
    quiet_day = compact_day(spark, load_settings(), output=output, date="2026-11-22", file_mb=128)
    assert quiet_day.format() == "date 2026-11-22: 0 batch, nothing to compact"


def test_compaction_waits_its_turn_while_a_run_holds_the_output(spark, tmp_path):
    output = str(tmp_path / "scores")

    with held(output, seconds=300, s3=None) as run, pytest.raises(LeaseHeld, match=run.run):
        compact_day(spark, load_settings(), output=output, date="2026-11-20", file_mb=128)


def write_errors(spark, output: str, *, batch: str, frames: list[int], kind: str) -> None:
    rows = [(path_of(i), f"cam-{i % 2}", dt.datetime(2026, 11, 20, 8, i % 60), None, None, None, kind, f"{kind}: x")
            for i in frames]
    write_scores(with_output_columns(score_rows(spark, rows), model_id="m", batch_id=batch,
                                     scored_at=dt.datetime(2026, 11, 20, 9, len(batch))), output)


def test_a_frame_with_several_rows_keeps_one_by_the_one_rule_whichever_model_wrote_them(spark, tmp_path):
    # One row per frame (camscore.rows.FRAME_ROW_NUMBER): a scored row before an error that lasts, before a
    # passing one (read); then the latest scored_at; then the greatest batch. A run's scored_at is 09:<its
    # batch name's length>.
    output = str(tmp_path / "scores")
    write_run(spark, output, day=20, batch="b0", frames=range(0, 10))
    write_run(spark, output, day=20, batch="b1", frames=range(5, 15))  # frames 5-9 again, as late: b1 is greater
    write_run(spark, output, day=20, batch="b22", frames=range(0, 3), model_id="newer")  # 0-2 rescored later
    write_errors(spark, output, batch="e333", frames=[13, 15], kind="unreadable")  # later, errors that last
    write_errors(spark, output, batch="r4444", frames=[7, 13, 15], kind="read")  # later still, passing ones
    kept = every_row(output, f"model_id = 'newer' or batch = 'b1' or (batch = 'b0' and path in ('{path_of(3)}', "
                             f"'{path_of(4)}')) or (batch = 'e333' and path = '{path_of(15)}')")

    done = compact_day(spark, load_settings(), output=output, date="2026-11-20", file_mb=128)

    assert every_row(output) == kept and len(kept) == 16
    # Frame 7 keeps b1's lasting error, 13 its scored row, 15 its lasting error.
    assert {row[0]: row[6] for row in kept if row[0] in (path_of(7), path_of(13), path_of(15))} == {
        path_of(7): "decode", path_of(13): None, path_of(15): "unreadable"}
    assert (done.rows, done.duplicates) == (16, 12)
    assert "12 repeated rows of a frame dropped (kept: one row per path: a scored row before" in done.format()
