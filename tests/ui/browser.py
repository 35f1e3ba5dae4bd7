"""A small Chrome DevTools Protocol client for Debian's headless Chromium, over
``--remote-debugging-pipe`` (fd 3 in, fd 4 out, NUL-separated JSON), so the tests need
no websocket library and no driver binary.

Interactions are real input events (``Input.dispatchMouseEvent``/``dispatchKeyEvent``)
at the element's on-screen position, as a person's clicks and typing would be.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
         "--remote-debugging-pipe"]
LAPTOP = (1366, 860, False)
PHONE = (390, 844, True)


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(Exception):
    pass


class Browser:
    def __init__(self, binary: str | None = None):
        binary = binary or chromium_path()
        if not binary:
            raise BrowserError("chromium is not installed (apt-get install chromium)")
        self.profile = tempfile.mkdtemp(prefix="mlctl-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_pipes():  # runs in the child between fork and exec
            a = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=wire_pipes, close_fds=False)
        os.close(to_child_r)
        os.close(from_child_w)
        self._next_id = 0
        self._pending: dict[int, dict] = {}
        self._events: list[dict] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self.call("Browser.getVersion", timeout=30)

    # -- protocol ---------------------------------------------------------------------------
    def _read_loop(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_child, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._closed = True
                    self._cond.notify_all()
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                with self._cond:
                    if "id" in message:
                        self._pending[message["id"]] = message
                    else:
                        self._events.append(message)
                    self._cond.notify_all()

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30):
        with self._cond:
            self._next_id += 1
            ident = self._next_id
        message = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while ident not in self._pending:
                left = deadline - time.monotonic()
                if left <= 0 or getattr(self, "_closed", False):
                    raise BrowserError(f"{method}: no answer from chromium")
                self._cond.wait(left)
            reply = self._pending.pop(ident)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def wait_event(self, method: str, session: str | None, since: int, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self._events[since:]:
                    if event.get("method") == method and event.get("sessionId") == session:
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BrowserError(f"timed out waiting for {method}")
                self._cond.wait(left)

    def event_count(self) -> int:
        with self._cond:
            return len(self._events)

    def new_page(self, viewport=LAPTOP) -> "Page":
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session, target)
        page.call("Page.enable")
        page.call("Runtime.enable")
        page.set_viewport(*viewport)
        return page

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except BrowserError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    def __init__(self, browser: Browser, session: str, target: str):
        self.browser, self.session, self.target = browser, session, target
        self.console_errors: list[str] = []

    def call(self, method: str, params: dict | None = None, timeout: float = 30):
        return self.browser.call(method, params, session=self.session, timeout=timeout)

    def set_viewport(self, width: int, height: int, mobile: bool = False) -> None:
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})

    def goto(self, url: str, ready: bool = True, timeout: float = 30) -> None:
        since = self.browser.event_count()
        result = self.call("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"navigating to {url}: {result['errorText']}")
        self.browser.wait_event("Page.loadEventFired", self.session, since, timeout)
        if ready:
            self.wait_for("document.body && document.body.dataset.ready === '1'", timeout)

    def eval(self, expression: str, timeout: float = 30):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in result:
            detail = result["exceptionDetails"]
            raise BrowserError(f"{expression!r}: {detail.get('exception', {}).get('description') or detail.get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 15, interval: float = 0.05):
        deadline = time.monotonic() + timeout
        guarded = f"(() => {{ try {{ return ({expression}); }} catch (e) {{ return null; }} }})()"
        while True:
            try:
                value = self.eval(guarded)
            except BrowserError:  # the page is between documents
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for: {expression}")
            time.sleep(interval)

    def text(self, selector: str) -> str:
        return self.eval(f"(document.querySelector({json.dumps(selector)}) || {{}}).innerText || ''")

    def count(self, selector: str) -> int:
        return self.eval(f"document.querySelectorAll({json.dumps(selector)}).length")

    def _center(self, selector: str) -> tuple[float, float]:
        box = self.wait_for(
            f"""(() => {{ const el = document.querySelector({json.dumps(selector)});
                if (!el) return null; el.scrollIntoView({{block: 'center', inline: 'center'}});
                const r = el.getBoundingClientRect();
                return r.width && r.height ? [r.left + r.width / 2, r.top + r.height / 2] : null; }})()""")
        return box[0], box[1]

    def click(self, selector: str) -> None:
        """A real mouse click at the middle of the element."""
        x, y = self._center(selector)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left",
                                                   "buttons": 1 if kind == "mousePressed" else 0,
                                                   "clickCount": 1})

    def type(self, text: str) -> None:
        """Key events for each character, into whatever has the focus."""
        for ch in text:
            self.call("Input.dispatchKeyEvent", {"type": "keyDown", "text": ch, "key": ch, "unmodifiedText": ch})
            self.call("Input.dispatchKeyEvent", {"type": "keyUp", "key": ch})

    def press(self, key: str) -> None:
        codes = {"Enter": (13, "\r"), "Tab": (9, ""), "Backspace": (8, "")}
        code, text = codes[key]
        self.call("Input.dispatchKeyEvent", {"type": "keyDown", "key": key, "code": key,
                                             "windowsVirtualKeyCode": code, "text": text})
        self.call("Input.dispatchKeyEvent", {"type": "keyUp", "key": key, "code": key, "windowsVirtualKeyCode": code})

    def select_all_and_delete(self) -> None:
        self.call("Input.dispatchKeyEvent", {"type": "keyDown", "key": "a", "code": "KeyA", "modifiers": 2,
                                             "windowsVirtualKeyCode": 65, "commands": ["selectAll"]})
        self.call("Input.dispatchKeyEvent", {"type": "keyUp", "key": "a", "code": "KeyA", "modifiers": 2})
        self.press("Backspace")

    def screenshot(self, path: str | os.PathLike, full_page: bool = True) -> Path:
        params = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            size = self.eval("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": min(size[1], 6000), "scale": 1}
        data = self.call("Page.captureScreenshot", params)["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        self.browser.call("Target.closeTarget", {"targetId": self.target})
