"""Helpers of the eCRF browser tests: Debian's Chromium driven by Playwright, a live server.

- :func:`chromium_or_skip` starts Playwright's driver (shipped with the Python
  package) on ``/usr/bin/chromium`` (``scripts/ensure_system_deps.sh``
  installs it); no browser is ever downloaded (``playwright install`` is not
  used). The test is skipped, with the reason, when either is missing.
- :func:`live_ecrf` runs ``saatrial serve`` (gunicorn, production settings) on
  a free port of 127.0.0.1 with a fresh SQLite data directory holding the
  bundled study and one account per role (the load benchmark's helpers,
  ``benchmarks/bench_edc_load.py``).
- :class:`Watch` records, for a browser context, every console error, page
  error, failed request and HTTP answer >= 400, so that a test can fail on any.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PASSWORD = "browser test pass phrase 3"
#: username -> (role, site): one account per role used by the scenario (site IHBDH).
ACCOUNTS: dict[str, tuple[str, str | None]] = {
    "cora": ("coordinator", "IHBDH"),
    "mona": ("monitor", "IHBDH"),
    "dana": ("data_manager", None),
    "ivan": ("investigator", "IHBDH"),
    "stan": ("statistician", None),
}
BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_edc_load.py"


def bench_module() -> Any:
    """``benchmarks/bench_edc_load.py`` (server set-up and start/stop helpers)."""
    spec = importlib.util.spec_from_file_location("bench_edc_load", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_edc_load", module)
    spec.loader.exec_module(module)
    return module


@contextmanager
def chromium_or_skip() -> Iterator[Any]:
    """A headless Debian Chromium under Playwright (skips with a reason when unavailable)."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed: run scripts/ensure_system_deps.sh as root")
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, headless=True
            )
        except Error as err:
            pytest.skip(f"chromium does not start under playwright: {err}")
        try:
            yield browser
        finally:
            browser.close()


@dataclass(frozen=True)
class LiveEcrf:
    """A running eCRF: its base URL and data directory."""

    base_url: str
    data: Path
    server: Any


@contextmanager
def live_ecrf(data: Path) -> Iterator[LiveEcrf]:
    """``saatrial serve`` on 127.0.0.1 with the bundled study and :data:`ACCOUNTS`."""
    bench = bench_module()
    bench.prepare_data_dir(
        data, [(name, role, site) for name, (role, site) in ACCOUNTS.items()], PASSWORD
    )
    with bench.running_server(data, workers=2, threads=2) as server:
        yield LiveEcrf(server.base_url, data, server)


@dataclass
class Watch:
    """What went wrong in a browser context: console errors, page errors, failed requests.

    ``downloads`` lists URLs whose answer became a file download: Chromium reports
    such a navigation as a failed request (``net::ERR_ABORTED``), which is expected.
    """

    problems: list[str] = field(default_factory=list)
    downloads: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)

    def attach(self, context: Any) -> None:
        context.on("console", self._console)
        context.on("weberror", lambda e: self.problems.append(f"page error: {e.error}"))
        context.on("requestfailed", self._failed)
        context.on("response", self._response)
        context.on("request", lambda r: self.requests.append(f"{r.method} {r.url}"))

    def _console(self, message: Any) -> None:
        if message.type in ("error", "assert"):
            self.problems.append(f"console {message.type}: {message.text} ({message.location})")

    def _failed(self, request: Any) -> None:
        failure = request.failure or ""
        if request.url in self.downloads and "ERR_ABORTED" in failure:
            return
        self.problems.append(f"request failed: {request.method} {request.url}: {failure}")

    def _response(self, response: Any) -> None:
        if response.headers.get("content-disposition", "").startswith("attachment"):
            self.downloads.add(response.url)
        if response.status >= 400:
            self.problems.append(
                f"HTTP {response.status}: {response.request.method} {response.url}"
            )

    def check(self, step: str) -> None:
        """Fail, naming the step, if anything went wrong so far."""
        assert not self.problems, f"{step}: " + "; ".join(self.problems)


class Shots:
    """Numbered full-page screenshots into one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    def __call__(self, page: Any, name: str) -> Path:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


def log_in(browser: Any, base_url: str, username: str, watch: Watch) -> Any:
    """A new browser context (own cookies) logged in as ``username``; returns its page."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    watch.attach(context)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
    return page
