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
