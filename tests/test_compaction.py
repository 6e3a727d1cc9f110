import datetime as dt

import duckdb
import pytest

from camscore.stages.compact import STAGING, compact_day
from camscore.config import load_settings
from camscore.errors import LeaseHeld
from camscore.io.lease import held
from camscore.stages.batches import with_output_columns

from camscore.io.sinks import write_scores
from tables import score_rows


def write_run(spark, output: str, *, day: int, batch: str, frames: range, model_id: str = "m") -> None:
    rows = [(f"s3://b/cam-{i % 2}/{day}-{i}.jpg", f"cam-{i % 2}", dt.datetime(2026, 11, day, 8, i % 60),
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


def test_compaction_waits_its_turn_while_a_run_holds_the_output(spark, tmp_path):
    output = str(tmp_path / "scores")

    with held(output, seconds=300, s3=None) as run, pytest.raises(LeaseHeld, match=run.run):
        compact_day(spark, load_settings(), output=output, date="2026-11-20", file_mb=128)


def test_a_frame_scored_twice_keeps_its_first_scored_row_and_other_models_rows_stay(spark, tmp_path):
    output = str(tmp_path / "scores")
    write_run(spark, output, day=20, batch="b0", frames=range(0, 10))
    write_run(spark, output, day=20, batch="b1", frames=range(5, 15))  # frames 5-9 again, scored later
    write_run(spark, output, day=20, batch="b2", frames=range(0, 3), model_id="other")
    first = every_row(output, "batch = 'b0' or (batch = 'b1' and path not in (select path from read_parquet("
                              f"'{output}/*/batch=b0/*.parquet')))")

    done = compact_day(spark, load_settings(), output=output, date="2026-11-20", file_mb=128)

    assert every_row(output, "model_id = 'm'") == sorted(first)
    assert len(every_row(output, "model_id = 'other'")) == 3
    assert (done.rows, done.duplicates) == (18, 5)
