"""Outside text is shown as text: a server's error or a cluster's name that looks like HTML
(an image that would be fetched, a link to click) is drawn as the characters it is."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt

from tests.conftest import ROOT
from ui.theme import Theme
from ui.views.fleet_hw_views import GpuFleetView
from ui.views.text import PlainLabel, rich_label, tip

CRAFTED = '<img src="http://evil.example/x.png"><a href="javascript:alert(1)">fix me</a>'


def test_a_plain_label_never_reads_markup(qtbot) -> None:  # type: ignore[no-untyped-def]
    label = PlainLabel(CRAFTED)
    qtbot.addWidget(label)
    assert label.textFormat() == Qt.TextFormat.PlainText
    assert label.text() == CRAFTED
    assert rich_label("<b>app's own</b>").textFormat() == Qt.TextFormat.RichText


def test_a_server_error_on_a_page_is_shown_as_text(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = GpuFleetView(theme)
    qtbot.addWidget(view)
    view.show_error(f"site-1: {CRAFTED}")
    assert view.error.textFormat() == Qt.TextFormat.PlainText
    assert view.error.text() == f"site-1: {CRAFTED}"


def test_tooltips_escape_what_they_are_given() -> None:
    assert tip(CRAFTED) == (
        "<p>&lt;img src=&quot;http://evil.example/x.png&quot;&gt;&lt;a href=&quot;"
        "javascript:alert(1)&quot;&gt;fix me&lt;/a&gt;</p>"
    )
    assert tip("") == "" and tip(None) == ""


def test_no_view_makes_a_label_that_guesses() -> None:
    """Every label is a PlainLabel, or a rich_label for the app's own markup."""
    bare = []
    for path in sorted((ROOT / "ui").rglob("*.py")):
        if path.name == "text.py":
            continue
        for n, line in enumerate(Path(path).read_text().splitlines(), 1):
            if re.search(r"\bQLabel\(", line):
                bare.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert bare == []
