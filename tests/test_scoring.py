import dataclasses
import datetime as dt
import pickle
from types import SimpleNamespace

import pytest

from camscore import storage
from camscore.config import Settings, SourceSettings
from tools import samples
from camscore.model.imaging import DecodeOptions
from camscore.model.model_dir import load_model
from camscore.model.spec import CoreSpec
from camscore.stages.score import write_unread
from camscore.stages.batches import _worker_core, arrow_batch_conf, score_frames, worker_meter, with_output_columns
from camscore.spark.session import run_conf
from camscore.io import GONE
from camscore.io.on_spark import partition_dates, read_frames, write_scores

from conftest import put_frames


def scoring_spec(model_dir: str) -> CoreSpec:
    """The spec the scoring driver makes of a model directory with the default settings."""
    return CoreSpec.from_model(load_model(model_dir), Settings())


def test_frames_from_s3_are_fetched_in_the_scoring_worker_one_row_each_even_when_one_is_gone(
        spark, s3_server, bucket, model_dir):
    names = [f"cam-1/20261120T08{i:02d}00.jpg" for i in range(5)]
    frames = {name: samples.frame_jpeg(samples.KINDS[i % 2], seed=i) for i, name in enumerate(names)}
    put_frames(f"{bucket}/in", frames, s3_server.settings)
    source = read_frames(spark, f"{bucket}/in", source=SourceSettings(), s3=s3_server.settings)
    storage.client(s3_server.settings).delete_object(Bucket=bucket[5:], Key=f"in/{names[3]}")
    seconds = worker_meter(spark)

    with run_conf(spark, arrow_batch_conf(2)):  # several batches a partition: each fetched while the one before is scored
        rows = {row["path"].split("/in/", 1)[1]: row for row in score_frames(
            source, spec=scoring_spec(model_dir), meter=seconds).collect()}

    assert sorted(rows) == names
    assert rows[names[3]]["error_kind"] == "unreadable" and rows[names[3]]["error"].startswith("NoSuchKey")
    assert rows[names[3]]["probability"] is None
    assert all(rows[name]["error"] is None and 0 <= rows[name]["probability"] <= 1
               for name in names if name != names[3])
    assert seconds.value["fetch"] > 0


@pytest.mark.parametrize("reader, rows_from_reconcile", [("local", 0), ("binaryfile", 1)])
def test_a_frame_deleted_between_listing_and_reading_gets_a_row_with_a_read_error(
        spark, model_dir, tmp_path, reader, rows_from_reconcile):
    # The local reader's worker finds the file gone; binaryFile's scan skips it and reconciling adds its row.
    folder = tmp_path / "in"
    put_frames(str(folder), {f"cam-1/{name}.jpg": samples.frame_jpeg(samples.KINDS[0], seed=i)
                             for i, name in enumerate("abc")}, None)
    source = read_frames(spark, str(folder), source=SourceSettings(reader=reader), s3=None)
    listing = source.listing.cache()
    assert listing.count() == 3  # listed, as run_score's first count does
    (folder / "cam-1" / "b.jpg").unlink()
    output = str(tmp_path / "scores")
    scores = score_frames(source, spec=scoring_spec(model_dir), meter=worker_meter(spark))
    started = dt.datetime(2026, 11, 26, 9, 30)
    write_scores(with_output_columns(scores, model_id="m", batch_id="b1", scored_at=started), output)

    assert write_unread(spark, listing, output, model_id="m", batch_id="b1", dates=partition_dates(listing),
                        scored_at=started) == rows_from_reconcile

    rows = {row["path"].rsplit("/", 1)[1]: row for row in spark.read.parquet(output).collect()}
    assert sorted(rows) == ["a.jpg", "b.jpg", "c.jpg"]
    assert (rows["b.jpg"]["error_kind"], rows["b.jpg"]["error"]) == ("unreadable", GONE.message)
    assert rows["b.jpg"]["camera_id"] == "cam-1"
    assert rows["a.jpg"]["error"] is None and rows["c.jpg"]["probability"] is not None
    assert {row["scored_at"] for row in rows.values()} == {started}
    listing.unpersist()


def test_a_run_conf_holds_within_its_block_and_the_sessions_own_comes_back(spark):
    batch, partitions = "spark.sql.execution.arrow.maxRecordsPerBatch", "spark.sql.files.minPartitionNum"
    spark.conf.set(batch, "7")

    with run_conf(spark, {**arrow_batch_conf(2), partitions: "4"}):
        inside = spark.conf.get(batch), spark.conf.get(partitions)

    assert inside == ("2", "4")
    assert (spark.conf.get(batch), spark.conf.get(partitions, None)) == ("7", None)
    spark.conf.unset(batch)



def test_a_worker_keeps_its_models_for_every_later_job_with_the_same_models_and_decoding(openvino_model_dir):
    spec = scoring_spec(openvino_model_dir)
    other = dataclasses.replace(spec, threshold=0.6)

    next_job = pickle.loads(pickle.dumps(spec))  # the next job's spec, as its broadcast reaches the worker

    first = _worker_core(spec.cache_key(), SimpleNamespace(value=spec))
    again = _worker_core(next_job.cache_key(), SimpleNamespace(value=next_job))
    another = _worker_core(other.cache_key(), SimpleNamespace(value=other))

    assert again is first
    assert another is not first
    for changed in ({"decode": DecodeOptions(resample="bicubic")}, {"skip_blank": True}, {"label_names": ("car", "bus")},
                    {"booster_text": spec.booster_text.replace("Tree=0", "Tree=0\n", 1)}, {"booster_text": None}):
        assert dataclasses.replace(spec, **changed).cache_key() != spec.cache_key(), changed
