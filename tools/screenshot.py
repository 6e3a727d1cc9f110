"""README's picture of the fleet page, from a run of the demo, as headless Chromium draws it.

Runs the demo (tools/demo_run.py) into a work folder of its own, opens the report page of its drawn camera day
(cam-05 sound, cam-06 covered from noon on) in headless Chromium (tools/browser.py) and writes it as a PNG.

Run as ``./submit.sh screenshot`` (``python -m tools.screenshot --config conf/local.yaml`` from the checkout's
root), after a change to the page, and commit the picture.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from camscore.cli import run_job
from camscore.errors import CamscoreError
from camscore.settings_engine import positive, setting

@dataclass(frozen=True, kw_only=True)
class ScreenshotOptions:
    """What the screenshot takes besides the config file."""

    out: str = setting("docs/fleet-page.png", "the PNG file written")
    workdir: str = setting("out/screenshot", "where the demo's run goes (a new folder each run)")
    width: int = setting(1400, "the browser's viewport width in CSS pixels; the picture is the whole page",
                         check=positive)


def main(argv: list[str] | None = None) -> int:
    def body(settings, options: ScreenshotOptions) -> None:
        from tools.browser import Chromium, find_chromium, INSTALL  # the demo's imports: not for --help
        from tools.demo_run import HEALTH_DAY, run_demo

        if find_chromium() is None:
            raise CamscoreError(f"the screenshot needs headless Chromium: {INSTALL}")
        workdir = Path(options.workdir)
        before = set(workdir.glob("*/"))
        run_demo(settings, workdir=workdir)
        runs = sorted(set(workdir.glob("*/")) - before)
        page = runs[-1] / "scores" / "_reports" / HEALTH_DAY.isoformat() / "index.html"
        if not page.exists():
            raise CamscoreError(f"the demo wrote no fleet page at {page}")
        with Chromium(width=options.width, height=800) as browser:
            browser.open(page)
            if browser.errors:
                raise CamscoreError(f"{page} shows errors in the browser: {'; '.join(browser.errors)}")
            shot = browser.screenshot(options.out, full_page=True)
        print(f"\nthe demo's fleet page ({page}) as {shot}, {shot.stat().st_size / 1024:.0f} KiB")

    return run_job(argv, __doc__, prog="screenshot", settings=("spark.master",), options=ScreenshotOptions,
                   body=body, spark=True)


if __name__ == "__main__":
    sys.exit(main())
