import datetime as dt

import pytest

from camscore.config import SourceSettings
from camscore.io.path_fields import camera_and_time, strptime_format

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
