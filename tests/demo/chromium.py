"""Headless Chromium driven over the DevTools protocol on a pipe (standard library only).

``--remote-debugging-pipe`` makes Chromium read commands from fd 3 and write answers to
fd 4, each a JSON message ended by a NUL byte.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

#: Bounds for a loaded machine, not expectations.
ANSWER_TIMEOUT = 60.0
PAGE_TIMEOUT = 60.0


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Chromium:
    def __init__(self, executable: str, profile: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_pipes() -> None:  # in the child, before exec: fds 3 and 4
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        self.proc = subprocess.Popen(
            [
                executable,
                "--headless",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "--no-sandbox",  # root in a container
                "--disable-gpu",
                "--no-first-run",
                "--password-store=basic",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_pipes,
            pass_fds=(3, 4),
            start_new_session=True,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0

    def close(self) -> None:
        os.close(self._to_browser)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        os.close(self._from_browser)

    def _read_message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_browser, 65536)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)  # type: ignore[no-any-return]

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events in between are skipped)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read_message()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})  # type: ignore[no-any-return]

    def open(self, url: str, lands_on: str | None = None) -> str:
        """A new tab on ``url``; returns its session id once the page (or the one it
        navigates to, whose URL starts with ``lands_on``) has loaded."""
        target = self.send("Target.createTarget", url=url)["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.wait_loaded(session, url if lands_on is None else lands_on)
        return str(session)

    def wait_loaded(self, session: str, url_prefix: str = "") -> None:
        deadline = time.monotonic() + PAGE_TIMEOUT
        expression = "[document.readyState, location.href]"
        while True:
            try:
                state, href = self.evaluate(session, expression)
            except RuntimeError as exc:  # between two documents there is no context
                if "execution context" not in str(exc):
                    raise
                state, href = "navigating", ""
            if state == "complete" and href.startswith(url_prefix):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"page not loaded: {state} {href}")
            time.sleep(0.05)

    def evaluate(self, session: str, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate",
            session,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def cookies(self) -> dict[str, dict[str, Any]]:
        """Every cookie the browser holds (HttpOnly ones too), by name."""
        return {c["name"]: c for c in self.send("Storage.getCookies")["cookies"]}

    def set_cookie(self, cookie: dict[str, Any]) -> None:
        keep = ("name", "value", "domain", "path", "secure", "httpOnly", "sameSite", "expires")
        self.send("Storage.setCookies", cookies=[{k: cookie[k] for k in keep if k in cookie}])
