"""index.html in headless Chromium: no broken image, no console error, no network, not blank.

The page is opened straight from disk (``file://``; nothing is served) in
Debian's ``chromium`` (``scripts/ensure_system_deps.sh`` installs it), driven
over the Chrome DevTools protocol through ``--remote-debugging-pipe``
(file descriptors 3 and 4, NUL-terminated JSON), so no websocket library and
no browser download is needed. A negative control shows the checks do fail on
a page with a broken image, a console error and a network request.
"""

from __future__ import annotations

import io
import json
import os
import select
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ._r3_support import bundled_output

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian chromium not installed: run scripts/ensure_system_deps.sh (as root)",
)

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)
TIMEOUT_S = 60.0


@dataclass
class PageCheck:
    """What the browser saw while loading a page."""

    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_loads: list[str] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    title: str = ""
    screenshot: bytes = b""

    @property
    def broken_images(self) -> list[dict[str, Any]]:
        return [i for i in self.images if not i["complete"] or i["naturalWidth"] == 0]

    @property
    def external_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:"))]


class _Browser:
    """A headless Chromium process spoken to over the DevTools pipe."""

    def __init__(self, profile: Path, log: Path) -> None:
        cmd_r, self._cmd_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        actions = [
            (os.POSIX_SPAWN_DUP2, cmd_r, 3),
            (os.POSIX_SPAWN_DUP2, resp_w, 4),
            (os.POSIX_SPAWN_DUP2, log_fd, 1),
            (os.POSIX_SPAWN_DUP2, log_fd, 2),
        ]
        argv = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"]
        self.pid = os.posix_spawn(CHROMIUM, argv, dict(os.environ), file_actions=actions)
        for fd in (cmd_r, resp_w, log_fd):
            os.close(fd)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from chromium")
            ready, _, _ = select.select([self._resp_r], [], [], left)
            if ready:
                chunk = os.read(self._resp_r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._cmd_w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str) -> dict:
        deadline = time.monotonic() + TIMEOUT_S
        for i, event in enumerate(self.events):
            if event.get("method") == method and event.get("sessionId") == session:
                return self.events.pop(i)
        while True:
            event = self._read_message(deadline)
            if event.get("method") == method and event.get("sessionId") == session:
                return event
            self.events.append(event)

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        for _ in range(50):
            pid, _status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.1)
        else:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        os.close(self._cmd_w)
        os.close(self._resp_r)


def check_page(path: Path, width: int = 1280) -> PageCheck:
    """Open ``path`` from disk, wait for load, and record what went wrong."""
    profile = Path(tempfile.mkdtemp(prefix="saatrial-chromium-"))
    browser = _Browser(profile, profile.parent / f"{profile.name}.log")
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call(
            "Target.attachToTarget", {"targetId": target, "flatten": True}
        )["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(f"{domain}.enable", session=session)
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session,
        )
        browser.call("Page.navigate", {"url": path.resolve().as_uri()}, session)
        browser.wait_for("Page.loadEventFired", session)
        images = browser.call(
            "Runtime.evaluate",
            {
                "expression": "JSON.stringify(Array.from(document.images).map(i => ("
                "{alt: i.alt, complete: i.complete, naturalWidth: i.naturalWidth})))",
                "returnByValue": True,
            },
            session,
        )["result"]["value"]
        title = browser.call(
            "Runtime.evaluate", {"expression": "document.title", "returnByValue": True}, session
        )["result"]["value"]
        metrics = browser.call("Page.getLayoutMetrics", session=session)
        size = metrics["cssContentSize"]
        shot = browser.call(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"],
                         "height": min(size["height"], 16000), "scale": 1},
            },
            session,
        )["data"]
        check = PageCheck(images=json.loads(images), title=title)
        import base64

        check.screenshot = base64.b64decode(shot)
        for event in browser.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                check.console_errors.append(
                    " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
                )
            elif method == "Runtime.exceptionThrown":
                check.exceptions.append(params["exceptionDetails"].get("text", ""))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                check.log_errors.append(params["entry"]["text"])
            elif method == "Network.requestWillBeSent":
                check.requests.append(params["request"]["url"])
            elif method == "Network.loadingFailed":
                check.failed_loads.append(params.get("errorText", ""))
        return check
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)
        Path(profile.parent / f"{profile.name}.log").unlink(missing_ok=True)


def _ink_fraction(png: bytes) -> tuple[float, int, tuple[int, int]]:
    """Share of pixels that are not near-white, number of colours (capped), size."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = np.asarray(image.reduce(4)).reshape(-1, 3)  # 4x4 blocks: fast, same verdict
    ink = float((pixels.min(axis=1) < 235).mean())
    packed = (pixels[:, 0].astype(np.int32) << 16) | (pixels[:, 1].astype(np.int32) << 8)
    colours = len(np.unique(packed | pixels[:, 2]))
    return ink, colours, image.size


@pytest.fixture(scope="module")
def report_check() -> tuple[PageCheck, Path]:
    out = bundled_output()
    return check_page(out / "index.html"), out


def test_report_page_loads_clean(report_check):
    check, _ = report_check
    assert check.console_errors == []
    assert check.exceptions == []
    assert check.log_errors == []
    assert check.failed_loads == []
    assert check.external_requests == []  # self-contained: only the file itself
    assert check.title == "NCT02218437: trial report"


def test_every_figure_renders(report_check):
    check, out = report_check
    figures = sorted(p.stem for p in (out / "figures").glob("*.png"))
    assert len(check.images) == len(figures) >= 6
    assert check.broken_images == []


def test_screenshot_is_not_blank(report_check, tmp_path):
    check, _ = report_check
    (tmp_path / "index.png").write_bytes(check.screenshot)
    ink, colours, (width, height) = _ink_fraction(check.screenshot)
    assert width == 1280 and height > 5000  # the whole page, not just the viewport
    assert ink > 0.03, f"page looks blank: {ink:.3%} ink"
    assert colours > 50  # figures in colour, not a flat page


def test_checks_catch_a_broken_page(tmp_path):
    """Negative control: a missing image, a console error and a network request are seen."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>broken</title></head><body>"
        '<img src="missing.png" alt="missing">'
        "<script>console.error('boom')</script>"
        '<img src="http://127.0.0.1:9/x.png" alt="remote">'
        "</body></html>",
        encoding="utf-8",
    )
    check = check_page(page)
    assert len(check.broken_images) == 2
    assert any("boom" in e for e in check.console_errors)
    assert check.external_requests == ["http://127.0.0.1:9/x.png"]
