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


# found in review of the first version (0a553b2): a plain item was one word, taken after
# any name; escaped colour codes; a less-escaped quote ended a quoted value


@pytest.mark.parametrize(
    ("line", "gone"),
    [
        ("headers=map[X-Auth-Token:[Bearer s3cr3tT0kenValue99] Accept:[*/*]]", "s3cr3tT0ken"),
        ("credential: [Basic dXNlcjpodW50ZXIy]", "dXNlcjpodW50ZXIy"),
        ("password: [correct horse battery staple]", "battery"),
        ("api_key=[k1q2w3e4 k2q2w3e4 k3q2w3e4]", "k3q2w3e4"),
        (
            "private_key: [-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsEcReT\n"
            "-----END RSA PRIVATE KEY-----]",
            "MIIEowIBAAKCAQEAsEcReT",
        ),
    ],
)
def test_a_plain_items_words_go_together(line: str, gone: str) -> None:
    """Every word of a plain item is hidden: its first alone left "Bearer"'s value, the
    pattern for it no longer seeing "Bearer"."""
    assert gone not in redact(line)
    assert gone not in redact_for_llm(line)


@pytest.mark.parametrize(
    "line",
    [
        "secrets=[3]",
        "credentials: [expired]",
        "pwd=[/home/bob]",
        "imagePullSecrets: [pull-secret]",
        "tokens=[5]",
        "level=[info] args: [1, 2]",
    ],
)
def test_plain_arrays_of_counts_prose_and_names_are_kept(line: str) -> None:
    """Plain items are taken only after a name whose plain value is a secret, as a plain
    value is: a count of secrets, a credential's state, a working folder, a Secret's name."""
    assert redact(line) == line


@pytest.mark.parametrize(
    "line",
    [
        '{"msg": "upstream call hdr=Bearer \\u001b[31mabcdefgh12345678\\u001b[0m"}',
        "'upstream call hdr=Bearer \\x1b[31mabcdefgh12345678\\x1b[0m'",
        "hdr=Bearer \\033[1mabcdefgh12345678",
    ],
)
def test_a_bearer_value_after_an_escaped_colour_code_is_redacted(line: str) -> None:
    """JSON text (docker's, Loki's) writes ESC as \\u001b, Go's %q and Python's repr as
    \\x1b: the code is still one before the value."""
    assert "abcdefgh12345678" not in redact(line)


def test_a_less_escaped_quote_inside_an_escaped_quoted_value_does_not_end_it() -> None:
    line = 'sh -c "login password=\\"pa"ssW0rdTail\\" user=bob"'
    out = redact(line)
    assert "ssW0rdTail" not in out
    assert "user=bob" in out
