import pytest

from camscore import storage
from camscore.errors import ConfigError


def test_without_spark_a_path_is_a_local_file_and_other_schemes_are_refused(tmp_path):
    written = storage.write_bytes(str(tmp_path / "a" / "b.txt"), b"hi")

    assert storage.read_bytes(f"file://{tmp_path}/a/b.txt", None) == b"hi"
    assert (written, storage.exists(str(tmp_path / "a")), storage.exists(str(tmp_path / "c"))) == (
        str(tmp_path / "a" / "b.txt"), True, False)
    with pytest.raises(ConfigError, match="local paths or s3:// URIs; got 'hdfs://nn/m' .scheme 'hdfs'."):
        storage.read_bytes("hdfs://nn/m", None)


def test_with_spark_a_location_is_what_spark_sees(spark, tmp_path):
    written = storage.write_bytes(str(tmp_path / "out" / "_summary.json"), b"{}", spark=spark)

    assert written == f"file:{tmp_path}/out/_summary.json"
    assert storage.exists(f"file://{tmp_path}/out", spark=spark)
    assert storage.file_status(spark, written)[0] == 2
    assert storage.file_status(spark, f"file:{tmp_path}/gone") is None


def test_a_folder_that_is_a_file_is_refused_before_any_write_and_a_new_one_is_left_to_the_write(spark, tmp_path):
    (tmp_path / "scores").write_text("a file")

    with pytest.raises(ConfigError, match=r"cannot write to .*/scores: it is a file, not a folder"):
        storage.check_writable(str(tmp_path / "scores"), spark=spark)
    storage.check_writable(str(tmp_path / "new" / "scores"), spark=spark)

    assert not (tmp_path / "new").exists()


def test_spark_is_local_to_a_bare_path_only_where_it_runs_locally_on_its_default_filesystem():
    from camscore.config import SparkSettings

    assert storage.is_local_to("/data/scores", SparkSettings(master="local[2]"))
    assert storage.is_local_to("file:/data/scores", SparkSettings(master=None))
    assert not storage.is_local_to("/data/scores", SparkSettings(master=None))  # spark-submit on a cluster: HDFS
    assert not storage.is_local_to("/data/scores", SparkSettings(
        master="local[2]", conf={"spark.hadoop.fs.defaultFS": "hdfs://nn:8020"}))
    assert not storage.is_local_to("s3a://b/scores", SparkSettings(master="local[2]"))
