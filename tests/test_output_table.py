import datetime as dt
from pathlib import Path

import pytest

from camscore.stages.batches import with_output_columns

from camscore.io.on_spark import batch_rows, done_paths, partition_dates, write_scores
from tables import score_rows

pytestmark = pytest.mark.spark35  # ./submit.sh test runs these on Spark 3.5 too

SCORED_AT = dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc)


def scores(spark, day: int, count: int, *, start: int = 0, error_kind: str | None = None):
    rows = [(f"s3://b/cam-1/{day}-{i}.jpg", "cam-1", dt.datetime(2026, 11, day, 8, i, tzinfo=dt.timezone.utc),
             None if error_kind else 0.9, None if error_kind else 1, None if error_kind else "car", error_kind,
             error_kind and f"{error_kind}: reset") for i in range(start, start + count)]
    return score_rows(spark, rows)


def read_folders(frame) -> set[str]:
    """The date= and batch= folders a DataFrame's scan reads."""
    return {"/".join(Path(file).parts[-3:-1]) for file in frame.inputFiles()}


def test_the_dates_of_frames_are_the_date_partitions_their_rows_go_to(spark):
    frames = scores(spark, 19, 2).unionByName(scores(spark, 20, 1))

    assert partition_dates(frames) == ["2026-11-19", "2026-11-20"]


def test_what_is_done_is_read_from_the_date_partitions_asked_for_only(spark, tmp_path):
    output = str(tmp_path / "scores")
    for day, batch in ((18, "b1"), (19, "b2"), (20, "b3")):
        write_scores(with_output_columns(scores(spark, day, 3), model_id="m", batch_id=batch, scored_at=SCORED_AT),
                     output)
    write_scores(with_output_columns(scores(spark, 20, 1, start=3, error_kind="read"), model_id="m", batch_id="b4",
                                     scored_at=SCORED_AT), output)

    done = done_paths(spark, output, model_id="m", dates=["2026-11-20", "2026-11-21"])

    assert read_folders(done) == {"date=2026-11-20/batch=b3", "date=2026-11-20/batch=b4"}
    assert sorted((row["path"], row["passing"]) for row in done.collect()) == [
        ("s3://b/cam-1/20-0.jpg", False), ("s3://b/cam-1/20-1.jpg", False), ("s3://b/cam-1/20-2.jpg", False),
        ("s3://b/cam-1/20-3.jpg", True)]
    assert read_folders(batch_rows(spark, output, batch_id="b3", dates=["2026-11-19", "2026-11-20"])) == {
        "date=2026-11-20/batch=b3"}
    assert done_paths(spark, output, model_id="m", dates=["2026-11-22"]).count() == 0
