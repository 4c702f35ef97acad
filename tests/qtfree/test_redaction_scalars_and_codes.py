"""Redaction of what the header-array scanner and the value patterns missed: an array's
unquoted items (a number among strings, a YAML flow sequence's plain words), a Bearer or
Basic value after a terminal colour code, and a quoted password three JSON texts deep that
holds a quote of its own."""

from __future__ import annotations

import json

import pytest

from aiops_desktop.logs import REDACTED, redact
from collectors.llm_redaction import redact_for_llm

SECRET = "Xq7-pL2m-Vb9k-Rw4z"


@pytest.mark.parametrize(
    "line",
    [
        f'{{"X-Api-Key":["k1",42,"{SECRET}"]}}',  # a number before it stopped the scanner
        f'{{"X-Api-Key":[42,"{SECRET}"]}}',  # a number first: no array was seen
        f"password: [{SECRET}]",  # a YAML flow sequence's plain word
        f"api_key=[{SECRET}, other]",
        f'{{"line": "{{\\"token\\": [7, \\"{SECRET}\\"]}}"}}',  # in JSON text
    ],
)
def test_an_arrays_unquoted_items_are_redacted_and_the_rest_after_them(line: str) -> None:
    out = redact(line)
    assert SECRET not in out
    assert REDACTED in out
    assert SECRET not in redact_for_llm(line)


def test_a_number_item_is_hidden_too_and_the_array_keeps_its_shape() -> None:
    assert redact('{"X-Api-Key":["k1",42,"v2"]}') == (
        '{"X-Api-Key":["[REDACTED]",[REDACTED],"[REDACTED]"]}'
    )


def test_redacting_twice_changes_nothing_more() -> None:
    """A log line is redacted as a message, then whole: its own "[REDACTED]" is no array."""
    for line in ("password=[REDACTED]", "password: [REDACTED]", '{"token": ["[REDACTED]"]}'):
        assert redact(line) == line
        assert redact(redact(line)) == redact(line)


def test_a_colour_code_after_a_name_is_no_array() -> None:
    """A text made printable keeps a colour code's "[31m": the value after it goes, and what
    the code is stays (the scanner does not take it for an array of "31m..." items)."""
    assert redact(f"token=[31m{SECRET}") == f"token={REDACTED}"


@pytest.mark.parametrize(
    "line",
    [
        f"Authorization: Bearer \x1b[31m{SECRET}\x1b[0m",
        f"Authorization: Bearer [1;31m{SECRET}",  # made printable: its ESC gone
        "Authorization: Basic \x1b[2KdXNlcjpodW50ZXIy",
        f"header bearer \x1b[33m\x1b[1m{SECRET}",
    ],
)
def test_a_bearer_or_basic_value_after_terminal_codes_is_redacted(line: str) -> None:
    out = redact(line)
    assert SECRET not in out
    assert "dXNlcjpodW50ZXIy" not in out
    assert REDACTED in out


def _nested(doc: object, levels: int) -> str:
    text = json.dumps(doc)
    for _ in range(levels):
        text = json.dumps({"line": text})
    return text


@pytest.mark.parametrize("levels", [0, 1, 2, 3, 4])
def test_a_quoted_password_holding_a_quote_is_redacted_whole_at_any_depth(levels: int) -> None:
    """The quote in the password is escaped one level deeper than the value's own quotes:
    it does not end the value (three levels deep it did, and the rest went in clear)."""
    text = _nested({"password": 'ab"cd-tail-Zk81q', "user": "bob"}, levels)
    out = redact(text)
    assert "tail-Zk81q" not in out
    assert "bob" in out  # the next field is kept: the value ended at its own quote


def test_a_quoted_value_not_closed_on_its_line_is_left_to_the_value_patterns() -> None:
    out = redact(f'password="{SECRET}\nnext line "kept"')
    assert SECRET not in out
    assert 'next line "kept"' in out
