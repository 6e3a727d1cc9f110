"""The fleet page: one HTML file of camera health for operators (camscore.health.fleet's FleetPage in, text out).

One self-contained file: the styles inline, no script, no font or picture from the network, and the
thumbnails as ``data:image/jpeg;base64,`` URIs rather than files beside it, so an operator can open it from
the report's folder (local, or downloaded from object storage), copy or mail it, and the service can serve it,
each as one object with nothing to resolve. A 160-pixel thumbnail is a few KB; 500 cameras' keep the page
within 5 MB (docs/BENCHMARKS.md).

What it shows, top down: the header (``<header id="fleet">``: cameras by status, frames, errors by kind, the
models); the cards of cameras that need a look (``<article class="card">``, fleet_order: a lasting fault first),
each with its last sound and first faulty frames; the state timeline (``<svg id="timeline">``: a row per
camera, the faulty ones on top and named); the sound cameras' cards, each with its latest frame. The hooks a
browser test reads: ``data-camera``, ``data-status``, ``data-since`` (ISO, UTC, no zone; empty without a
lasting fault) on each card, ``data-role`` on its thumbnails (``img.thumb``, or ``div.thumb.missing`` with
``data-error``: the error kind).
"""

from __future__ import annotations

import base64
import datetime as dt
from html import escape
from typing import Sequence

from camscore.health.fleet import (FIRST_FAULT, LAST_SOUND, LATEST, NO_FRAME, STATUSES, UNJUDGED, Card, FleetPage,
                                   Thumbnail, Timeline, fleet_order, utc, window_steps)

COLOURS = {"ok": "#7fbf7f", "dark": "#1f1f1f", "overexposed": "#f0e442", "covered": "#cc79a7",
           "frozen": "#56b4e9", "blurred": "#8c8cd9", "moved": "#e69f00", "silent": "#d55e00",
           UNJUDGED: "#b0b0b0"}
ROLE_NAMES = {LAST_SOUND: "last sound", FIRST_FAULT: "first {status}", LATEST: "latest"}
# The timeline: rows of named cameras (the faulty ones; every one in a small fleet) and the rest, in pixels.
LABEL_WIDTH, AXIS_HEIGHT, LEGEND_HEIGHT, RIGHT_MARGIN = 110, 20, 24, 20
# The thin rows share THIN_ROWS pixels, 1 to 2 each: 500 cameras' timeline fits one screen.
NAMED_ROW, THIN_ROW, MOST_NAMED, THIN_ROWS = 12, 2, 40, 600
PLOT_WIDTH = 1152  # 288 bins of 4 pixels: a day of 5-minute bins
SPARK_WIDTH, SPARK_HEIGHT = 160, 30

STYLE = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1d;background:#f6f6f4}
header#fleet{padding:12px 20px;background:#fff;border-bottom:1px solid #ddd}
h1{font-size:18px;margin:0 0 6px}h1 .window{font-weight:normal;color:#555;font-size:14px;margin-left:8px}
h2{font-size:15px;margin:0 0 4px}
ul.statuses,ul.errors{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:4px 14px}
ul.statuses li[data-count="0"]{color:#999}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px;vertical-align:0;
  background:var(--c)}
p.totals{margin:6px 0 0;color:#333}
main{padding:12px 20px}
section>h2{margin:14px 0 8px;font-size:16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:10px}
.card{background:#fff;border:1px solid #ddd;border-left:6px solid var(--c);border-radius:4px;padding:8px 10px}
.card .state{margin:0 0 6px}
.badge{display:inline-block;padding:0 6px;border-radius:3px;background:var(--c);color:#fff;font-weight:600}
.card[data-status=ok] .badge,.card[data-status=overexposed] .badge{color:#1d1d1d}
.card .other{margin:0 0 6px;color:#555;font-size:13px}
.thumbs{display:flex;gap:8px;margin:0 0 6px}
figure{margin:0;width:160px}figcaption{font-size:12px;color:#555}
.thumb{display:block;width:160px;height:auto;background:#eee}
div.thumb.missing{height:96px;display:flex;align-items:center;justify-content:center;color:#a33;
  border:1px dashed #c99;font-size:12px}
.numbers{margin:0;color:#333}
svg.sparkline{display:block;margin-top:4px;background:#fafafa}
svg.sparkline path{fill:none;stroke:#2f6f9f;stroke-width:1.5;stroke-linecap:round;stroke-linejoin:round}
svg.sparkline line{stroke:#ddd;stroke-width:1}
#timeline{display:block;max-width:100%;height:auto;background:#fff;border:1px solid #ddd}
#timeline text{font-size:10px;fill:#333}#timeline .axis line{stroke:#bbb}
#timeline .plot{fill:#f1f1f1}
""" + "".join(f".card[data-status={status}],[data-status={status}]>.swatch"
              f"{{--c:{colour}}}#timeline .{status}{{fill:{colour}}}\n" for status, colour in COLOURS.items())


def render_page(page: FleetPage) -> str:
    """The page as one HTML document (see the module's docstring)."""
    cards = fleet_order(page.cards)
    look = [card for card in cards if card.status != "ok" or card.ended]
    sound = [card for card in cards if card.status == "ok" and not card.ended]
    steps = window_steps(page.start, page.end, page.share_step)
    parts = ["<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
             # No icon to fetch: a served page's browser would ask the service for /favicon.ico.
             "<link rel=\"icon\" href=\"data:,\">\n",
             f"<meta http-equiv=\"refresh\" content=\"{page.refresh_seconds}\">\n" if page.refresh_seconds else "",
             f"<title>{escape(page.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
             _header(page, cards), "<main>\n"]
    if look:
        parts += ["<section id=\"look\">\n<h2>Cameras to look at</h2>\n<div class=\"cards\">\n",
                  *(_card(card, steps, page.share_step) for card in look), "</div>\n</section>\n"]
    if page.timeline is not None:
        parts += ["<section id=\"states\">\n<h2>State timeline (UTC)</h2>\n",
                  _timeline(page.timeline, [card.camera_id for card in cards], {c.camera_id for c in look}),
                  "</section>\n"]
    if sound:
        parts += ["<section id=\"sound\">\n<h2>Sound cameras</h2>\n<div class=\"cards\">\n",
                  *(_card(card, steps, page.share_step) for card in sound), "</div>\n</section>\n"]
    parts.append("</main>\n</body>\n</html>\n")
    return "".join(parts)


def iso(moment: dt.datetime | None) -> str:
    """A time as the page's attributes hold it: ISO, UTC, no zone, to the second; empty for None."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S") if moment is not None else ""


def _shown(moment: dt.datetime) -> str:
    return utc(moment).strftime("%Y-%m-%d %H:%M")


def _header(page: FleetPage, cards: Sequence[Card]) -> str:
    counts = {status: 0 for status in STATUSES}
    for card in cards:
        counts[card.status] = counts.get(card.status, 0) + 1
    statuses = "".join(f"<li data-status=\"{status}\" data-count=\"{count}\"><span class=\"swatch\"></span>"
                       f"<b>{count}</b> {status}</li>"
                       for status, count in counts.items() if status in STATUSES or count)
    errors = "".join(f"<li data-kind=\"{escape(kind)}\"><b>{count:,}</b> {escape(kind)}</li>"
                     for kind, count in sorted(page.errors.items(), key=lambda item: (-item[1], item[0])))
    quiet = (f"<p class=\"quiet\" data-since=\"{iso(page.quiet.since)}\" data-cameras=\"{page.quiet.cameras}\">"
             f"<b>{page.quiet.cameras:,}</b> cameras quiet together since {_shown(page.quiet.since)} (night, the "
             f"site or the upload path): one event of the fleet, no camera's fault</p>\n" if page.quiet else "")
    models = ", ".join(f"<code class=\"model\">{escape(model)}</code>" for model in page.models) or "none"
    return (f"<header id=\"fleet\">\n<h1>{escape(page.title)}<span class=\"window\">{_shown(page.start)} to "
            f"{_shown(page.end)} UTC</span></h1>\n<ul class=\"statuses\">{statuses}</ul>\n"
            f"<p class=\"totals\"><span data-total=\"cameras\"><b>{len(cards):,}</b> cameras</span>, "
            f"<span data-total=\"frames\"><b>{page.frames:,}</b> frames</span>, "
            f"<span data-total=\"errors\"><b>{sum(page.errors.values()):,}</b> errors</span>; "
            f"model {models}</p>\n" + (f"<ul class=\"errors\">{errors}</ul>\n" if errors else "") + quiet
            + "</header>\n")


def _card(card: Card, steps: list[dt.datetime], each: dt.timedelta) -> str:
    status, since = card.status, card.since
    state = f"<span class=\"badge\">{status}</span>" + (
        f" since <time datetime=\"{iso(since)}\">{_shown(since)}</time>" if since else "")
    notes = [f"also {e.status} since {_shown(e.since)}" for e in card.lasting[1:]]
    notes += [f"{e.status} {_shown(e.since)} to {_shown(e.until)}, ended" for e in card.ended]
    share = f"{card.car_share:.2f}" if card.car_share is not None else "-"
    fault = (card.lasting or card.ended or (None,))[0]
    thumbs = "".join(_thumbnail(card.camera_id, thumbnail, fault.status if fault else status)
                     for thumbnail in card.thumbnails)
    return (f"<article class=\"card\" data-camera=\"{escape(card.camera_id)}\" data-status=\"{status}\" "
            f"data-since=\"{iso(since)}\">\n<h2>{escape(card.camera_id)}</h2>\n<p class=\"state\">{state}</p>\n"
            + (f"<p class=\"other\">{'; '.join(notes)}</p>\n" if notes else "")
            + f"<div class=\"thumbs\">{thumbs}</div>\n"
            f"<p class=\"numbers\"><b>{card.frames:,}</b> frames, car share <b>{share}</b></p>\n"
            f"{_sparkline(card.step_shares, steps, each)}</article>\n")


def _thumbnail(camera_id: str, thumbnail: Thumbnail, fault: str) -> str:
    """A thumbnail with its caption (its role and time), or its placeholder: a frame that could not be read
    (its error kind), or none (NO_FRAME: a silent camera's since, or no sound frame before a fault)."""
    name = ROLE_NAMES.get(thumbnail.role, thumbnail.role).format(status=fault)
    if thumbnail.error_kind == NO_FRAME and thumbnail.captured_at:
        caption = f"no frame since {_shown(thumbnail.captured_at)}"
    elif thumbnail.error_kind == NO_FRAME:
        caption = f"{name}: none"
    else:
        caption = name + (f", {_shown(thumbnail.captured_at)}" if thumbnail.captured_at else "")
    if thumbnail.jpeg is None:
        kind = escape(thumbnail.error_kind or "unreadable")
        said = kind.replace("-", " ").replace("_", " ")
        return (f"<figure><div class=\"thumb missing\" data-role=\"{thumbnail.role}\" data-error=\"{kind}\">"
                f"{said}</div><figcaption>{escape(caption)}</figcaption></figure>")
    source = base64.b64encode(thumbnail.jpeg).decode("ascii")
    return (f"<figure><img class=\"thumb\" data-role=\"{thumbnail.role}\" src=\"data:image/jpeg;base64,{source}\" "
            f"alt=\"{escape(camera_id)}: {escape(caption)}\"><figcaption>{escape(caption)}</figcaption></figure>")


def _sparkline(shares: Sequence[float | None], steps: Sequence[dt.datetime], each: dt.timedelta) -> str:
    """The car share per step as a line broken where a step had no scored frame (a dot for a lone step)."""
    step = SPARK_WIDTH / max(len(steps) - 1, 1)
    segments, current = [], []
    for index, share in enumerate(shares):
        if share is None:
            segments, current = segments + [current] if current else segments, []
            continue
        current.append(f"{index * step:.1f} {2 + (1 - share) * (SPARK_HEIGHT - 4):.1f}")
    segments += [current] if current else []
    path = "".join("M" + " L".join(points) + (" h0.1" if len(points) == 1 else "") for points in segments)
    middle = SPARK_HEIGHT / 2
    return (f"<svg class=\"sparkline\" width=\"{SPARK_WIDTH}\" height=\"{SPARK_HEIGHT}\" "
            f"viewBox=\"0 0 {SPARK_WIDTH} {SPARK_HEIGHT}\" role=\"img\"><title>car share per {_span(each)}, 0 to 1 "
            f"(the line: 0.5)</title><line x1=\"0\" y1=\"{middle}\" x2=\"{SPARK_WIDTH}\" y2=\"{middle}\"/>"
            + (f"<path d=\"{path}\"/>" if path else "") + "</svg>\n")


def _span(step: dt.timedelta) -> str:
    minutes = step // dt.timedelta(minutes=1)
    return "hour" if minutes == 60 else f"{minutes} minutes" if minutes < 60 else f"{minutes // 60} hours"


def _timeline(timeline: Timeline, order: Sequence[str], faulty: set[str]) -> str:
    """A row per camera (in the cards' order: the faulty on top), a rectangle per run of bins of one status,
    named rows for the faulty cameras (every camera of a small fleet), the hours along the top, a legend."""
    rows = {row.camera_id: row for row in timeline.rows}
    ordered = [rows[camera] for camera in order if camera in rows] + [
        row for row in timeline.rows if row.camera_id not in set(order)]
    named = {row.camera_id for row in ordered[:MOST_NAMED]
             if row.camera_id in faulty or len(ordered) <= MOST_NAMED}
    pitch = max(1, PLOT_WIDTH // max(timeline.bins, 1))
    thin = max(1, min(THIN_ROW, THIN_ROWS // max(len(ordered) - len(named), 1)))
    width = LABEL_WIDTH + pitch * timeline.bins + RIGHT_MARGIN
    parts, y = [], AXIS_HEIGHT
    for row in ordered:
        height = NAMED_ROW if row.camera_id in named else thin
        camera = escape(row.camera_id)
        cells = []
        for start, end, status in _runs(row.statuses):
            cells.append(f"<rect class=\"{status}\" x=\"{LABEL_WIDTH + start * pitch}\" y=\"{y}\" "
                         f"width=\"{(end - start) * pitch}\" height=\"{height - (1 if height > THIN_ROW else 0)}\"/>")
        label = (f"<text x=\"{LABEL_WIDTH - 4}\" y=\"{y + height - 3}\" text-anchor=\"end\">{camera}</text>"
                 if row.camera_id in named else "")
        parts.append(f"<g data-camera=\"{camera}\"><title>{camera}</title>{label}{''.join(cells)}</g>\n")
        y += height
    plot = (f"<rect class=\"plot\" x=\"{LABEL_WIDTH}\" y=\"{AXIS_HEIGHT}\" width=\"{pitch * timeline.bins}\" "
            f"height=\"{y - AXIS_HEIGHT}\"/>\n")
    height = y + LEGEND_HEIGHT
    return (f"<svg id=\"timeline\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" "
            f"role=\"img\" aria-label=\"each camera's status over the window\">\n{_axis(timeline, pitch)}"
            f"{plot}{''.join(parts)}{_legend(y + 6)}</svg>\n")


def _runs(statuses: Sequence[str | None]) -> list[tuple[int, int, str]]:
    """(first bin, bin after the last, status) of each run of bins of one status; bins without one left out."""
    runs, start = [], 0
    for index in range(1, len(statuses) + 1):
        if index == len(statuses) or statuses[index] != statuses[start]:
            if statuses[start] is not None:
                runs.append((start, index, statuses[start]))
            start = index
    return runs


def _axis(timeline: Timeline, pitch: int) -> str:
    """Ticks across the plot at whole 5 minutes, hours or days, a dozen labels at most."""
    span = timeline.width * timeline.bins
    step = next((dt.timedelta(minutes=m) for m in (5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 43200)
                 if span / dt.timedelta(minutes=m) <= 12), dt.timedelta(days=365))
    start = utc(timeline.start)
    midnight = dt.datetime.combine(start.date(), dt.time())
    tick = midnight + step * -(-(start - midnight) // step)
    parts = []
    while tick <= start + span:
        x = LABEL_WIDTH + round((tick - start) / timeline.width * pitch)
        text = tick.strftime("%H:%M") if step < dt.timedelta(days=1) and tick.time() != dt.time() \
            else tick.strftime("%m-%d")
        parts.append(f"<line x1=\"{x}\" y1=\"{AXIS_HEIGHT - 4}\" x2=\"{x}\" y2=\"{AXIS_HEIGHT}\"/>"
                     f"<text x=\"{x}\" y=\"{AXIS_HEIGHT - 7}\" text-anchor=\"middle\">{text}</text>")
        tick += step
    return f"<g class=\"axis\">{''.join(parts)}</g>\n"


def _legend(top: int) -> str:
    items, x = [], LABEL_WIDTH
    for status in (*STATUSES, UNJUDGED):
        items.append(f"<rect class=\"{status}\" x=\"{x}\" y=\"{top}\" width=\"10\" height=\"10\"/>"
                     f"<text x=\"{x + 14}\" y=\"{top + 9}\">{status}</text>")
        x += 24 + 7 * len(status)
    items.append(f"<rect class=\"plot\" x=\"{x}\" y=\"{top}\" width=\"10\" height=\"10\"/>"
                 f"<text x=\"{x + 14}\" y=\"{top + 9}\">no frame</text>")
    return f"<g class=\"legend\">{''.join(items)}</g>\n"
