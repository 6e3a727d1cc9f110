import datetime as dt
import os
import threading

import pandas as pd
import pytest
from pyspark.sql import functions as F

from camscore import storage
from camscore.config import SourceSettings
from camscore.errors import ConfigError, InputError
from camscore.spark.session import run_conf
from camscore.io.readers.boto3 import list_frames
from camscore.io import FetchedBatch, fetched_ahead
from camscore.io.on_spark import FrameSource, read_frames
from camscore.io.readers.listing import local_frames
from camscore.io.readers.partitioning import balanced_partitions
from camscore.io.spark_paths import extension_glob, hadoop_path, parent_folder, path_group

from conftest import as_frame, put_frames


def fetched(source: FrameSource) -> list[dict]:
    """Every frame of a source with its bytes, read as the workers read them: its rows, then its fetch."""
    return as_frame(source.fetch(source.rows().toPandas())).to_dict("records")

FRAMES = {
    "cam 1/20261120T081500.jpg": b"a",
    "cam 1/20261120T081600.JPG": b"bb",
    "cam+2/ünïcode frame+1.jpeg": b"ccc",
    "cam+2/nested/deeper/20261121T000000.Jpg": b"dddd",
    "cam 1/notes.txt": b"not a frame",
}
FRAME_NAMES = sorted(name for name in FRAMES if not name.endswith(".txt"))


def test_the_extension_glob_ignores_letter_case():
    assert extension_glob(("jpg", "png")) == "*.{[jJ][pP][gG],[pP][nN][gG]}"


@pytest.mark.spark35
@pytest.mark.parametrize("reader", ["local", "binaryfile"])
def test_a_folder_is_read_recursively_with_true_paths(spark, tmp_path, reader):
    put_frames(str(tmp_path), FRAMES, None)

    rows = fetched(read_frames(spark, str(tmp_path), source=SourceSettings(reader=reader), s3=None))

    assert sorted(row["path"] for row in rows) == [f"file:{tmp_path}/{name}" for name in FRAME_NAMES]
    by_name = {row["path"].rsplit("/", 1)[1]: row for row in rows}
    assert by_name["ünïcode frame+1.jpeg"]["content"] == b"ccc"
    assert by_name["ünïcode frame+1.jpeg"]["length"] == 3
    assert by_name["ünïcode frame+1.jpeg"]["camera_id"] == "cam+2"
    assert by_name["ünïcode frame+1.jpeg"]["read_error"] is None


def test_partitions_come_in_a_multiple_of_the_cores_none_above_the_ceiling():
    # 100 files counted as 10 bytes each, at most 128 a partition: 8 partitions fit 4 cores, 7 or 9 would not.
    assert balanced_partitions([9] * 100, open_cost=1, max_partition_bytes=128, cores=4) == 8
    assert balanced_partitions([0] * 10, open_cost=10, max_partition_bytes=1000, cores=2) == 2
    assert balanced_partitions([], open_cost=10, max_partition_bytes=1000, cores=2) == 2


def test_a_run_gives_each_core_a_few_tasks_of_16_frames_or_more_so_a_slow_frame_holds_back_few_others():
    assert balanced_partitions([0] * 100, open_cost=1, max_partition_bytes=10**6, cores=2) == 6
    assert balanced_partitions([0] * 10_000, open_cost=1, max_partition_bytes=10**6, cores=2) == 8
    assert balanced_partitions([0] * 20, open_cost=1, max_partition_bytes=10**6, cores=2) == 2


@pytest.mark.spark35
def test_binaryfile_spreads_frames_evenly_over_the_cores(spark, tmp_path):
    # At 1 MB of open cost a file, Spark alone would pack 127 + 127 + 46 frames: the last task runs alone.
    put_frames(str(tmp_path), {f"cam/{i:03d}.jpg": bytes(1000 + 500 * (i % 7)) for i in range(300)}, None)

    source = read_frames(spark, str(tmp_path), source=SourceSettings(reader="binaryfile"), s3=None)
    with run_conf(spark, source.conf):
        sizes = sorted(row["count"] for row in source.rows().groupBy(F.spark_partition_id()).count().collect())

    assert len(sizes) % 2 == 0
    assert sum(sizes) == 300 and sizes[0] >= 0.85 * sizes[-1]


@pytest.mark.spark35
def test_boto3_reads_the_same_frames_with_true_uris(spark, s3_server, bucket):
    put_frames(f"{bucket}/in", FRAMES, s3_server.settings)

    source = read_frames(spark, f"{bucket}/in", source=SourceSettings(), s3=s3_server.settings)
    rows = fetched(source)

    assert sorted(row["path"] for row in rows) == [f"{bucket}/in/{name}" for name in FRAME_NAMES]
    assert {row["path"].rsplit("/", 1)[1]: row["content"] for row in rows}["ünïcode frame+1.jpeg"] == b"ccc"
    assert all(row["read_error"] is None and row["modification_time"] is not None for row in rows)
    assert source.listing.count() == len(FRAME_NAMES)


def test_by_default_camera_is_the_parent_folder_and_time_the_modification_time(spark, s3_server, bucket):
    put_frames(f"{bucket}/in", {"gate-7/x.jpg": b"1"}, s3_server.settings)

    [row] = fetched(read_frames(spark, f"{bucket}/in", source=SourceSettings(), s3=s3_server.settings))

    assert row["camera_id"] == "gate-7"
    assert row["captured_at"] == row["modification_time"]


@pytest.mark.spark35
def test_a_path_regex_gives_camera_and_capture_time(spark, s3_server, bucket):
    put_frames(f"{bucket}/in", {"site/cam_3/20261120T081530-1.jpg": b"1", "site/cam_4/no-time.jpg": b"2"},
               s3_server.settings)
    source = SourceSettings(path_regex=r"site/(?P<camera_id>cam_\d+)/(?P<captured_at>\d{8}T\d{6})")

    rows = {row["path"].rsplit("/", 1)[1]: row
            for row in fetched(read_frames(spark, f"{bucket}/in", source=source, s3=s3_server.settings))}

    assert rows["20261120T081530-1.jpg"]["camera_id"] == "cam_3"
    assert rows["20261120T081530-1.jpg"]["captured_at"] == dt.datetime(2026, 11, 20, 8, 15, 30)
    # No match: the defaults hold.
    assert rows["no-time.jpg"]["camera_id"] == "cam_4"
    assert rows["no-time.jpg"]["captured_at"] == rows["no-time.jpg"]["modification_time"]


@pytest.mark.parametrize("reader", ["local", "boto3"])
def test_rows_reach_the_workers_without_bytes_and_each_worker_reads_its_own(spark, s3_server, bucket, tmp_path,
                                                                           reader):
    location = str(tmp_path) if reader == "local" else f"{bucket}/in"
    put_frames(location, {"c/a.jpg": b"1"}, s3_server.settings)
    source = read_frames(spark, location, source=SourceSettings(), s3=s3_server.settings)

    batch = source.rows().toPandas()

    assert "content" not in batch.columns
    assert as_frame(source.fetch(batch))[["content", "read_error"]].to_dict("records") == [
        {"content": b"1", "read_error": None}]


def test_fetching_ahead_fetches_the_next_batch_while_the_caller_holds_this_one():
    next_fetched = threading.Event()

    def fetch(batch: pd.DataFrame) -> FetchedBatch:
        if batch["path"][0] == "b":
            next_fetched.set()
        return FetchedBatch(batch, [])

    batches = fetched_ahead(iter([pd.DataFrame({"path": [name], "length": 1}) for name in "abc"]), fetch,
                            max_batch_mb=1)
    first = next(batches)

    assert next_fetched.wait(timeout=10)
    assert [first.rows["path"][0]] + [batch.rows["path"][0] for batch in batches] == ["a", "b", "c"]


def test_a_worker_takes_a_batch_of_large_frames_in_parts_of_max_batch_mb_or_less():
    mb = 2 ** 20
    batch = pd.DataFrame({"path": list("abcdef"), "length": [mb, mb, 3 * mb, 1, 1, None]})

    parts = fetched_ahead(iter([batch]), lambda part: FetchedBatch(part, []), max_batch_mb=2)

    assert [list(part.rows["path"]) for part in parts] == [["a", "b"], ["c"], ["d", "e", "f"]]


@pytest.mark.spark35
@pytest.mark.parametrize("reader", ["local", "binaryfile", "boto3"])
def test_a_frame_listed_over_max_frame_mb_is_never_read_and_says_too_large(spark, s3_server, bucket, tmp_path,
                                                                              reader):
    location, s3 = (f"{bucket}/in", s3_server.settings) if reader == "boto3" else (str(tmp_path), None)
    put_frames(location, {"cam/small.jpg": b"s", "cam/large.jpg": bytes(2 ** 20 + 1)}, s3)

    source = read_frames(spark, location, source=SourceSettings(reader=reader, max_frame_mb=1),
                         s3=s3_server.settings)
    rows = {row["path"].rsplit("/", 1)[1]: row for row in fetched(source)}

    assert (rows["small.jpg"]["content"], rows["small.jpg"]["read_error_kind"]) == (b"s", None)
    assert (rows["large.jpg"]["content"], rows["large.jpg"]["read_error_kind"]) == (None, "too_large")
    assert rows["large.jpg"]["read_error"] == "1048577 bytes exceeds max_frame_mb 1"


def test_listing_goes_past_one_page_of_1000_keys(spark, s3_server, bucket):
    client = storage.client(s3_server.settings)
    names = [f"cam-{i % 3}/{i:05d}.jpg" for i in range(1010)]
    for name in names:
        client.put_object(Bucket=bucket[5:], Key=f"many/{name}", Body=b"x")

    listed = list_frames(f"{bucket}/many", source=SourceSettings(), s3=s3_server.settings)
    source = read_frames(spark, f"{bucket}/many", source=SourceSettings(frames_per_partition=100),
                         s3=s3_server.settings)

    assert sorted(item.uri for item in listed) == sorted(f"{bucket}/many/{name}" for name in names)
    assert source.rows().rdd.getNumPartitions() == 12  # 6 a core, 85 keys or fewer each
    assert source.rows().count() == 1010


def test_an_object_gone_between_listing_and_fetch_gets_a_read_error(spark, s3_server, bucket):
    put_frames(f"{bucket}/in", {"c/a.jpg": b"1", "c/b.jpg": b"2"}, s3_server.settings)
    source = read_frames(spark, f"{bucket}/in", source=SourceSettings(), s3=s3_server.settings)
    storage.client(s3_server.settings).delete_object(Bucket=bucket[5:], Key="in/c/b.jpg")

    rows = {row["path"].rsplit("/", 1)[1]: row for row in fetched(source)}

    assert rows["a.jpg"]["read_error"] is None
    assert rows["b.jpg"]["content"] is None
    assert rows["b.jpg"]["read_error"].startswith("NoSuchKey")


@pytest.mark.spark35
@pytest.mark.parametrize("reader", ["local", "binaryfile"])
def test_zero_byte_files_are_frames_too(spark, tmp_path, reader):
    put_frames(str(tmp_path), {"cam a/empty+1.jpg": b"", "cam a/full.jpg": b"x"}, None)

    source = read_frames(spark, str(tmp_path), source=SourceSettings(reader=reader), s3=None)
    rows = {row["path"]: row for row in fetched(source)}

    assert set(rows) == {f"file:{tmp_path}/cam a/empty+1.jpg", f"file:{tmp_path}/cam a/full.jpg"}
    assert rows[f"file:{tmp_path}/cam a/empty+1.jpg"]["content"] == b""
    assert rows[f"file:{tmp_path}/cam a/empty+1.jpg"]["length"] == 0
    assert rows[f"file:{tmp_path}/cam a/empty+1.jpg"]["camera_id"] == "cam a"
    assert source.listing.count() == 2


def test_hadoop_paths_are_spelled_as_spark_spells_them():
    assert hadoop_path("file:///tmp/g%20h/b+%C3%A4.jpg") == "file:/tmp/g h/b+ä.jpg"
    assert hadoop_path("hdfs://namenode:8020/frames/a%20b.jpg") == "hdfs://namenode:8020/frames/a b.jpg"


def test_an_s3_prefix_is_a_folder_not_the_start_of_a_name(spark, s3_server, bucket):
    put_frames(bucket, {"in/a.jpg": b"1", "inbox/b.jpg": b"2", "in-old/c.jpg": b"3"}, s3_server.settings)

    listed = list_frames(f"{bucket}/in", source=SourceSettings(), s3=s3_server.settings)

    assert [item.uri for item in listed] == [f"{bucket}/in/a.jpg"]


def test_a_label_regex_takes_the_label_from_its_named_group_anywhere_in_the_path(spark):
    paths = spark.createDataFrame([("s3://b/day=1/car_cam-01_0800.jpg",), ("s3://b/day=1/bus_cam-02_0801.jpg",),
                                   ("s3://b/day=1/cam-03_0802.jpg",)], "path string")

    labels = paths.select(path_group(r"/(?P<label>bus|car)_cam", "label").alias("label"),
                          parent_folder().alias("folder")).collect()

    assert [(row["label"], row["folder"]) for row in labels] == [("car", "day=1"), ("bus", "day=1"), ("", "day=1")]


def test_the_boto3_reader_forced_on_a_folder_is_refused_in_one_line(spark, tmp_path):
    with pytest.raises(InputError, match=r"source.reader boto3 reads s3:// URIs only; got '/no/such/folder'"):
        read_frames(spark, "/no/such/folder", source=SourceSettings(reader="boto3"), s3=None)


def test_the_binaryfile_reader_forced_on_s3_names_the_missing_filesystem_and_the_reader_that_needs_none(spark):
    with pytest.raises(ConfigError, match=r"no Hadoop filesystem for s3://b/in .*source.reader: auto or boto3"):
        read_frames(spark, "s3://b/in", source=SourceSettings(reader="binaryfile"), s3=None)


def test_s3a_without_its_jar_names_the_missing_filesystem(spark):
    # Spark's defaults name S3AFileSystem for s3a://, but hadoop-aws is not on this machine's classpath.
    with pytest.raises(ConfigError, match=r"no Hadoop filesystem for s3a://b/in \(scheme 's3a'\)"):
        read_frames(spark, "s3a://b/in", source=SourceSettings(), s3=None)


def test_the_local_reader_forced_on_s3_is_refused_in_one_line(spark):
    with pytest.raises(InputError, match=r"source.reader local reads the local filesystem only; got 's3a://b/in'"):
        read_frames(spark, "s3a://b/in", source=SourceSettings(reader="local"), s3=None)


def test_the_binaryfile_reader_forced_on_a_folder_reads_the_bytes_in_the_jvm(spark, tmp_path):
    put_frames(str(tmp_path), {"cam/a.jpg": b"1"}, None)

    source = read_frames(spark, str(tmp_path), source=SourceSettings(reader="binaryfile"), s3=None)

    assert [(row["path"], row["content"]) for row in source.rows().collect()] == [(f"file:{tmp_path}/cam/a.jpg", b"1")]


@pytest.mark.spark35
def test_a_subset_of_boto3_frames_is_spread_over_the_cores_as_all_of_them_are(spark, s3_server, bucket):
    put_frames(f"{bucket}/in", {f"cam-1/{i:03d}.jpg": b"x" for i in range(40)}, s3_server.settings)
    source = read_frames(spark, f"{bucket}/in", source=SourceSettings(), s3=s3_server.settings)
    done = spark.createDataFrame([(f"{bucket}/in/cam-1/000.jpg",)], "path string")

    wanted = source.rows(source.listing.join(done, "path", "left_anti"))  # what --only-new scores
    sizes = sorted(row["count"] for row in wanted.groupBy(F.spark_partition_id()).count().collect())

    assert sizes == [19, 20]


def test_the_driver_lists_a_local_folder_as_sparks_file_index_does(spark, tmp_path):
    put_frames(str(tmp_path), {name: b"x" for name in (
        "cam 1/a.jpg", "cam 1/_partial.jpg", "cam 1/.hidden.jpg", "cam 1/b.jpg._COPYING_", "_staging/c.jpg",
        ".cache/d.jpg", "date=2026-11-20/_e.jpg", "date=2026-11-20/f.JPG", "cam+2/ünï code.png", "cam 1/notes.txt",
        "cam 1/_metadata.jpg", "_metadata/g.jpg", "cam 1/empty.jpg")}, None)
    (tmp_path / "cam 1" / "empty.jpg").write_bytes(b"")
    extensions = SourceSettings().extensions

    by_spark = (spark.read.format("binaryFile").option("recursiveFileLookup", "true")
                .option("pathGlobFilter", extension_glob(extensions)).load(str(tmp_path)).select("path", "length"))

    listed = {path: length for path, _, length in local_frames(str(tmp_path), extensions=extensions)}
    assert listed == {**{row["path"]: row["length"] for row in by_spark.collect()},
                      f"file:{tmp_path}/cam 1/empty.jpg": 0}  # binaryFile's scan skips zero bytes; its index lists them
    assert sorted(path.rsplit("/", 1)[1] for path in listed) == ["a.jpg", "empty.jpg", "f.JPG", "g.jpg", "ünï code.png"]


def test_a_hadoop_glob_over_local_folders_is_listed_by_spark_and_read_by_the_workers(spark, tmp_path):
    put_frames(str(tmp_path), {"cam-1/a.jpg": b"1", "cam-2/b.jpg": b"22", "other/c.jpg": b"333"}, None)

    rows = fetched(read_frames(spark, f"{tmp_path}/cam-*", source=SourceSettings(), s3=None))

    assert sorted((row["path"].rsplit("/", 2)[1], row["content"]) for row in rows) == [
        ("cam-1", b"1"), ("cam-2", b"22")]
    assert all(row["modification_time"] is not None for row in rows)


def test_links_back_up_list_no_frame_twice_and_what_is_no_regular_file_is_no_frame(tmp_path):
    put_frames(str(tmp_path), {"cam/a.jpg": b"1"}, None)
    (tmp_path / "cam" / "up").symlink_to(tmp_path)
    (tmp_path / "cam" / "loop.jpg").symlink_to(tmp_path / "cam" / "loop.jpg")
    os.mkfifo(tmp_path / "cam" / "pipe.jpg")

    listed = {path.rsplit("/", 1)[1]: (time, length)
              for path, time, length in local_frames(str(tmp_path), extensions=("jpg",))}

    assert sorted(listed) == ["a.jpg", "loop.jpg"]
    assert listed["loop.jpg"] == (None, None)  # its worker's read gives its row the error
    assert listed["a.jpg"][1] == 1
