"""Outside text in a tool's answer (an alert's summary, a label a tenant chose, a log line):
JSON escapes C0 controls, but with ``ensure_ascii=False`` a C1 control (CSI, ``\\x9b``, which a
terminal reads as ESC ``[``), a bidirectional override (the "Trojan Source" marks) and NEL or a
Unicode line separator went into the answer raw. They are escaped as ``\\uXXXX``, the set the
UI's ``cut_line`` strips (aiops_desktop/models/text.py): the text decoded is the same."""

from __future__ import annotations

import json

import pytest

from aiops_desktop.services.assistant.toolbox import bounded_json

#: what text.py's _CONTROLS and _BREAK_CHARS name beyond C0: C1, the bidi marks, NEL, LS, PS
RAW = ["\x7f", "\x85", "\x9b", "\x9f", "\u061c", "\u200e", "\u200f", "\u202a", "\u202e",
       "\u2066", "\u2069", "\u2028", "\u2029"]  # fmt: skip


@pytest.mark.parametrize("char", RAW)
def test_a_c1_control_bidi_mark_or_line_separator_is_escaped(char: str) -> None:
    summary = f"pod du-0 OK{char}31m LACITIRC"
    text = bounded_json({"alerts": [{"summary": summary, char: "key"}]})
    assert char not in text
    assert f"\\u{ord(char):04x}" in text
    assert json.loads(text) == {"result": {"alerts": [{"summary": summary, char: "key"}]}}


def test_a_whole_answer_has_none_and_reads_the_same() -> None:
    said = ("pod du-0 OK\x1b[2J\u009b31m \u202eLACITIRC\u202c\u0085next\u2028line "
            "漢字 é — ✓ \U0001f600")  # fmt: skip
    text = bounded_json({"alerts": [{"summary": said}] * 3})
    assert not any(c in text for c in "".join(RAW) + "\x1b\u202c")
    assert "漢字 é — ✓ \U0001f600" in text  # other text stays as it is, not \u-escaped
    assert json.loads(text)["result"]["alerts"][0]["summary"] == said


def test_a_cut_answer_is_escaped_and_within_its_bytes() -> None:
    text = bounded_json({"lines": ["\u202e" * 50 + "x" * 200] * 200}, limit=4096)
    assert "\u202e" not in text and len(text.encode()) <= 4096
    assert json.loads(text)["truncated"] is True
