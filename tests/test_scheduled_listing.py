"""A scheduled --only-new run over an object store lists only what sorts past the checkpoint the output keeps,
and still gives every frame exactly one row: late frames by the whole listing, a failed run by the next one."""

import dataclasses
import json
import time
from pathlib import Path

import pytest

from camscore.io.listing_checkpoint import uri_of
from conftest import load_job, put_frames
from tools import samples

score = load_job("score").main
REGEX = r"(?P<camera_id>[^/]+)/(?P<captured_at>\d{8}T\d{6})[^/]*$"


@pytest.fixture
def scheduled(write_config, s3_server, bucket, model_dir, tmp_path):
    """``run(full_listing_hours=24)`` scores the bucket's ``in/`` with --only-new into one output (lookback 0:
    every frame put before a run is settled by it) and returns its summary."""
    output = tmp_path / "out"

    def run(full_listing_hours: float = 24) -> dict:
        config = write_config({"s3": dataclasses.asdict(s3_server.settings), "source": {"path_regex": REGEX},
                               "score": {"lookback_minutes": 0, "full_listing_hours": full_listing_hours}})
        code = score(["--input", f"{bucket}/in", "--model", model_dir, "--output", str(output), "--config", config,
                      "--only-new"])
        assert code == 0
        return json.loads((output / "_summary.json").read_text())

    run.output = output
    return run


def put(bucket: str, settings, *names: str) -> None:
    put_frames(f"{bucket}/in", {name: samples.frame_jpeg("car", seed=len(name) + i) for i, name in enumerate(names)},
               settings)


def rows_per_path(spark, output: Path) -> dict[str, int]:
    return {row["path"]: row["count"] for row in spark.read.parquet(str(output)).groupBy("path").count().collect()}


def test_a_scheduled_run_lists_past_the_checkpoint_and_a_late_frame_gets_one_row_from_the_whole_listing(
        spark, s3_server, bucket, scheduled):
    put(bucket, s3_server.settings, "cam-01/20261124T080000.jpg", "cam-02/20261124T080000.jpg",
        "cam-01/20261124T090000.jpg")
    first = scheduled()
    put(bucket, s3_server.settings, "cam-02/20261124T100000.jpg")

    second = scheduled()
    put(bucket, s3_server.settings, "cam-01/20261124T083000.jpg")  # flushed late: sorts before cam-01's checkpoint
    third = scheduled()
    whole = scheduled(full_listing_hours=0)

    assert (first["listing"]["whole"], first["frames_read"]) == (True, 3)
    assert (second["listing"]["whole"], second["listing"]["frames"], second["frames_read"]) == (False, 1, 1)
    assert (third["listing"]["whole"], third["listing"]["frames"], third["frames_read"]) == (False, 0, 0)
    assert (whole["listing"]["whole"], whole["listing"]["frames"], whole["frames_read"]) == (True, 5, 1)
    assert rows_per_path(spark, scheduled.output) == {
        f"{bucket}/in/{name}": 1 for name in ("cam-01/20261124T080000.jpg", "cam-01/20261124T083000.jpg",
                                              "cam-01/20261124T090000.jpg", "cam-02/20261124T080000.jpg",
                                              "cam-02/20261124T100000.jpg")}


def test_a_run_that_fails_before_committing_leaves_the_checkpoint_and_the_next_run_scores_its_frames(
        spark, s3_server, bucket, scheduled):
    put(bucket, s3_server.settings, "cam-01/20261124T080000.jpg")
    scheduled()
    checkpoint = Path(uri_of(str(scheduled.output), f"{bucket}/in"))
    kept = checkpoint.read_bytes()
    put(bucket, s3_server.settings, "cam-01/20261125T080000.jpg")
    blocker = scheduled.output / "date=2026-11-25"
    blocker.write_text("a file where the new day's partition folder must go")

    with pytest.raises(Exception, match="date=2026-11-25 is not a Parquet file"):  # after listing, before rows
        scheduled()
    left = checkpoint.read_bytes()
    blocker.unlink()
    after = scheduled()

    assert left == kept
    assert (after["listing"]["whole"], after["frames_read"]) == (False, 1)
    assert rows_per_path(spark, scheduled.output) == {f"{bucket}/in/cam-01/20261124T080000.jpg": 1,
                                                      f"{bucket}/in/cam-01/20261125T080000.jpg": 1}


def test_a_folder_whose_keys_are_out_of_time_order_is_said_once_and_listed_whole(
        spark, s3_server, bucket, scheduled, caplog):
    put(bucket, s3_server.settings, "cam-01/20261124T080000.jpg", "cam-03/20261124T120000.jpg")
    time.sleep(1.1)  # S3 times objects to the second
    put(bucket, s3_server.settings, "cam-03/20261124T110000.jpg")  # written later, sorts before
    scheduled()
    said = [record.getMessage() for record in caplog.records if "out of time order" in record.getMessage()]
    put(bucket, s3_server.settings, "cam-03/20261124T100000.jpg")

    second = scheduled()

    assert said == [f"1 folders under {bucket}/in have keys out of time order (e.g. in/cam-03/): they are listed "
                    "whole every run until a whole listing finds them in order (source.key_order)"]
    assert (second["listing"]["whole"], second["listing"]["frames"], second["frames_read"]) == (False, 3, 1)
    assert rows_per_path(spark, scheduled.output) == {
        f"{bucket}/in/{name}": 1 for name in ("cam-01/20261124T080000.jpg", "cam-03/20261124T100000.jpg",
                                              "cam-03/20261124T110000.jpg", "cam-03/20261124T120000.jpg")}
