"""The browser check itself: a clean page passes, each kind of fault is caught."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.browser import BrowserError, check_page, find_chromium

_DOT = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGA"
        "WjR9awAAAABJRU5ErkJggg==")

needs_chromium = pytest.mark.skipif(find_chromium() is None,
                                    reason="headless browser check skipped: no Chromium (apt-get install chromium)")


def _page(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "page.html"
    p.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{body}</body></html>")
    return p


@needs_chromium
def test_clean_page_passes_and_is_photographed(tmp_path: Path) -> None:
    result = check_page(_page(tmp_path, f"<h1>ok</h1><img alt='dot' src='{_DOT}'>"), screenshot=tmp_path / "s.png")
    assert result.ok, result.problems()
    assert result.images == 1
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


@needs_chromium
def test_console_error_network_request_and_broken_image_are_caught(tmp_path: Path) -> None:
    body = ("<script>console.error('boom')</script><img alt='remote' src='http://example.invalid/x.png'>"
            "<img alt='broken' src='data:image/png;base64,AAAA'>")
    result = check_page(_page(tmp_path, body))
    assert not result.ok
    assert "boom" in result.console_errors
    assert result.foreign_requests == ["http://example.invalid/x.png"]
    assert sorted(result.broken_images) == ["broken", "remote"]


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium: the error for a missing browser is tested instead")
    with pytest.raises(BrowserError, match="no such file"):
        check_page(tmp_path / "absent.html")


def test_missing_browser_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POOLGATE_CHROMIUM", str(tmp_path / "no-such-chromium"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BrowserError, match="no Chromium found"):
        check_page(_page(tmp_path, "x"))
