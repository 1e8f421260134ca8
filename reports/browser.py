"""Open an HTML file in headless Chromium and check what a reader would see.

The browser is driven over its DevTools protocol (one websocket to the browser, a flattened session
on one page). While the page loads we record every console message, uncaught exception, log entry
and network request; after the load event we ask the page whether each ``<img>`` decoded
(``naturalWidth > 0``) and take a PNG screenshot. A page passes when nothing was logged at error
level, nothing was requested except the file itself and ``data:`` URIs, and every image decoded.

Chromium is started with its own temporary profile and no background networking, and is ended (its
process group, by id) when the check returns.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from features.exceptions import PoolgateError

__all__ = ["BrowserError", "CjkText", "PageCheck", "check_page", "find_chromium"]

log = logging.getLogger(__name__)

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps",
    "--hide-scrollbars", "--mute-audio", "--remote-allow-origins=*", "--remote-debugging-port=0",
)


class BrowserError(PoolgateError, RuntimeError):
    """Chromium could not be started or did not answer within the time allowed."""


@dataclass(frozen=True)
class CjkText:
    """Text with CJK characters on a page and the platform fonts that drew it.

    Attributes
    ----------
    text : str
        The element's own text (first 40 characters).
    cjk_chars : int
        CJK characters in it.
    fonts : dict of str to int
        Font family -> glyphs it drew in the element's own text (``CSS.getPlatformFontsForNode``). A
        character no font has is drawn as the missing-glyph box of the first font.
    """

    text: str
    cjk_chars: int
    fonts: dict[str, int]


@dataclass(frozen=True)
class PageCheck:
    """What headless Chromium saw when it opened a page.

    Attributes
    ----------
    url : str
        The ``file://`` URL opened.
    load_seconds : float
        Seconds from navigation to the load event (all inline images decoded by then).
    console_errors : list of str
        Console messages of level error, uncaught exceptions and browser log errors.
    requests : list of str
        Every URL the page requested (``data:`` URIs shortened to their first 40 characters).
    foreign_requests : list of str
        Requests other than the file itself and ``data:`` URIs (should be empty).
    images : int
        Number of ``<img>`` elements.
    broken_images : list of str
        ``alt`` text of images that did not decode.
    screenshot : Path or None
        The PNG written, when one was asked for.
    page_height : int
        Height of the rendered document in CSS pixels.
    cjk_text : list of CjkText
        With ``fonts=True``: the elements whose own text holds CJK characters (at most 60) and the fonts
        Chromium drew that text with.
    """

    url: str
    load_seconds: float
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    images: int = 0
    broken_images: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    page_height: int = 0
    cjk_text: list[CjkText] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No console errors, no foreign requests and every image decoded."""
        return not (self.console_errors or self.foreign_requests or self.broken_images)

    def problems(self) -> list[str]:
        """One line per problem found (empty when :attr:`ok`)."""
        return ([f"console: {m}" for m in self.console_errors]
                + [f"network request: {u}" for u in self.foreign_requests]
                + [f"image not decoded: {a}" for a in self.broken_images])


def find_chromium() -> str | None:
    """Path of a Chromium (or Chrome) executable: ``$POOLGATE_CHROMIUM`` first, then the PATH."""
    env = os.environ.get("POOLGATE_CHROMIUM")
    if env:
        return env if Path(env).exists() else shutil.which(env)
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class _Session:
    """A DevTools websocket with a flattened page session; events are buffered while we wait."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0
        self.session_id: str | None = None
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, params: dict[str, Any] | None = None, *, page: bool = True,
             timeout: float = 30.0) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if page and self.session_id:
            msg["sessionId"] = self.session_id
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline, method)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise BrowserError(f"DevTools {method} failed: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float) -> dict[str, Any]:
        for i, ev in enumerate(self.events):
            if ev.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            ev = self._receive(deadline, method)
            if ev.get("method") == method:
                return ev
            self.events.append(ev)

    def _receive(self, deadline: float, what: str) -> dict[str, Any]:
        import websocket  # websocket-client

        left = deadline - time.monotonic()
        if left <= 0:
            raise BrowserError(f"Chromium did not answer {what} in time")
        self.ws.settimeout(left)
        try:
            return dict(json.loads(self.ws.recv()))
        except websocket.WebSocketTimeoutException as exc:
            raise BrowserError(f"Chromium did not answer {what} in time") from exc


def _devtools_url(profile: Path, proc: subprocess.Popen[bytes], timeout: float) -> str:
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log_file = profile / "chromium.log"
            err = log_file.read_text(errors="replace")[-800:] if log_file.exists() else ""
            raise BrowserError(f"Chromium exited with status {proc.returncode} before it was ready: {err}")
        if port_file.exists():
            lines = port_file.read_text().split()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.05)
    raise BrowserError(f"Chromium did not open its DevTools port within {timeout:g} s")


def _short(url: str) -> str:
    return url[:40] + "..." if url.startswith("data:") and len(url) > 40 else url


_CJK_JS = r"""JSON.stringify((() => {
  const re = /[\u2e80-\ua4cf\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]/g, out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode() && out.length < 60) {
    const el = walker.currentNode.parentElement;
    if (!el || el.hasAttribute('data-pg-cjk') || ['SCRIPT', 'STYLE'].includes(el.tagName)) continue;
    const own = Array.from(el.childNodes).filter(n => n.nodeType === 3).map(n => n.data).join('');
    const n = (own.match(re) || []).length;
    if (n) { el.setAttribute('data-pg-cjk', String(out.length)); out.push({text: own.trim().slice(0, 40), n}); }
  }
  return out;
})())"""
_IMAGES_JS = ("JSON.stringify({n: document.images.length, h: document.documentElement.scrollHeight,"
              " bad: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
              ".map(i => i.alt || i.src.slice(0, 40))})")


def check_page(path: str | os.PathLike[str], *, screenshot: str | os.PathLike[str] | None = None,
               width: int = 1280, height: int = 900, full_page: bool = False, max_height: int = 12000,
               chromium: str | None = None, timeout: float = 60.0, fonts: bool = False) -> PageCheck:
    """Open ``path`` in headless Chromium and report what happened.

    Parameters
    ----------
    path : path-like
        The HTML file.
    screenshot : path-like, optional
        Where to write a PNG screenshot.
    width, height : int
        Viewport in CSS pixels.
    full_page : bool
        Capture the whole document (up to ``max_height`` pixels) instead of the first viewport.
    chromium : str, optional
        Executable (default :func:`find_chromium`).
    timeout : float
        Seconds allowed for start-up and for the page to load.
    fonts : bool
        Also record which fonts drew the text with CJK characters (:attr:`PageCheck.cjk_text`).

    Raises
    ------
    BrowserError
        If no Chromium is found, it fails to start, or the page does not load in time.
    """
    import websocket  # websocket-client: imported here so that reports import without it

    exe = chromium or find_chromium()
    if not exe:
        raise BrowserError("no Chromium found: install Debian's `chromium` package or set POOLGATE_CHROMIUM")
    file = Path(path).resolve()
    if not file.is_file():
        raise BrowserError(f"{file}: no such file to open in the browser")
    url = file.as_uri()
    profile = Path(tempfile.mkdtemp(prefix="poolgate-chromium-"))
    with open(profile / "chromium.log", "wb") as err_log:
        proc = subprocess.Popen([exe, *_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                                 "about:blank"], stdout=subprocess.DEVNULL, stderr=err_log,
                                start_new_session=True,
                                # Chromium's singleton socket folder goes to TMPDIR: keep it inside the
                                # profile, so removing the profile leaves nothing behind in /tmp
                                env={**os.environ, "TMPDIR": str(profile)})
    try:
        ws = websocket.create_connection(_devtools_url(profile, proc, timeout), timeout=timeout,
                                         suppress_origin=True, enable_multithread=False)
        try:
            return _inspect(_Session(ws), url, screenshot, width, height, full_page, max_height, timeout, fonts)
        finally:
            ws.close()
    finally:
        _stop(proc)
        shutil.rmtree(profile, ignore_errors=True)


def _cjk_fonts(s: _Session) -> list[CjkText]:
    """The fonts Chromium drew each element's own CJK text with."""
    found = json.loads(s.call("Runtime.evaluate", {"expression": _CJK_JS, "returnByValue": True})
                       ["result"]["value"])
    if not found:
        return []
    s.call("DOM.enable")
    s.call("CSS.enable")
    root = s.call("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    out = []
    for i, item in enumerate(found):
        node = s.call("DOM.querySelector", {"nodeId": root, "selector": f'[data-pg-cjk="{i}"]'})["nodeId"]
        used = s.call("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        out.append(CjkText(text=str(item["text"]), cjk_chars=int(item["n"]),
                           fonts={str(f["familyName"]): int(f["glyphCount"]) for f in used}))
    return out


def _inspect(s: _Session, url: str, screenshot: str | os.PathLike[str] | None, width: int, height: int,
             full_page: bool, max_height: int, timeout: float, fonts: bool = False) -> PageCheck:
    target = s.call("Target.createTarget", {"url": "about:blank"}, page=False)["targetId"]
    s.session_id = s.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                          page=False)["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        s.call(f"{domain}.enable")
    s.call("Emulation.setDeviceMetricsOverride",
           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    s.events.clear()
    t0 = time.perf_counter()
    s.call("Page.navigate", {"url": url}, timeout=timeout)
    s.wait_for("Page.loadEventFired", timeout)
    load_seconds = time.perf_counter() - t0
    info = json.loads(s.call("Runtime.evaluate", {"expression": _IMAGES_JS, "returnByValue": True})
                      ["result"]["value"])
    cjk = _cjk_fonts(s) if fonts else []
    shot: Path | None = None
    if screenshot is not None:
        shot = Path(screenshot)
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            params["clip"] = {"x": 0, "y": 0, "width": width, "height": min(int(info["h"]), max_height),
                              "scale": 1}
        data = s.call("Page.captureScreenshot", params, timeout=timeout)["data"]
        shot.parent.mkdir(parents=True, exist_ok=True)
        shot.write_bytes(base64.b64decode(data))
    errors: list[str] = []
    requests: list[str] = []
    for ev in s.events:
        method, p = ev.get("method"), ev.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            errors.append(str(d.get("exception", {}).get("description") or d.get("text", "exception")))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            errors.append(f"{e.get('source', '')}: {e.get('text', '')} {e.get('url', '')}".strip())
        elif method == "Network.requestWillBeSent":
            requests.append(p.get("request", {}).get("url", ""))
    foreign = [u for u in requests if not (u.startswith("data:") or u == url or u == "about:blank")]
    return PageCheck(url=url, load_seconds=load_seconds, console_errors=errors,
                     requests=[_short(u) for u in requests], foreign_requests=foreign, images=int(info["n"]),
                     broken_images=[str(b) for b in info["bad"]], screenshot=shot, page_height=int(info["h"]),
                     cjk_text=cjk)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End the Chromium we started: its own process group (it was started in a new session)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)
