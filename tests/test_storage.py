import dataclasses

import pytest

from camscore import storage
from camscore.errors import ConfigError

from faults import FaultProxy


def test_without_spark_a_path_is_a_local_file_and_other_schemes_are_refused(tmp_path):
    written = storage.write_bytes(str(tmp_path / "a" / "b.txt"), b"hi", s3=None)

    assert storage.read_bytes(f"file://{tmp_path}/a/b.txt", s3=None) == b"hi"
    assert (written, storage.exists(str(tmp_path / "a"), s3=None), storage.exists(str(tmp_path / "c"), s3=None)) == (
        str(tmp_path / "a" / "b.txt"), True, False)
    with pytest.raises(ConfigError, match="local paths or s3:// URIs; got 'hdfs://nn/m' .scheme 'hdfs'."):
        storage.read_bytes("hdfs://nn/m", s3=None)


def test_with_spark_a_location_on_the_local_disk_is_a_local_file(spark, tmp_path):
    written = storage.write_bytes(str(tmp_path / "out" / "_summary.json"), b"{}", s3=None, spark=spark)

    assert written == f"{tmp_path}/out/_summary.json"
    assert storage.exists(f"file://{tmp_path}/out", s3=None, spark=spark)
    assert storage.file_status(spark, written)[0] == 2
    assert storage.file_status(spark, f"file:{tmp_path}/gone") is None


def test_a_folder_that_is_a_file_is_refused_before_any_write_and_a_new_one_is_left_to_the_write(spark, tmp_path):
    (tmp_path / "scores").write_text("a file")

    with pytest.raises(ConfigError, match=r"cannot write to (.*/scores): \1 is a file, not a folder"):
        storage.check_writable(str(tmp_path / "scores"), s3=None, spark=spark)
    storage.check_writable(str(tmp_path / "new" / "scores"), s3=None, spark=spark)

    assert not (tmp_path / "new").exists()


def test_spark_is_local_to_a_bare_path_only_where_it_runs_locally_on_its_default_filesystem():
    from camscore.config import SparkSettings

    assert storage.is_local_to("/data/scores", SparkSettings(master="local[2]"))
    assert storage.is_local_to("file:/data/scores", SparkSettings(master=None))
    assert not storage.is_local_to("/data/scores", SparkSettings(master=None))  # spark-submit on a cluster: HDFS
    assert not storage.is_local_to("/data/scores", SparkSettings(
        master="local[2]", conf={"spark.hadoop.fs.defaultFS": "hdfs://nn:8020"}))
    assert not storage.is_local_to("s3a://b/scores", SparkSettings(master="local[2]"))


def test_listing_folder_by_folder_in_parallel_finds_what_one_listing_finds(s3_server, bucket):
    keys = ["in/top.jpg", "in/cam-1/a.jpg", "in/cam-1/2026/b.jpg", "in/cam-2/2026/11/c.jpg", "in/cam-3/d.jpg",
            "inbox/x.jpg"]
    for key in keys:
        storage.write_bytes(f"{bucket}/{key}", b"x", s3=s3_server.settings)

    def listed(depth: int, settings=s3_server.settings) -> list[str]:
        return sorted(item.uri for item in storage.list_objects(f"{bucket}/in", settings, depth=depth, threads=4))

    with FaultProxy(s3_server.port, lambda method, path, seen: None) as proxy:
        by_camera = listed(1, dataclasses.replace(s3_server.settings, endpoint_url=proxy.endpoint_url))

    assert by_camera == listed(0) == listed(2) == listed(3) == [f"{bucket}/{key}" for key in sorted(keys[:5])]
    assert proxy.requests == 1 + 3  # the folders of in/, then each camera's keys


def test_gs_and_s3_uris_are_read_alike_and_each_keeps_its_scheme():
    assert storage.S3Uri.parse("gs://b/in/a.jpg") == storage.S3Uri("b", "in/a.jpg", "gs")
    assert storage.S3Uri.parse("s3a://b/in/a.jpg") == storage.S3Uri("b", "in/a.jpg", "s3")  # the same object
    assert [storage.join(uri, "x.jpg") for uri in ("gs://b/in/", "gs://b", "s3://b/in", "s3a://b/in")] == [
        "gs://b/in/x.jpg", "gs://b/x.jpg", "s3://b/in/x.jpg", "s3a://b/in/x.jpg"]
    with pytest.raises(ConfigError, match=r"gs://b/m is read and written through boto3 and needs the s3 settings "
                                          r"\(s3.endpoint_url https://storage.googleapis.com"):
        storage.read_bytes("gs://b/m", s3=None)


def test_gs_objects_are_written_read_put_conditionally_and_listed_through_the_s3_api_and_named_gs(s3_server, bucket):
    prefix, settings = f"gs://{bucket.removeprefix('s3://')}/in", s3_server.settings
    for key in ("cam-1/a.jpg", "cam-2/b c.jpg"):
        assert storage.write_bytes(f"{prefix}/{key}", key.encode(), s3=settings) == f"{prefix}/{key}"
    store = storage.resolve(f"{prefix}/_lease", s3=settings)
    token = store.create(f"{prefix}/_lease", b"one")

    assert isinstance(store, storage.S3Storage)
    assert (token is not None, store.create(f"{prefix}/_lease", b"two")) == (True, None)
    assert store.replace(f"{prefix}/_lease", b"three", token) is not None
    assert storage.read_bytes(f"{prefix}/cam-2/b c.jpg", s3=settings) == b"cam-2/b c.jpg"
    assert storage.exists(f"{prefix}/cam-1", s3=settings)
    assert [storage.get_object(f"{prefix}/cam-1/a.jpg", settings).data] == [b"cam-1/a.jpg"]
    assert sorted(item.uri for item in storage.list_objects(prefix, settings, depth=1, threads=2)) == [
        f"{prefix}/_lease", f"{prefix}/cam-1/a.jpg", f"{prefix}/cam-2/b c.jpg"]


def test_with_a_session_gs_is_left_to_sparks_filesystems_as_dataproc_runs_the_batch_job(spark, s3_server):
    assert isinstance(storage.resolve("gs://b/scores/_lease", s3=s3_server.settings, spark=spark),
                      storage.HadoopStorage)
