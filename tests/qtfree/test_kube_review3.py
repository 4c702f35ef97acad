"""Third review, the Qt-free part: an incident's title is cut by the one ``cut_line`` of
models/text, not a copy of it (a copy drifts: the next fix to one misses the other)."""

from __future__ import annotations

import pytest

from aiops_desktop.models.text import cut_line
from analysis import incidents


def test_an_incident_title_part_is_cut_by_the_one_cut_line(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[tuple[str, int]] = []

    def one(text: str, most: int) -> str:
        said.append((text, most))
        return cut_line(text, most)

    monkeypatch.setattr(incidents, "cut_line", one)
    text = "a\u202eb\nc" + "x" * 100
    assert incidents._cut(text, 80) == cut_line(text, 80)
    assert incidents._cut(text) == cut_line(text, incidents.TITLE_NAME_CHARS)
    assert said == [(text, 80), (text, incidents.TITLE_NAME_CHARS)]
