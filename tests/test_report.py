import datetime as dt
import hashlib
import io
import re

import duckdb
from PIL import Image

from camscore.stages.batches import with_output_columns

from camscore.io.on_spark import write_scores
from tools import samples
from camscore.health.signals import picture_signals
from tables import score_rows

from conftest import load_job

report = load_job("report").main
UTC = dt.timezone.utc


def cards(page: str) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    """The page's cards in order: camera, status, since and its thumbnails (role, and the picture's tag or the
    placeholder's error kind)."""
    found = re.findall(r'<article class="card" data-camera="([^"]*)" data-status="([^"]*)" data-since="([^"]*)">'
                       r'(.*?)</article>', page, re.S)
    return [(camera, status, since, [(role, error or "img") for role, error in re.findall(
        r'class="thumb[^"]*" data-role="([^"]*)"(?: data-error="([^"]*)")?', body)])
            for camera, status, since, body in found]


def test_the_report_gives_frames_car_share_and_errors_per_camera_and_hour_as_parquet_and_a_page(
        spark, tmp_path, capsys):
    output, gone = str(tmp_path / "scores"), f"file:{tmp_path}/gone"  # frames no longer in the store
    rows = [(f"{gone}/cam-1/a.jpg", "cam-1", dt.datetime(2026, 11, 20, 8, 5, tzinfo=UTC), 0.9, 1, "car", None, None),
            (f"{gone}/cam-1/b.jpg", "cam-1", dt.datetime(2026, 11, 20, 8, 55, tzinfo=UTC), 0.2, 0, "bus", None, None),
            (f"{gone}/cam-1/c.jpg", "cam-1", dt.datetime(2026, 11, 20, 8, 56, tzinfo=UTC), None, None, None, "decode",
             "decode: bad"),
            (f"{gone}/cam-1/d.jpg", "cam-1", dt.datetime(2026, 11, 20, 9, 0, tzinfo=UTC), 0.8, 1, "car", None, None),
            (f"{gone}/cam-2/e.jpg", "cam-2", dt.datetime(2026, 11, 20, 8, 30, tzinfo=UTC), 0.7, 1, "car", None, None),
            (f"{gone}/cam-2/f.jpg", "cam-2", dt.datetime(2026, 11, 21, 8, 30, tzinfo=UTC), 0.7, 1, "car", None, None)]
    write_scores(with_output_columns(score_rows(spark, rows), model_id="m", batch_id="b1",
                                     scored_at=dt.datetime(2026, 11, 21, tzinfo=UTC)), output)

    assert report(["--output", output, "--date", "2026-11-20", "--master", "local[2]"]) == 0

    folder = tmp_path / "scores" / "_reports" / "2026-11-20"
    table = duckdb.sql(f"select camera_id, hour::varchar, frames, scored, cars, car_share, errors "
                       f"from read_parquet('{folder}/camera_hours/*.parquet') order by all").fetchall()
    assert table == [("cam-1", "2026-11-20 08:00:00+00", 3, 2, 1, 0.5, 1),
                     ("cam-1", "2026-11-20 09:00:00+00", 1, 1, 1, 1.0, 0),
                     ("cam-2", "2026-11-20 08:00:00+00", 1, 1, 1, 1.0, 0)]
    # No picture signals in these rows: no camera is judged; their frames are gone from the store, so each card's
    # latest frame is a placeholder.
    assert cards((folder / "index.html").read_text()) == [("cam-1", "unjudged", "", [("latest", "unreadable")]),
                                                          ("cam-2", "unjudged", "", [("latest", "unreadable")])]
    assert capsys.readouterr().out.splitlines()[:3] == [
        "camera        frames  scored car share  errors  health",
        "cam-1              4       3     0.667       1  -",
        "cam-2              1       1     1.000       0  -"]


def test_the_report_finds_each_cameras_faults_in_its_rows_and_writes_them_as_camera_health_parquet_and_a_page(
        spark, tmp_path, capsys):
    day = dt.date(2026, 11, 20)
    frames = [frame for camera, fault in (("cam-a", None), ("cam-b", "frozen"), ("cam-c", "silent"))
              for frame in samples.camera_day(camera, day=day, fault=fault, seed=len(camera) + ord(camera[-1]),
                                              width=320, height=192)]
    samples.write_local(frames, tmp_path / "frames")
    rows, signals = [], []
    for frame in frames:
        camera, name = frame.relative_path.split("/")
        rows.append((f"file:{tmp_path}/frames/{frame.relative_path}", camera,
                     dt.datetime.strptime(name[:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC), 0.9, 1, "car", None, None))
        signals.append(picture_signals(Image.open(io.BytesIO(frame.data))).values()
                       + (hashlib.sha256(frame.data).hexdigest(),))
    output = str(tmp_path / "scores")
    write_scores(with_output_columns(score_rows(spark, rows, signals), model_id="m", batch_id="b1",
                                     scored_at=dt.datetime(2026, 11, 21, tzinfo=UTC)), output)
    # cam-a's frames scored again by another model, and a frame of it that did not decode: the report judges one
    # row per frame (camscore.rows.FRAME_ROW_NUMBER), so a frame scored again is no repeated picture.
    again = [row for row in zip(rows, signals) if row[0][1] == "cam-a"]
    broken = [((f"file:{tmp_path}/frames/cam-a/20261120T123100.jpg", "cam-a",
                dt.datetime(2026, 11, 20, 12, 31, tzinfo=UTC), None, None, None, "decode", "bad"), (None,) * 7)]
    write_scores(with_output_columns(score_rows(spark, *map(list, zip(*again + broken))), model_id="m2",
                                     batch_id="b2", scored_at=dt.datetime(2026, 11, 22, tzinfo=UTC)), output)

    assert report(["--output", output, "--date", "2026-11-20", "--master", "local[2]"]) == 0

    health = tmp_path / "scores" / "_reports" / "2026-11-20" / "camera_health.parquet"
    assert duckdb.sql(f"select camera_id, status, since::varchar, until, frames from '{health}' order by all"
                      ).fetchall() == [("cam-a", "ok", "2026-11-20 06:00:00+00", None, 72),
                                       ("cam-b", "frozen", "2026-11-20 12:00:00+00", None, 48),
                                       ("cam-c", "silent", "2026-11-20 11:45:00+00", None, 0)]
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[-1] for line in lines[1:4]] == [
        "ok", "frozen since 2026-11-20 12:00", "silent since 2026-11-20 11:45"]
    # The page: the faulty cameras first, each with the frames around its fault (a silent camera's last, and no
    # frame since), then the sound one with its latest; every frame read from the store.
    page = (health.parent / "index.html").read_text()
    assert cards(page) == [
        ("cam-c", "silent", "2026-11-20T11:45:00", [("last-sound", "img"), ("first-fault", "no-frame")]),
        ("cam-b", "frozen", "2026-11-20T12:00:00", [("last-sound", "img"), ("first-fault", "img")]),
        ("cam-a", "ok", "", [("latest", "img")])]
    assert '<svg id="timeline"' in page and "<script" not in page
