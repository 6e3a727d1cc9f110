import datetime as dt

import pytest

from camscore.config import SourceSettings
from camscore.io import camera_and_time, strptime_format

MODIFIED = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.timezone.utc)


def test_without_a_regex_the_camera_is_the_parent_folder_and_the_time_the_modification_time():
    assert camera_and_time("s3://frames/site/cam-7/a.jpg", MODIFIED, source=SourceSettings()) == ("cam-7", MODIFIED)


def test_a_path_regex_gives_camera_and_capture_time_as_the_batch_job_reads_them():
    source = SourceSettings(path_regex=r"site/(?P<camera_id>cam_\d+)/(?P<captured_at>\d{8}T\d{6})")

    assert camera_and_time("s3://b/site/cam_12/20261120T081530-1.jpg", MODIFIED, source=source) == \
        ("cam_12", dt.datetime(2026, 11, 20, 8, 15, 30, tzinfo=dt.timezone.utc))
    assert camera_and_time("s3://b/site/cam_12/no-time.jpg", MODIFIED, source=source) == ("cam_12", MODIFIED)
    assert camera_and_time("s3://b/site/cam_12/20261399T999999.jpg", MODIFIED, source=source) == ("cam_12", MODIFIED)


@pytest.mark.parametrize("spark, python", [
    ("yyyyMMdd'T'HHmmss", "%Y%m%dT%H%M%S"), ("yyyy-MM-dd HH:mm:ss.SSS", "%Y-%m-%d %H:%M:%S.%f"),
    ("yy''MM", "%y'%m")])
def test_spark_datetime_patterns_read_as_strptime_formats(spark, python):
    assert strptime_format(spark) == python


def test_a_pattern_letter_it_cannot_read_is_refused_by_name():
    with pytest.raises(ValueError, match="'EEE'|'E'"):
        strptime_format("EEE yyyy")


# Paths as cameras and stores name them: odd names, URL-encoded keys, keys at a bucket's root, times that do not
# parse, a regex that names only the camera.
CORPUS = ["s3://frames/cam-01/20261120T081530-a.jpg", "s3://frames/cam-01/20261120T081530.123-a.jpg",
          "s3://frames/cam-01/20261120T081530.12-a.jpg", "s3://frames/cam-02/2026-11-20T08:15:30.jpg",
          "s3://frames/cam-03/20261399T999999.jpg", "s3://frames/cam-04/no time.jpg",
          "s3://frames/cam%2005/20261120T081530.jpg", "s3://frames/камера-6/20261120T081530.jpg",
          "s3://frames/a+b/c+d.jpg", "s3://frames/root.jpg", "gs://frames/site/cam-07/x/20261120T235959.png",
          "file:/data/in/cam-08/20261121T000000.JPG", "s3://frames//20261120T081530.jpg",
          "s3://frames/uploads/cam-09_20261120T081530.jpg", "s3://frames/uploads/cam-٣_20261120T081530.jpg",
          "s3://frames/uploads/cam-3_٢٠٢٦١١٢٠T081530.jpg"]
SOURCES = [SourceSettings(),
           SourceSettings(path_regex=r"(?P<camera_id>cam-\d+)/(?P<captured_at>\d{8}T\d{6}(?:\.\d+)?)",
                          captured_at_format="yyyyMMdd'T'HHmmss.SSS"),
           SourceSettings(path_regex=r"(?P<camera_id>cam-\d+)/(?P<captured_at>\d{8}T\d{6})"),
           SourceSettings(path_regex=r"/(?P<camera_id>[^/]+)/[^/]*$"),
           SourceSettings(path_regex=r"(?P<camera_id>cam-\d+)[/_](?P<captured_at>\d{8}T\d{6})")]


def fields_of(listing) -> dict[str, tuple]:
    return {row["path"]: (row["camera_id"], row["captured_at"].replace(tzinfo=dt.timezone.utc)
                          if row["captured_at"] else None) for row in listing.collect()}


@pytest.mark.parametrize("source", SOURCES, ids=["defaults", "millis", "seconds", "camera-only",
                                                                 "in-the-name"])
def test_the_batch_job_gives_every_path_the_camera_and_time_the_service_gives_it(spark, source):
    from camscore.io.on_spark import with_path_fields
    from camscore.io.readers.partitioning import listed_on_driver

    scanned = spark.createDataFrame([(path, MODIFIED, 1) for path in CORPUS],
                                    "path string, modification_time timestamp, length bigint")

    # Spark's listing (binaryFile) read in Spark's Python workers; the boto3 and local readers' on the driver.
    by_workers = fields_of(with_path_fields(scanned, source=source))
    by_driver = fields_of(listed_on_driver(spark, [(path, MODIFIED, 1) for path in CORPUS], source=source)[0])

    assert by_workers == by_driver == {path: camera_and_time(path, MODIFIED, source=source) for path in CORPUS}
