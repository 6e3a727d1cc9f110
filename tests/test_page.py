"""The fleet page's renderer (camscore.health.page) and what it is made of (camscore.health.fleet, thumbnails):
a small fleet in, the page's DOM hooks out; no Spark, no browser (tests/test_fleet_page.py opens the report's page
in Chromium)."""

import datetime as dt
import io
import re
from html.parser import HTMLParser

import pytest
from PIL import Image

from camscore.health.episodes import Episode, FleetQuiet
from camscore.health.fleet import (Card, FleetPage, Thumbnail, Timeline, TimelineRow, bin_statuses, bin_width,
                                   fleet_order, wanted_frames)
from camscore.health.page import render_page
from camscore.health.thumbnails import thumbnail
from camscore.rows import FrameError
from tools import samples

DAY = dt.datetime(2026, 11, 20)
NOON = DAY + dt.timedelta(hours=12)


def at(hour: float) -> dt.datetime:
    return DAY + dt.timedelta(hours=hour)


def jpeg(colour: tuple[int, int, int] = (90, 120, 150), size: tuple[int, int] = (480, 288)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    return buffer.getvalue()


class Elements(HTMLParser):
    """Every start tag of a page with its attributes, in document order."""

    def __init__(self, page: str):
        super().__init__()
        self.found: list[tuple[str, dict]] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))

    def select(self, tag: str, css_class: str | None = None) -> list[dict]:
        return [attrs for name, attrs in self.found
                if name == tag and (css_class is None or css_class in (attrs.get("class") or "").split())]


def card(camera: str, *episodes: Episode, thumbnails: tuple[Thumbnail, ...] = ()) -> Card:
    return Card(camera, episodes, frames=72, car_share=0.5, step_shares=(0.5,) * 24, thumbnails=thumbnails)


def episode(camera: str, status: str, since: dt.datetime, until: dt.datetime | None = None) -> Episode:
    return Episode(camera, status, since, until, 0 if status == "silent" else 40)


# A small fleet, in no particular order: two cameras sound, one whose blur ended, and faults that last of several
# severities and onsets (cam-04 both frozen and silent: its headline is the more severe).
FLEET = (card("cam-01", episode("cam-01", "ok", at(6))),
         card("cam-02", episode("cam-02", "blurred", at(9))),
         card("cam-03", episode("cam-03", "covered", at(12))),
         card("cam-04", episode("cam-04", "frozen", at(8)), episode("cam-04", "silent", at(10))),
         card("cam-05", episode("cam-05", "blurred", at(7), at(8))),
         card("cam-06", episode("cam-06", "covered", at(10))),
         card("cam-07", episode("cam-07", "ok", at(6))))


def page_of(cards, **changes) -> str:
    fields = dict(title="Camera health, 2026-11-20", start=DAY, end=DAY + dt.timedelta(days=1),
                  frames=sum(c.frames for c in cards), errors={"decode": 2, "unreadable": 1},
                  models=("avg_pool-80edf06cbaa3",), cards=tuple(cards))
    return render_page(FleetPage(**{**fields, **changes}))


def test_cards_come_lasting_faults_first_by_severity_then_since_then_ended_faults_then_sound_cameras():
    cards = Elements(page_of(FLEET)).select("article", "card")

    assert [(c["data-camera"], c["data-status"], c["data-since"]) for c in cards] == [
        ("cam-04", "silent", "2026-11-20T10:00:00"),
        ("cam-06", "covered", "2026-11-20T10:00:00"),
        ("cam-03", "covered", "2026-11-20T12:00:00"),
        ("cam-02", "blurred", "2026-11-20T09:00:00"),
        ("cam-05", "ok", ""),
        ("cam-01", "ok", ""),
        ("cam-07", "ok", "")]


def test_a_faulty_camera_shows_its_last_sound_and_first_faulty_frames_and_a_sound_one_its_latest():
    fleet = [card("cam-03", episode("cam-03", "covered", NOON),
                  thumbnails=(Thumbnail("last-sound", jpeg(), captured_at=NOON - dt.timedelta(minutes=15)),
                              Thumbnail("first-fault", jpeg((40, 40, 40)), captured_at=NOON))),
             card("cam-01", episode("cam-01", "ok", at(6)), thumbnails=(Thumbnail("latest", jpeg()),))]

    images = Elements(page_of(fleet)).select("img", "thumb")

    assert [image["data-role"] for image in images] == ["last-sound", "first-fault", "latest"]
    assert all(image["src"].startswith("data:image/jpeg;base64,/9j/") for image in images)  # a JPEG's first bytes


def test_a_thumbnail_that_could_not_be_read_is_a_placeholder_with_its_error_kind():
    fleet = [card("cam-03", episode("cam-03", "covered", NOON),
                  thumbnails=(Thumbnail("last-sound", error_kind="unreadable"), Thumbnail("first-fault", jpeg())))]

    page = Elements(page_of(fleet))

    assert page.select("div", "missing") == [{"class": "thumb missing", "data-role": "last-sound",
                                              "data-error": "unreadable"}]
    assert [image["data-role"] for image in page.select("img", "thumb")] == ["first-fault"]


def test_the_page_is_one_file_with_no_script_and_nothing_from_the_network():
    fleet = [card("cam-01", episode("cam-01", "ok", at(6)), thumbnails=(Thumbnail("latest", jpeg()),))]
    timeline = Timeline(DAY, dt.timedelta(hours=1), 24, (TimelineRow("cam-01", ("ok",) * 24),))

    page = page_of(fleet, timeline=timeline).lower()

    assert "<script" not in page and "http" not in page and "url(" not in page and "@import" not in page
    assert page.startswith("<!doctype html>") and "<style>" in page


def test_the_header_counts_cameras_by_status_and_errors_by_kind_and_names_the_model():
    page = Elements(page_of(FLEET))

    header = page.select("header")
    statuses = {item["data-status"]: int(item["data-count"]) for item in page.select("li") if "data-status" in item}
    assert header == [{"id": "fleet"}]
    assert statuses == {"ok": 3, "dark": 0, "overexposed": 0, "covered": 2, "frozen": 0, "blurred": 1,
                        "moved": 0, "silent": 1}
    assert [item["data-kind"] for item in page.select("li") if "data-kind" in item] == ["decode", "unreadable"]
    assert [code["class"] for code in page.select("code")] == ["model"]


def test_the_header_tells_the_fleets_quiet_once_and_no_camera_is_silent_for_it():
    fleet = [card(f"cam-{n}", episode(f"cam-{n}", "ok", at(6))) for n in range(1, 4)]

    page = Elements(page_of(fleet, quiet=FleetQuiet(at(21.5), 3)))

    assert [p for p in page.select("p", "quiet")] == [{"class": "quiet", "data-since": "2026-11-20T21:30:00",
                                                        "data-cameras": "3"}]
    assert [c["data-status"] for c in page.select("article", "card")] == ["ok"] * 3


def test_the_timeline_has_a_row_per_camera_the_faulty_on_top_and_named():
    rows = tuple(TimelineRow(c.camera_id, ("ok",) * 12 + (c.status,) * 12) for c in FLEET)
    fleet = FLEET + tuple(card(f"cam-{n}", episode(f"cam-{n}", "ok", at(6))) for n in range(10, 60))
    rows += tuple(TimelineRow(f"cam-{n}", ("ok",) * 24) for n in range(10, 60))

    page = page_of(fleet, timeline=Timeline(DAY, dt.timedelta(hours=1), 24, rows))

    elements = Elements(page).found
    svg = next(index for index, (_, attrs) in enumerate(elements) if attrs.get("id") == "timeline")
    rows_drawn = [attrs["data-camera"] for tag, attrs in elements[svg:] if tag == "g" and "data-camera" in attrs]
    assert rows_drawn[:5] == ["cam-04", "cam-06", "cam-03", "cam-02", "cam-05"] and len(rows_drawn) == 57
    named = page[page.index('id="timeline"'):]
    assert all(f">{camera}</text>" in named for camera in rows_drawn[:5])
    assert ">cam-01</text>" not in named  # 57 cameras: the sound ones are thin rows without a name
    assert all(f'class="{status}"' in named for status in ("ok", "covered", "silent", "blurred"))


def test_the_timeline_of_500_cameras_fits_a_screen_with_its_faulty_cameras_named():
    fleet = FLEET + tuple(card(f"cam-{n}", episode(f"cam-{n}", "ok", at(6))) for n in range(100, 100 + 500 - len(FLEET)))
    rows = tuple(TimelineRow(c.camera_id, ("ok",) * 288) for c in fleet)

    page = page_of(fleet, timeline=Timeline(DAY, dt.timedelta(minutes=5), 288, rows))

    svg = next(attrs for tag, attrs in Elements(page).found if attrs.get("id") == "timeline")
    assert len(rows) == 500 and int(svg["height"]) <= 700


def test_a_window_of_40_minutes_has_a_tick_every_5_minutes_and_sparklines_per_5_minutes():
    start, width = NOON - dt.timedelta(minutes=40), dt.timedelta(minutes=5)
    cards = (Card("cam-01", (episode("cam-01", "ok", start),), 40, 0.5, (0.5,) * 8),)

    page = page_of(cards, start=start, end=NOON, share_step=width,
                   timeline=Timeline(start, width, 8, (TimelineRow("cam-01", ("ok",) * 8),)))

    timeline = page[page.index('id="timeline"'):page.index('class="legend"')]
    assert re.findall(r'text-anchor="middle">([^<]+)</text>', timeline) == [
        f"{hour}:{minute:02d}" for hour, minute in [(11, m) for m in range(20, 60, 5)] + [(12, 0)]]
    assert "<title>car share per 5 minutes, 0 to 1" in page


def test_a_cameras_status_per_bin_is_its_worst_fault_there_else_ok_where_it_sent_frames():
    episodes = [episode("cam", "ok", at(0)), episode("cam", "covered", at(1.5), at(2.5)),
                episode("cam", "dark", at(2), at(2.2)), episode("cam", "silent", at(4))]
    frames = [3, 0, 4, 0, 4, 0, 0]

    assert bin_statuses(episodes, frames, start=DAY, width=dt.timedelta(hours=1)) == (
        "ok", "covered", "dark", None, "ok", "silent", "silent")
    assert bin_statuses([], frames, start=DAY, width=dt.timedelta(hours=1)) == (
        "unjudged", None, "unjudged", None, "unjudged", None, None)


def test_bins_are_as_short_as_the_fleets_gaps_allow_with_at_most_288_in_the_window():
    day = DAY + dt.timedelta(days=1)

    assert bin_width(DAY, day, gap=dt.timedelta(minutes=1)) == dt.timedelta(minutes=5)
    assert bin_width(DAY, day, gap=dt.timedelta(minutes=15)) == dt.timedelta(minutes=15)
    assert bin_width(DAY, DAY + dt.timedelta(days=7), gap=dt.timedelta(minutes=1)) == dt.timedelta(minutes=60)


def test_a_card_asks_for_the_frames_around_its_fault_and_a_silent_one_for_its_last():
    since = NOON

    assert wanted_frames(card("c", episode("c", "covered", since))) == [
        ("last-sound", "before", since), ("first-fault", "at", since)]
    assert wanted_frames(card("c", episode("c", "silent", since))) == [
        ("last-sound", "latest", None), ("first-fault", "none", since)]
    assert wanted_frames(card("c", episode("c", "dark", since, since + dt.timedelta(hours=1)))) == [
        ("last-sound", "before", since), ("first-fault", "at", since), ("latest", "latest", None)]
    assert wanted_frames(card("c", episode("c", "ok", since))) == wanted_frames(card("c")) == [
        ("latest", "latest", None)]


def test_fleet_order_puts_unjudged_cameras_before_sound_ones():
    assert [c.camera_id for c in fleet_order([card("a", episode("a", "ok", NOON)), card("z")])] == ["z", "a"]


def test_a_thumbnail_is_a_160_pixel_wide_jpeg_of_the_frame():
    small = Image.open(io.BytesIO(thumbnail(samples.frame_jpeg("car", seed=1))))

    assert (small.format, small.size) == ("JPEG", (160, 96))


@pytest.mark.parametrize("kind", ["empty", "not_image", "truncated", "too_large", "decode"])
def test_a_frame_that_does_not_decode_gives_its_error_kind_instead_of_a_thumbnail(kind):
    with pytest.raises(FrameError) as raised:
        thumbnail(samples.bad_frames()[kind])

    assert raised.value.kind.value == kind
