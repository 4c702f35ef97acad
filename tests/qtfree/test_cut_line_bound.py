"""``cut_line`` cleans no more of a text than it can show: it ran its regexes over the whole
text before cutting (a label value or a server's error of 28 M characters cost 0.4 s, on the
UI thread where a cell shows it), and now reads a bounded prefix, marking the cut."""

from __future__ import annotations

import pytest

from aiops_desktop.models import text as text_module
from aiops_desktop.models.text import cut_line, one_line


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The lengths of what ``cut_line`` hands ``one_line`` (the regexes)."""
    seen: list[int] = []

    def spied(text: str) -> str:
        seen.append(len(text))
        return one_line(text)

    monkeypatch.setattr(text_module, "one_line", spied)
    return seen


def test_a_huge_text_is_cleaned_only_as_far_as_a_cell_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = _spy(monkeypatch)
    huge = str({"k": "x\u202e" * 4_000_000})  # 28 M characters, half of them an RTL override
    got = cut_line(huge, 80)
    assert seen and max(seen) <= 80 * 4
    assert len(got) == 80 and got.endswith("…")
    assert got[:-1] == one_line(huge)[:79]  # the same as cleaning the whole
    assert "\u202e" not in got


@pytest.mark.parametrize(
    ("text", "most"),
    [
        ("plain words " * 1_000, 40),
        ("line one\r\n\r\nline two\n\x1b[31mred\x1b[0m\t" * 500, 60),
        ("\n" * 30 + "after breaks", 20),
        ("é🙂" * 5_000, 33),
        ("short", 80),
        ("exactly ten", 11),
        ("a\nb", 80),
    ],
)
def test_what_a_cut_line_shows_is_what_cleaning_the_whole_text_showed(text: str, most: int) -> None:
    whole = one_line(text)
    expected = whole if len(whole) <= most else whole[: most - 1] + "…"
    assert cut_line(text, most) == expected


def test_a_cut_is_marked_even_where_the_prefix_read_was_nearly_all_controls() -> None:
    """Controls are stripped: what is left of the prefix read may be shorter than ``most``;
    the line still says it was cut, and is never longer than ``most``."""
    for text in ("\x1b" * 1_000 + "tail text that is never reached", "\n" * 10_000 + "end"):
        got = cut_line(text, 10)
        assert got.endswith("…") and len(got) <= 10 and "\x1b" not in got and "\n" not in got
