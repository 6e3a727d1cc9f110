"""Headless Chromium driven over the DevTools protocol, for tests and tools that look at a page as a browser
draws it: open a file, evaluate JavaScript, collect the console's errors, take a screenshot.

Debian's ``chromium`` package, not Playwright or Selenium: both download a browser of their own from a CDN,
which many build machines cannot reach. The protocol is JSON over one websocket (aiohttp's client); this module
speaks the few commands it needs, synchronously, on an event loop of its own.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

EXECUTABLES = ("chromium", "chromium-browser", "google-chrome")
INSTALL = "Debian: apt-get install -y chromium; ./submit.sh test installs it when run as root"


class BrowserError(Exception):
    """The browser did not start, a command failed, or the page did not load."""


def find_chromium() -> str | None:
    """The first Chromium on the PATH (EXECUTABLES), or None."""
    return next((found for name in EXECUTABLES if (found := shutil.which(name))), None)


class Chromium:
    """One headless Chromium with one page, for a ``with`` block; it and its child processes end with the block.

    Args:
        width, height: the page's viewport in CSS pixels (one device pixel each).
        executable: the browser to start; default: find_chromium().
        timeout: seconds to wait for the browser to start, a command to answer or a page to load.
    """

    def __init__(self, *, width: int = 1400, height: int = 1000, executable: str | None = None,
                 timeout: float = 30.0) -> None:
        found = executable or find_chromium()
        if not found:
            raise BrowserError(f"no Chromium found (looked for {', '.join(EXECUTABLES)}): {INSTALL}")
        self.executable, self.width, self.height, self.timeout = found, width, height, timeout
        self.errors: list[str] = []  # the console's errors and uncaught exceptions, in order
        self._ids = itertools.count(1)
        self._answers: dict[int, asyncio.Future] = {}
        self._loaded: asyncio.Future | None = None
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> Chromium:
        self._profile = tempfile.TemporaryDirectory(prefix="camscore-chromium-")
        self._loop = asyncio.new_event_loop()
        try:
            self._run(self._start())
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def open(self, target: str | Path, *, headers: dict[str, str] | None = None) -> None:
        """Navigates the page to ``target`` (a URL, or a file's path) and waits for its load event: its images
        included, whether they loaded or failed. ``errors`` then holds this page's errors only.

        Args:
            headers: sent with each request from then on (a bearer token, as a proxy in front of a wall display
                adds it).
        """
        self.errors.clear()
        url = Path(target).resolve().as_uri() if isinstance(target, Path) or "://" not in target else target
        if headers:
            self._run(self._send("Network.enable"))
            self._run(self._send("Network.setExtraHTTPHeaders", headers=headers))
        self._run(self._open(url))

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression on the page, as JSON gives it (a promise is awaited).

        Raises:
            BrowserError: the expression threw; the message is the exception's.
        """
        answer = self._run(self._send("Runtime.evaluate", expression=expression, returnByValue=True,
                                      awaitPromise=True))
        if "exceptionDetails" in answer:
            raise BrowserError(f"{expression[:80]!r} threw: {_exception_text(answer['exceptionDetails'])}")
        return answer["result"].get("value")

    def screenshot(self, path: str | Path, *, full_page: bool = False) -> Path:
        """Writes the viewport (or the whole page, however tall) as a PNG file and returns its path."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self._run(self._send("Page.getLayoutMetrics"))["cssContentSize"]
            params.update(captureBeyondViewport=True, clip={"x": 0, "y": 0, "width": self.width,
                                                             "height": size["height"], "scale": 1})
        data = base64.b64decode(self._run(self._send("Page.captureScreenshot", **params))["data"])
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def close(self) -> None:
        """Ends the connection, then the browser's process group (its renderers and helpers with it)."""
        loop = getattr(self, "_loop", None)
        if loop is not None and not loop.is_closed():
            loop.run_until_complete(self._disconnect())
            loop.close()
        if self._process is not None:
            _end_group(self._process)
            self._process = None
        if getattr(self, "_profile", None) is not None:
            self._profile.cleanup()
            self._profile = None

    # -- the protocol, on self._loop

    def _run(self, coroutine):
        return self._loop.run_until_complete(asyncio.wait_for(coroutine, self.timeout))

    async def _start(self) -> None:
        profile = Path(self._profile.name)
        log = (profile / "chromium.log").open("wb")
        # Its own session, so that close() can end the renderers and helpers it forks with it.
        self._process = subprocess.Popen(
            [self.executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check", "--hide-scrollbars", "--remote-debugging-port=0",
             f"--remote-debugging-address=127.0.0.1", f"--user-data-dir={profile}",
             f"--window-size={self.width},{self.height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        log.close()
        port_file = profile / "DevToolsActivePort"  # the port it chose, then the browser's websocket path
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self._process.poll() is not None:
                raise BrowserError(f"{self.executable} ended with {self._process.returncode} before it listened: "
                                   f"{_tail(profile / 'chromium.log')}")
            await asyncio.sleep(0.05)
        port = int(port_file.read_text().splitlines()[0])
        self._http = aiohttp.ClientSession()
        async with self._http.get(f"http://127.0.0.1:{port}/json/list") as answer:
            pages = [target for target in await answer.json() if target["type"] == "page"]
        if not pages:
            raise BrowserError(f"{self.executable} listens on port {port} but shows no page")
        # max_msg_size 0: a screenshot comes as one message of several megabytes.
        self._socket = await self._http.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0)
        self._reader = asyncio.ensure_future(self._read())
        for domain in ("Page", "Runtime", "Log"):
            await self._send(f"{domain}.enable")
        await self._send("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                         deviceScaleFactor=1, mobile=False)

    async def _open(self, url: str) -> None:
        self._loaded = loaded = self._loop.create_future()
        try:
            answer = await self._send("Page.navigate", url=url)
            if answer.get("errorText"):
                raise BrowserError(f"{url} did not open: {answer['errorText']}")
            await loaded
        finally:
            self._loaded = None
            loaded.cancel()
        # A load event of the page before (about:blank) may have come late: wait for this one's document.
        while (await self._send("Runtime.evaluate", expression="location.href + ' ' + document.readyState",
                                returnByValue=True))["result"]["value"] != f"{url} complete":
            await asyncio.sleep(0.02)

    async def _send(self, method: str, **params: Any) -> dict:
        number = next(self._ids)
        self._answers[number] = answer = self._loop.create_future()
        await self._socket.send_str(json.dumps({"id": number, "method": method, "params": params}))
        return await answer

    async def _read(self) -> None:
        async for message in self._socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            self._received(json.loads(message.data))
        failure = BrowserError(f"the browser closed its connection ({_tail(Path(self._profile.name) / 'chromium.log')})")
        for answer in [*self._answers.values(), self._loaded]:
            if answer is not None and not answer.done():
                answer.set_exception(failure)

    def _received(self, message: dict) -> None:
        if "id" in message:
            answer = self._answers.pop(message["id"], None)
            if answer is None or answer.done():
                return
            if "error" in message:
                answer.set_exception(BrowserError(f"{message['error'].get('message')} "
                                                  f"({message['error'].get('data', '')})"))
            else:
                answer.set_result(message.get("result", {}))
            return
        method, params = message.get("method"), message.get("params", {})
        if method == "Page.loadEventFired" and self._loaded is not None and not self._loaded.done():
            self._loaded.set_result(None)
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append("console.error: " + " ".join(
                str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            self.errors.append("uncaught: " + _exception_text(params["exceptionDetails"]))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            self.errors.append(f"{entry.get('source')}: {entry.get('text')}"
                               + (f" ({entry['url'][:120]})" if entry.get("url") else ""))

    async def _disconnect(self) -> None:
        if getattr(self, "_reader", None) is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if getattr(self, "_socket", None) is not None:
            await self._socket.close()
        if getattr(self, "_http", None) is not None:
            await self._http.close()


def _exception_text(details: dict) -> str:
    exception = details.get("exception") or {}
    return str(exception.get("description") or exception.get("value") or details.get("text", "?"))


def _tail(log: Path, lines: int = 5) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").splitlines()[-lines:]) or "nothing in its log"
    except OSError:
        return "no log"


def _end_group(process: subprocess.Popen) -> None:
    """SIGTERM to the browser, whose group is its own (start_new_session); once it has ended (or after 5 s),
    SIGKILL to what is left of the group: helpers such as the crash handler linger seconds after a SIGTERM.
    (Those that ended are their new parent's to reap: waiting for the group to empty would wait for that.)"""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=5)
