"""Fonts with Chinese glyphs for the charts, found explicitly among the installed ones.

matplotlib's default font (DejaVu Sans) has no CJK glyphs: Chinese labels (a mapping's Chinese
column names, a Chinese policy's texts, the investor report in Chinese) would be drawn as empty boxes
("tofu") with a ``Glyph ... missing`` warning. :func:`cjk_font` finds an installed CJK family known to
matplotlib (registering system font files installed after matplotlib built its font cache), and
:func:`use_cjk_fallback` gives every text of a figure that holds CJK characters the family list
``DejaVu Sans, <CJK family>``: matplotlib (3.6 and later) takes each glyph from the first font that has
it, so Latin text looks as before and Chinese is drawn in the CJK font. Debian's ``fonts-noto-cjk``
provides Noto Sans CJK (``.ci/run`` installs it). Without any CJK font the figure is drawn as it is
and poolgate says so once on stderr instead of matplotlib's warning per glyph.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["CJK_FAMILIES", "cjk_fallback", "cjk_font", "has_cjk", "use_cjk_fallback"]

log = logging.getLogger(__name__)

#: CJK families, preferred first (Simplified Chinese forms before the Japanese ones).
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
                "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Noto Sans CJK JP", "Droid Sans Fallback")
_CJK_FILES = ("NotoSansCJK", "NotoSansSC", "SourceHanSans", "wqy-zenhei", "wqy-microhei", "DroidSansFallback")
#: CJK radicals to Yi, compatibility ideographs and forms, full-width forms.
_CJK = re.compile("[\u2e80-\ua4cf\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")
_warned: list[bool] = []


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """Family name of an installed font with Chinese glyphs known to matplotlib, or None."""
    from matplotlib import font_manager

    def known() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((f for f in CJK_FAMILIES if f in names), None)

    found = known()
    if found is None:   # installed after matplotlib built its font cache
        for path in font_manager.findSystemFonts():
            if any(tag in Path(path).name for tag in _CJK_FILES):
                font_manager.fontManager.addfont(path)
        found = known()
    return found


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds a CJK character (Han, kana, hangul, CJK punctuation, full-width forms)."""
    return bool(_CJK.search(text))


@contextmanager
def _no_glyph_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from", category=UserWarning)
        yield


def use_cjk_fallback(fig: Any) -> bool:
    """Give the texts of ``fig`` that hold CJK characters a CJK font after DejaVu Sans.

    Returns
    -------
    bool
        False when a text holds CJK characters and no CJK font is installed (logged once a process);
        True otherwise.
    """
    from matplotlib.text import Text

    texts = [t for t in fig.findobj(Text) if has_cjk(t.get_text())]
    if not texts:
        return True
    family = cjk_font()
    if family is None:
        if not _warned:
            _warned.append(True)
            log.warning("chart labels hold Chinese text but no CJK font is installed: they are drawn as boxes "
                        "(install Debian's fonts-noto-cjk)")
        return False
    for text in texts:
        text.set_fontfamily(["DejaVu Sans", family])
    return True


@contextmanager
def cjk_fallback(fig: Any) -> Iterator[bool]:
    """:func:`use_cjk_fallback` on ``fig``; without a CJK font, matplotlib's per-glyph warnings are
    silenced inside the block (the one poolgate line above says it). Draw the figure inside the block."""
    if use_cjk_fallback(fig):
        yield True
        return
    with _no_glyph_warnings():
        yield False
