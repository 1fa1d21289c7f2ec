"""The demo's ``/browser/`` page in headless Chromium, against the demo's real server.

Chromium is the Debian package (``tests/testbed/install_services.sh`` installs it); the
browser holds the cookies, so these are the attributes and the rules a user's browser
applies: the refresh cookie is out of JavaScript's reach, rotates, is scoped to the
token views, a forged cross-origin POST is refused, and logout deletes it.
"""

from __future__ import annotations

import http.server
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.demo.chromium import Chromium, chromium_path

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "docs" / "example" / "demo.py"
START_TIMEOUT = 240  # the demo runs its tour before serving: a bound, not an expectation
RT = "__Secure-refresh"
PASSWORD = "ada-demo-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``demo.py`` serving on a free port (after its tour); stopped with SIGTERM."""
    port = free_port()
    log = tmp_path_factory.mktemp("demo") / "demo.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(DEMO), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while "server started" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"the demo did not start:\n{log.read_text()}")
        time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    executable = chromium_path()
    if executable is None:
        # A fresh machine: the test bed installs its Debian packages itself (idempotent).
        subprocess.run(["bash", str(ROOT / "tests" / "testbed" / "install_services.sh")], check=False)
        executable = chromium_path()
    if executable is None:
        pytest.fail("chromium is not installed and tests/testbed/install_services.sh could not install it")
    chromium = Chromium(executable, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield chromium
    finally:
        chromium.close()


class _AttackerSite(http.server.BaseHTTPRequestHandler):
    """Serves a page whose form posts to the demo's refresh view as soon as it loads."""

    target = ""

    def do_GET(self) -> None:
        page = (
            f'<form method="post" action="{self.target}"></form>'
            "<script>document.forms[0].submit()</script>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def attacker(demo: str) -> Iterator[int]:
    handler = type("Handler", (_AttackerSite,), {"target": f"{demo}/api/browser/refresh/"})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def forged_post(browser: Chromium, url: str, demo: str) -> str:
    """Open the attacker's page and return what the demo answered to its form POST."""
    session = browser.open(url, lands_on=f"{demo}/api/browser/refresh/")
    return str(browser.evaluate(session, "document.body.innerText"))


def test_cookie_flow_in_a_real_browser(demo: str, browser: Chromium, attacker: int) -> None:
    page = browser.open(f"{demo}/browser/")
    answer = browser.evaluate(page, f'login("ada", "{PASSWORD}")')
    assert answer["status"] == 200, answer
    assert set(answer["body"]) == {"access"}  # the refresh token is not in the body

    # the cookie, as the browser stored it
    refresh = browser.cookies()[RT]
    assert refresh["httpOnly"] is True
    assert refresh["secure"] is True
    assert refresh["sameSite"] == "Lax"
    assert refresh["path"] == "/api/browser/"
    assert refresh["domain"] == "127.0.0.1"  # host-only
    assert refresh["expires"] > time.time() + 3600
    # JavaScript cannot read it; it reads the CSRF token it must echo
    visible = browser.evaluate(page, "document.cookie")
    assert RT not in visible
    assert refresh["value"] not in visible
    assert re.search(r"csrftoken=\w+", visible)

    # refresh rotates it (same attributes), and the new access token works
    answer = browser.evaluate(page, "refresh()")
    assert answer["status"] == 200, answer
    rotated = browser.cookies()[RT]
    assert rotated["value"] != refresh["value"]
    for attribute in ("httpOnly", "secure", "sameSite", "path", "domain"):
        assert rotated[attribute] == refresh[attribute], attribute
    assert browser.evaluate(page, "books()")["status"] == 200

    # a form POST from another origin of the same site carries the cookie, not the token
    refused = forged_post(browser, f"http://127.0.0.1:{attacker}/", demo)
    assert "CSRF Failed: Origin checking failed" in refused
    # from another site, SameSite=Lax keeps the cookie home: nothing to refresh with
    refused = forged_post(browser, f"http://localhost:{attacker}/", demo)
    assert "This field is required" in refused
    assert browser.cookies()[RT]["value"] == rotated["value"]  # neither forgery rotated it

    # logout blacklists and deletes it; the old cookie, put back, is refused
    answer = browser.evaluate(page, "logout()")
    assert answer["status"] == 204, answer
    assert RT not in browser.cookies()
    browser.set_cookie(rotated)
    answer = browser.evaluate(page, "refresh()")
    assert answer["status"] == 401, answer
    assert RT not in browser.cookies()  # the refused cookie is deleted too
