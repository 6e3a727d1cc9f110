"""A frame's row is the same whichever path scored it: the batch job's and the service's rows for the same frames
agree in every column but the run's own (when it ran, which batch wrote it)."""

import dataclasses
import datetime as dt

import duckdb

from camscore.rows import OUTPUT_COLUMNS, names
from tools import samples
from conftest import load_job
from service import aws_event, storage_put

score = load_job("score").main
RUN_OWN = ("scored_at", "batch")
REGEX = r"(?P<camera_id>cam-\d+)/(?P<captured_at>\d{8}T\d{6})"


def rows_by_path(output: str, columns: list[str]) -> dict[str, dict]:
    table = duckdb.sql(f"select {', '.join(columns)} from read_parquet('{output}/date=*/batch=*/*.parquet', "
                       f"hive_partitioning = true, hive_types = {{'date': DATE, 'batch': VARCHAR}})").fetchall()
    return {row[0]: dict(zip(columns, row)) for row in table}


def test_the_batch_job_and_the_service_write_the_same_row_of_a_frame(spark, s3_server, bucket, start_service,
                                                                      openvino_model_dir, write_config, tmp_path):
    frames = {f"in/cam-{n % 2 + 1}/20261120T08{n:02d}00.jpg": samples.frame_jpeg(samples.KINDS[n % 2], seed=n)
              for n in range(6)}
    frames["in/cam-3/20261120T090000.jpg"] = b"not an image"
    frames["in/cam-3/no-time.jpg"] = samples.frame_jpeg("car", seed=9)
    for key, data in frames.items():
        storage_put(s3_server, bucket, key, data)
    config = write_config({"s3": dataclasses.asdict(s3_server.settings), "source": {"path_regex": REGEX}})
    batch_output = str(tmp_path / "batch")
    assert score(["--input", f"{bucket}/in", "--model", openvino_model_dir, "--output", batch_output,
                  "--config", config]) == 0
    service = start_service()
    assert service.post_json("/", aws_event(bucket, *frames))[0] == 200
    service.stop()

    columns = [name for name in names(OUTPUT_COLUMNS) if name not in RUN_OWN]
    by_batch, by_service = rows_by_path(batch_output, columns), rows_by_path(str(service.output), columns)

    assert sorted(by_batch) == sorted(by_service) == sorted(f"{bucket}/{key}" for key in frames)
    for path, row in by_batch.items():
        assert {name: value for name, value in by_service[path].items() if value != row[name]} == {}, path
    assert by_batch[f"{bucket}/in/cam-3/20261120T090000.jpg"]["error_kind"] == "not_image"
    assert by_batch[f"{bucket}/in/cam-1/20261120T080000.jpg"]["captured_at"] == dt.datetime(
        2026, 11, 20, 8, tzinfo=dt.timezone.utc)
