"""How figures read, the same in every view, the CLI and the reports."""

from __future__ import annotations

import re
from datetime import UTC, datetime


def pct_text(value: float | None) -> str:
    """A compliance share as the board, the CLI and reports write it: "83.3%", or "-"."""
    return "-" if value is None else f"{value:.1f}%"


def time_text(when: str | datetime, *, seconds: bool = False) -> str:
    """The app's one way to write a moment: "2026-12-04 19:11 UTC" (ISO text accepted; what
    cannot be read is shown as it is)."""
    try:
        moment = datetime.fromisoformat(when) if isinstance(when, str) else when
    except ValueError:
        return str(when)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M{':%S' if seconds else ''}} UTC"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 cluster", "2 clusters", "0 VFs" ("VF" -> "VFs"; ``plural`` when it is not +s)."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "no data yet"
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


#: the escapes PromQL writes by name; every other character ``_TO_ESCAPE`` finds is ``\\uXXXX``
_NAMED_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(text: str) -> str:
    """A metric name, a label name or a label value as a PromQL string literal holds it (a
    quote, a backslash, a break or a control escaped: ``\\n``, ``\\u2028``): Prometheus 3
    takes any UTF-8 name, so no part of a series can end it or start a line of its own."""
    return _TO_ESCAPE.sub(lambda m: _NAMED_ESCAPES.get(m[0]) or f"\\u{ord(m[0]):04x}", text)


def labels_text(labels: dict[str, str]) -> str:
    """A series as PromQL writes it: ``name{a="1", b="2"}`` (``{}`` for no name, no labels)."""
    name = _escaped(labels.get("__name__", ""))
    inner = ", ".join(
        f'{_escaped(k)}="{_escaped(v)}"' for k, v in sorted(labels.items()) if k != "__name__"
    )
    return f"{name}{{{inner}}}" if inner else (name or "{}")


# -- text from outside (a server, a file, a label), made safe for where it goes ---------------

#: C0 and C1 controls but tab and newline (ESC starts the terminal escape sequences that
#: recolour, retitle or rewrite a screen), and the bidirectional overrides that make a line
#: read other than it is (the "Trojan Source" marks)
#: of those, the ones past C0 (JSON leaves them raw): DEL, C1 and the bidirectional marks
HIDDEN_MARKS = "\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROLS = re.compile(f"[\x00-\x08\x0b-\x1f{HIDDEN_MARKS}]")
_BREAK_CHARS = r"\t\n\r\v\f\u2028\u2029\x85"
_BREAKS = re.compile(f"[{_BREAK_CHARS}]+")
#: what a series' names and values escape: a quote, a backslash, a line break or tab, and
#: every control or bidirectional mark ``printable`` strips (stripped, it would go unseen)
_TO_ESCAPE = re.compile(f'[\\\\"{_BREAK_CHARS}]|{_CONTROLS.pattern}')


def printable(text: str) -> str:
    """``text`` with no control character but tab and newline: safe to print to a terminal."""
    return _CONTROLS.sub("", text)


def one_line(text: str) -> str:
    """``text`` as one printable line (line breaks and tabs become a space)."""
    return printable(_BREAKS.sub(" ", text))


def cut(text: str, most: int) -> str:
    """``text`` cut to ``most`` characters, the cut marked "…"."""
    return text if len(text) <= most else text[: most - 1] + "…"


#: how many characters per one shown ``cut_line`` cleans: of ordinary text (some breaks and
#: controls stripped) that leaves ``most``; past it a text is not read (a 28 M character one,
#: cleaned whole, held the UI thread 0.4 s)
_CUT_LINE_READS = 4


def cut_line(text: str, most: int) -> str:
    """Outside text (an event's message, a label value a tenant chose, a server's error) as a
    cell, a heading or a title shows it: one printable line (no line break forging a row, no
    ESC, no right-to-left override), cut to ``most`` characters. Only its first ``most`` *
    _CUT_LINE_READS characters are read: a text longer is marked cut, even where its part read
    was mostly controls (then fewer than ``most`` are shown)."""
    read = max(most, 1) * _CUT_LINE_READS
    if len(text) <= read:
        return cut(one_line(text), most)
    return one_line(text[:read])[: most - 1] + "…"


#: what Markdown reads as markup inside a line: emphasis, code, links and images, raw HTML,
#: entities, table cells, strike-through, and escapes themselves
_MD_INLINE = re.compile(r"([\\`*_\[\]<>!|&~#])")
#: what starts a block when it opens a line, or follows a list or quote marker: a heading, a
#: list item, a quote, a setext underline, a numbered item
_MD_BLOCK = re.compile(r"^(\s*)([-+=>])")
_MD_NUMBERED = re.compile(r"^(\s*\d+)([.)])")


def md_escape(text: str) -> str:
    """``text`` as one line of literal Markdown: no heading, link, image, raw HTML or table
    cell break can come out of it (a ``javascript:`` link stays plain text)."""
    line = _MD_INLINE.sub(r"\\\1", one_line(text))
    if _MD_NUMBERED.match(line):
        return _MD_NUMBERED.sub(r"\1\\\2", line)  # "1\. x": digits cannot be escaped
    return _MD_BLOCK.sub(r"\1\\\2", line)
