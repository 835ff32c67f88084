"""Negative control of the browser tests' watch: it does see what must fail a scenario.

A page served by request interception (no network, no server) logs a
console error, throws, loads an image answered 404 and a script whose
request fails; :class:`~tests.edc.browser.Watch` must report all four, and a
clean page nothing.
"""

from __future__ import annotations

import pytest

from .browser import Watch, chromium_or_skip

ORIGIN = "http://watch.test"
BROKEN = (
    "<!doctype html><html><head><title>broken</title><link rel='icon' href='data:,'></head>"
    "<body><script>console.error('boom')</script>"
    "<img src='/missing.png' alt='missing'>"
    "<script src='/unreachable.js'></script>"
    "<script>setTimeout(() => { throw new Error('thrown') }, 0)</script></body></html>"
)
CLEAN = (
    "<!doctype html><html><head><title>clean</title><link rel='icon' href='data:,'></head>"
    "<body><p>fine</p></body></html>"
)


def _route(route) -> None:
    path = route.request.url.removeprefix(ORIGIN)
    if path == "/broken":
        route.fulfill(status=200, content_type="text/html", body=BROKEN)
    elif path == "/clean":
        route.fulfill(status=200, content_type="text/html", body=CLEAN)
    elif path == "/missing.png":
        route.fulfill(status=404, content_type="text/plain", body="no")
    else:
        route.abort("connectionrefused")


def test_the_watch_reports_console_errors_exceptions_and_failed_requests():
    with chromium_or_skip() as browser:
        watch = Watch()
        context = browser.new_context()
        watch.attach(context)
        context.route(f"{ORIGIN}/**", _route)
        page = context.new_page()
        page.goto(f"{ORIGIN}/clean")
        assert watch.problems == []
        watch.check("clean page")
        page.goto(f"{ORIGIN}/broken")
        page.wait_for_timeout(300)  # the thrown error comes from a timer
        found = " | ".join(watch.problems)
        assert "console error: boom" in found
        assert "page error: " in found and "thrown" in found
        assert f"HTTP 404: GET {ORIGIN}/missing.png" in found
        assert f"request failed: GET {ORIGIN}/unreachable.js" in found
        with pytest.raises(AssertionError, match="broken page: "):
            watch.check("broken page")
        context.close()
