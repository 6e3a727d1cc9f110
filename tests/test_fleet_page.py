"""The fleet page (the report's index.html) as an operator's browser draws it: headless Chromium (Debian's
``chromium``; ./submit.sh test installs it, the tests skip where it is missing) opens the report of a generated
camera day, one camera per planted fault, scored by the scoring job; the page's DOM is checked, not its HTML.

Spark tier, marked ``browser`` (--fast skips it). Most of its time is the scoring job over the day's 600 frames:
91 s and 212 s of call measured on 2 cores shared with other work (load averages 8 and 12), so an estimated
25-40 s alone; Chromium starts in 1 s and the page opens in well under one. The screenshot is kept as
out/test-artifacts/fleet-page.png."""

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from tools import samples
from tools.browser import INSTALL, BrowserError, Chromium, find_chromium

from conftest import ROOT, load_job
from service import aws_event, camera_now, storage_put

pytestmark = pytest.mark.browser

score, report = load_job("score").main, load_job("report").main
DAY = dt.date(2026, 11, 20)
ONSET = dt.datetime.combine(DAY, dt.time(12))
EVERY = dt.timedelta(minutes=15)
# Each planted fault on a camera of its own, and two sound cameras (one whose light falls at dusk) between them,
# so that the page's order is not the cameras' names'. Seeds and size as tests/test_health.py draws them.
FAULTY = {f"cam-{number:02d}": fault for number, fault in zip((2, 3, 4, 5, 7, 8, 9), samples.FAULTS)}
SOUND = {"cam-01": False, "cam-06": True}  # camera: dusk
ARTIFACT = ROOT / "out" / "test-artifacts" / "fleet-page.png"
SERVED_ARTIFACT = ROOT / "out" / "test-artifacts" / "cameras-page.png"

CARDS = "[...document.querySelectorAll('article.card')].map(card => ({...card.dataset}))"
THUMBS = """[...document.querySelectorAll('article.card')].map(card => [card.dataset.camera,
  [...card.querySelectorAll('.thumb')].map(thumb => ({role: thumb.dataset.role, tag: thumb.tagName,
    width: thumb.naturalWidth ?? null, error: thumb.dataset.error ?? null}))])"""


@pytest.fixture(scope="module")
def browser():
    if find_chromium() is None:
        pytest.skip(f"headless Chromium is not installed ({INSTALL})")
    with Chromium(width=1400, height=1000) as chromium:
        yield chromium


def test_the_browser_harness_sees_a_broken_image_and_the_console_errors(browser, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text('<!doctype html><img class="thumb" src="missing.jpg"><img class="thumb" '
                    'src="data:image/jpeg;base64,AAAA"><script>console.error("bad thumbnail")</script>')

    browser.open(page)

    assert browser.evaluate("[...document.querySelectorAll('img.thumb')].map(img => img.naturalWidth)") == [0, 0]
    assert sorted(error.split(":")[0] for error in browser.errors) == ["console.error", "network"]
    with pytest.raises(BrowserError, match="ReferenceError"):
        browser.evaluate("no_such_function()")


def test_the_report_page_shows_each_planted_fault_first_with_its_status_since_and_pictures(
        spark, s3_server, bucket, openvino_model_dir, write_config, tmp_path, browser):
    day = [frame for camera, fault in FAULTY.items()
           for frame in samples.camera_day(camera, day=DAY, fault=fault, seed=samples.FAULTS.index(fault),
                                           width=320, height=192)]
    day += [frame for index, (camera, dusk) in enumerate(SOUND.items())
            for frame in samples.camera_day(camera, day=DAY, dusk=dusk, seed=10 + index, width=320, height=192)]
    samples.upload(day, f"{bucket}/in", s3_server.settings)
    config = write_config({"s3": dataclasses.asdict(s3_server.settings),
                           "source": {"path_regex": r"(?P<camera_id>cam-\d+)/(?P<captured_at>\d{8}T\d{6})"}})
    output = str(tmp_path / "scores")
    assert score(["--input", f"{bucket}/in", "--model", openvino_model_dir, "--output", output,
                  "--config", config]) == 0
    assert report(["--output", output, "--date", DAY.isoformat(), "--config", config]) == 0

    page = tmp_path / "scores" / "_reports" / DAY.isoformat() / "index.html"
    browser.open(page)
    cards = browser.evaluate(CARDS)
    thumbs = dict(browser.evaluate(THUMBS))
    print(f"fleet page: {browser.screenshot(ARTIFACT, full_page=True)}")

    first, rest = cards[:len(FAULTY)], cards[len(FAULTY):]
    assert sorted((card["camera"], card["status"]) for card in first) == sorted(FAULTY.items())
    assert [card for card in first
            if abs(dt.datetime.fromisoformat(card["since"]).replace(tzinfo=None) - ONSET) > 2 * EVERY] == []
    assert sorted((card["camera"], card["status"], card["since"]) for card in rest) == [
        (camera, "ok", "") for camera in sorted(SOUND)]
    # A faulty camera shows its last sound frame and its first faulty one, a sound camera its latest; every
    # picture loaded, and only the silent camera, which sent no frame since, has a placeholder instead.
    roles = {camera: [thumb["role"] for thumb in shown] for camera, shown in thumbs.items()}
    assert roles == {**{camera: ["last-sound", "first-fault"] for camera in FAULTY},
                     **{camera: ["latest"] for camera in SOUND}}
    pictures = [(camera, thumb) for camera, shown in thumbs.items() for thumb in shown]
    assert [(camera, thumb["role"]) for camera, thumb in pictures if thumb["tag"] != "IMG"] == [
        (camera, "first-fault") for camera, fault in FAULTY.items() if fault == "silent"]
    assert all(thumb["width"] > 0 for _, thumb in pictures if thumb["tag"] == "IMG"), pictures
    assert browser.evaluate("document.querySelector('svg#timeline').getBoundingClientRect().height") > 0
    assert browser.evaluate("document.querySelector('header#fleet').textContent.trim().length") > 0
    assert browser.errors == []


def test_the_service_serves_the_page_of_the_cameras_it_has_seen_at_get_cameras(start_service, s3_server, bucket,
                                                                                browser):
    cameras = {"cam-1": camera_now("cam-1", fault="dark", seed=1), "cam-2": camera_now("cam-2", seed=2)}
    for frame in sum(cameras.values(), []):
        storage_put(s3_server, bucket, frame.relative_path, frame.data)
    auth = {"Authorization": "Bearer wall-display"}
    service = start_service({"token_env": "CAMSCORE_TEST_TOKEN"}, env={"CAMSCORE_TEST_TOKEN": "wall-display"})
    keys = [frames[index].relative_path for index in range(33) for frames in cameras.values()]
    assert service.post_json("/", aws_event(bucket, *keys), auth)[0] == 200

    browser.open(service.url + "/cameras", headers=auth)
    cards = browser.evaluate(CARDS)
    thumbs = dict(browser.evaluate(THUMBS))
    print(f"the service's page: {browser.screenshot(SERVED_ARTIFACT, full_page=True)}")

    assert [(card["camera"], card["status"]) for card in cards] == [("cam-1", "dark"), ("cam-2", "ok")]
    assert {camera: [(thumb["role"], thumb["tag"], thumb["width"] > 0) for thumb in shown]
            for camera, shown in thumbs.items()} == {
        "cam-1": [("last-sound", "IMG", True), ("first-fault", "IMG", True)], "cam-2": [("latest", "IMG", True)]}
    assert browser.evaluate("document.querySelectorAll('svg#timeline g[data-camera]').length") == 2
    assert browser.errors == []
