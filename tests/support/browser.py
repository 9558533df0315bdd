"""Headless Chromium driven over the DevTools protocol on a pipe (no extra dependency).

``--remote-debugging-pipe`` makes Chromium read DevTools commands from fd 3 and write
replies and events to fd 4, each message JSON ended by a NUL byte. A test opens a
page, evaluates JavaScript in it and reads the answers: the rendered DOM, image
loading and layout as a real browser does them.

Chromium is Debian's ``chromium`` (``.ci/run`` installs it when absent); tests that
need it skip, naming the reason, only when no binary can be found.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


# Runs before the page's own content: records layout shifts, and every image's box
# as laid out when the DOM is ready (before the images are there).
BEFORE_LOAD = """
window.__shifts = [];
new PerformanceObserver(list => {
  for (const entry of list.getEntries()) window.__shifts.push(entry.value);
}).observe({type: 'layout-shift', buffered: true});
document.addEventListener('DOMContentLoaded', () => {
  window.__early = [...document.images].map(img => {
    const r = img.getBoundingClientRect();
    const style = getComputedStyle(img);
    return {w: r.width, h: r.height, x: r.left, y: r.top + window.scrollY,
            complete: img.complete && img.naturalWidth > 0,
            background: style.backgroundColor, backgroundImage: style.backgroundImage.slice(0, 40)};
  });
});
"""

LOAD_ALL = """
(async () => {
  const decoded = [];
  for (const img of document.images) {
    img.scrollIntoView();
    await img.decode();
    // naturalWidth of a srcset image is scaled by the candidate's density: load the
    // chosen file alone for its real pixel size.
    const probe = new Image();
    probe.src = img.currentSrc;
    await probe.decode();
    decoded.push([probe.naturalWidth, probe.naturalHeight]);
  }
  window.scrollTo(0, 0);
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return [...document.images].map((img, index) => {
    const r = img.getBoundingClientRect();
    const style = getComputedStyle(img);
    return {
      alt: img.alt, currentSrc: decodeURIComponent(img.currentSrc),
      complete: img.complete, naturalWidth: img.naturalWidth, pixels: decoded[index],
      width: img.getAttribute('width'), height: img.getAttribute('height'),
      box: {w: r.width, h: r.height, x: r.left, y: r.top + window.scrollY},
      background: style.backgroundColor, backgroundImage: style.backgroundImage.slice(0, 40),
      sources: [...img.parentElement.querySelectorAll('source')].map(s => s.type),
    };
  });
})()
"""


def load_images(browser: Browser, url: str) -> dict[str, Any]:
    """Open ``url``, load every image; each image's DOM facts, early boxes, layout shifts."""
    browser.open(url, before_load=BEFORE_LOAD)
    images = browser.evaluate(LOAD_ALL)
    return {
        "images": images,
        "early": browser.evaluate("window.__early"),
        "shifts": browser.evaluate("window.__shifts"),
    }


def chromium_or_skip() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("no chromium binary: `apt-get install -y chromium` (.ci/run does it)")
    return found


class Browser:
    """One headless Chromium with a fresh profile, and one page (target) in it."""

    def __init__(self, binary: str, width: int = 1280, height: int = 900) -> None:
        self._profile = tempfile.mkdtemp(prefix="resizer-chromium-")
        to_browser_r, to_browser_w = _above_4(*os.pipe())
        from_browser_r, from_browser_w = _above_4(*os.pipe())
        # Chromium reads commands on fd 3 and writes replies on fd 4: the shell puts
        # the pipe ends there (from fds above 4, so neither overwrites the other),
        # then becomes Chromium.
        self._process = subprocess.Popen(
            [
                "/bin/bash",  # dash takes no descriptor above 9
                "-c",
                f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}',
                binary,
                *FLAGS,
                f"--user-data-dir={self._profile}",
                f"--window-size={width},{height}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(to_browser_r, from_browser_w),
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._write = os.fdopen(to_browser_w, "wb", buffering=0)
        self._read = os.fdopen(from_browser_r, "rb", buffering=0)
        self._buffer = b""
        self._next_id = 0
        self.session = ""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        """Send one command; wait for its reply (events in between are dropped)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        self._write.write(json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self._message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
        raise TimeoutError(f"no reply to {method} in {timeout} s")

    def evaluate(self, expression: str, timeout: float = 30) -> Any:
        """The JSON value of ``expression`` (awaited if it is a promise)."""
        result = self.call(
            "Runtime.evaluate",
            timeout=timeout,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str, before_load: str = "") -> None:
        """Navigate and wait for ``load``; ``before_load`` runs first in the new document."""
        if before_load:
            self.call("Page.addScriptToEvaluateOnNewDocument", source=before_load)
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 30
        while self.evaluate("document.readyState") != "complete":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not load in 30 s")
            time.sleep(0.05)

    def screenshot(self, path: Path) -> None:
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def _message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = self._read.read(65536)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(raw))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._write.write(json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._write.close()
        self._read.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _above_4(*fds: int) -> tuple[int, ...]:
    """The same pipe ends on descriptors above 4 (pytest's capture may hold 3 and 4)."""
    moved = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in fds)
    for fd in fds:
        os.close(fd)
    return moved
