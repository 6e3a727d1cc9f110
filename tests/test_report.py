import datetime as dt

import duckdb

from camscore.rows import SCORE_COLUMNS as SCORE_ROW
from camscore.spark.schema import struct
from camscore.stages.batches import with_output_columns

SCORE_COLUMNS = struct(SCORE_ROW)
from camscore.io.sinks import write_scores

from conftest import load_job

report = load_job("report").main
UTC = dt.timezone.utc


def test_the_report_gives_frames_car_share_and_errors_per_camera_and_hour_as_parquet_and_a_chart(
        spark, tmp_path, capsys):
    output = str(tmp_path / "scores")
    rows = [("s3://b/cam-1/a.jpg", "cam-1", dt.datetime(2026, 11, 20, 8, 5, tzinfo=UTC), 0.9, 1, "car", None, None),
            ("s3://b/cam-1/b.jpg", "cam-1", dt.datetime(2026, 11, 20, 8, 55, tzinfo=UTC), 0.2, 0, "bus", None, None),
            ("s3://b/cam-1/c.jpg", "cam-1", dt.datetime(2026, 11, 20, 8, 56, tzinfo=UTC), None, None, None, "decode",
             "decode: bad"),
            ("s3://b/cam-1/d.jpg", "cam-1", dt.datetime(2026, 11, 20, 9, 0, tzinfo=UTC), 0.8, 1, "car", None, None),
            ("s3://b/cam-2/e.jpg", "cam-2", dt.datetime(2026, 11, 20, 8, 30, tzinfo=UTC), 0.7, 1, "car", None, None),
            ("s3://b/cam-2/f.jpg", "cam-2", dt.datetime(2026, 11, 21, 8, 30, tzinfo=UTC), 0.7, 1, "car", None, None)]
    write_scores(with_output_columns(spark.createDataFrame(rows, SCORE_COLUMNS), model_id="m", batch_id="b1",
                                     scored_at=dt.datetime(2026, 11, 21, tzinfo=UTC)), output)

    assert report(["--output", output, "--date", "2026-11-20", "--master", "local[2]"]) == 0

    folder = tmp_path / "scores" / "_reports" / "2026-11-20"
    table = duckdb.sql(f"select camera_id, hour::varchar, frames, scored, cars, car_share, errors "
                       f"from read_parquet('{folder}/camera_hours/*.parquet') order by all").fetchall()
    assert table == [("cam-1", "2026-11-20 08:00:00+00", 3, 2, 1, 0.5, 1),
                     ("cam-1", "2026-11-20 09:00:00+00", 1, 1, 1, 1.0, 0),
                     ("cam-2", "2026-11-20 08:00:00+00", 1, 1, 1, 1.0, 0)]
    assert (folder / "camera_hours.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out.splitlines()[:3] == [
        "camera        frames  scored car share  errors",
        "cam-1              4       3     0.667       1",
        "cam-2              1       1     1.000       0"]
