"""On Google Cloud a frame is ``gs://bucket/key`` whichever path scores it: the batch job reading gs:// through
the S3 API (source.reader boto3) and the service taking Cloud Storage's finalize CloudEvents give its row one
``path``, so --only-new and compaction leave one row per frame. The session's S3 server stands in for
https://storage.googleapis.com (Cloud Storage's S3-compatible XML API)."""

import dataclasses
import io
import uuid

import pyarrow.parquet as pq
import pytest

from camscore import storage
from camscore.config import SourceSettings
from tools import samples
from camscore.errors import ConfigError
from camscore.io.on_spark import read_frames
from conftest import load_job
from service import REGEX, rows_of, storage_put

score = load_job("score").main
compact = load_job("compact").main


def finalized(service, bucket: str, key: str, size: int) -> tuple[int, list[dict]]:
    """Posts the CloudEvent (binary mode) Eventarc sends for an object written to a Cloud Storage bucket."""
    headers = {"ce-specversion": "1.0", "ce-id": uuid.uuid4().hex,
               "ce-type": "google.cloud.storage.object.v1.finalized",
               "ce-source": f"//storage.googleapis.com/projects/_/buckets/{bucket}", "ce-subject": f"objects/{key}",
               "content-type": "application/json"}
    return service.post_json("/", {"bucket": bucket, "name": key, "size": str(size)}, headers)


def test_a_frame_scored_by_the_batch_job_over_gs_and_by_a_finalize_event_has_one_gs_row(
        spark, s3_server, bucket, start_service, openvino_model_dir, write_config):
    name = bucket.removeprefix("s3://")
    frames = {f"in/cam-{n % 2 + 1}/20261120T08{n:02d}00.jpg": samples.frame_jpeg(samples.KINDS[n % 2], seed=n)
              for n in range(5)}
    keys = list(frames)
    for key in keys[:4]:
        storage_put(s3_server, bucket, key, frames[key])
    service = start_service()
    output = str(service.output)
    config = write_config({"s3": dataclasses.asdict(s3_server.settings),
                           "source": {"reader": "boto3", "path_regex": REGEX}})
    run = ["--input", f"gs://{name}/in", "--model", openvino_model_dir, "--output", output, "--config", config]

    assert score(run) == 0
    storage_put(s3_server, bucket, keys[4], frames[keys[4]])  # uploaded after the batch run listed
    answers = [finalized(service, name, key, len(frames[key])) for key in keys]
    service.stop()  # writes the rows it holds
    assert score([*run, "--only-new"]) == 0
    before = rows_of(service.output)
    assert compact(["--output", output, "--date", "2026-11-20", "--config", config]) == 0
    after = rows_of(service.output)

    paths = [f"gs://{name}/{key}" for key in keys]
    assert [row[0] for row in after] == sorted(paths)  # one row per frame, named gs://
    assert {(row[1], row[3], row[6]) for row in after} <= {("cam-1", "2026-11-20", None), ("cam-2", "2026-11-20", None)}
    # Four frames scored by both paths, one by the service alone, none again by --only-new.
    assert sorted(row[0] for row in before) == sorted(paths[:4] * 2 + paths[4:])
    assert [(status, [answer["path"] for answer in answer_list]) for status, answer_list in answers] == [
        (200, [path]) for path in paths]


def test_the_service_writes_its_rows_to_a_gs_output_through_the_s3_api(s3_server, bucket, start_service):
    name = bucket.removeprefix("s3://")
    key = "cam-1/20261120T081500.jpg"
    storage_put(s3_server, bucket, key, samples.frame_jpeg("car", seed=1))
    service = start_service({"output": f"gs://{name}/scores"})

    status, answers = finalized(service, name, key, 100)
    service.stop()

    written = [item.uri for item in storage.list_objects(f"gs://{name}/scores", s3_server.settings)]
    assert (status, len(written)) == (200, 1)
    assert written[0].startswith(f"gs://{name}/scores/date=2026-11-20/batch=s")
    table = pq.read_table(io.BytesIO(storage.read_bytes(written[0], s3=s3_server.settings)))
    assert table.column("path").to_pylist() == [answers[0]["path"]] == [f"gs://{name}/{key}"]


def test_reader_auto_leaves_gs_to_sparks_gcs_connector_and_boto3_reads_gs_through_the_s3_api(
        spark, s3_server, bucket):
    name = bucket.removeprefix("s3://")
    storage_put(s3_server, bucket, "in/cam 1/a b.jpg", b"x")

    # Dataproc's image has a filesystem for gs://; this machine has none.
    with pytest.raises(ConfigError, match="no Hadoop filesystem for gs://.*or, for frames, source.reader: boto3"):
        read_frames(spark, f"gs://{name}/in", source=SourceSettings(), s3=s3_server.settings)
    listed = read_frames(spark, f"gs://{name}/in", source=SourceSettings(reader="boto3"), s3=s3_server.settings)

    assert [tuple(row) for row in listed.listing.select("path", "length", "camera_id").collect()] == [
        (f"gs://{name}/in/cam 1/a b.jpg", 1, "cam 1")]
