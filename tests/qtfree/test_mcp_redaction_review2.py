"""Found in review of a4d164c: an argument list's secret flag and its value, and a secret held
as a number, went in clear once a tool's answer was no longer redacted as one text; the chat
still sent the model a tool's answer redacted as one text (no JSON once a field ended in
``token=``); a message of the most bytes ending in CRLF was refused."""

from __future__ import annotations

import io
import json

import pytest

from aiops_desktop.logs import register_secret
from aiops_desktop.services.assistant.mcp_stdio import _TOO_LONG, _next_line
from aiops_desktop.services.assistant.toolbox import bounded_json
from collectors.llm import redacted_messages

PIN = "48291377"
register_secret(PIN)


@pytest.mark.parametrize(
    ("doc", "secret"),
    [
        ({"args": ["--db-password", "S3cr3tPw9x", "--port", "5432"]}, "S3cr3tPw9x"),
        ({"command": ["/bin/exporter", "--api-key", "AbC123xyzQ"]}, "AbC123xyzQ"),
        ({"value": int(PIN)}, PIN),
        ({"value": float(PIN)}, PIN),
    ],
)
def test_an_argument_after_its_secret_flag_and_a_known_secret_as_a_number_are_hidden(
    doc: dict[str, object], secret: str
) -> None:
    out = bounded_json(doc)
    assert secret not in out
    json.loads(out)  # still JSON


def test_the_flag_itself_and_other_arguments_are_kept() -> None:
    result = json.loads(bounded_json({"args": ["--db-password", "S3cr3tPw9x", "--port", "5432"]}))
    assert result["result"]["args"] == ["--db-password", "[REDACTED]", "--port", "5432"]
    assert json.loads(bounded_json({"n": 5432, "flag": True}))["result"] == {
        "n": 5432,
        "flag": True,
    }


def test_the_chat_sends_a_tool_answer_redacted_field_by_field_still_json() -> None:
    lines = [{"line": "xxxx token=", "level": "info"},
             {"line": "login password=Hunter2Pw9", "level": "error"}]  # fmt: skip
    content = bounded_json({"lines": lines})
    (sent,) = redacted_messages(
        [{"role": "tool", "tool_call_id": "c1", "content": content}], redact_ips=False
    )
    doc = json.loads(sent["content"])  # the model reads JSON
    assert "Hunter2Pw9" not in sent["content"]
    assert doc["result"]["lines"][0] == {"line": "xxxx token=", "level": "info"}
    assert sent["tool_call_id"] == "c1"


def test_a_tool_answer_that_is_no_json_is_redacted_as_text() -> None:
    (sent,) = redacted_messages(
        [{"role": "tool", "content": "error: password=Hunter2Pw9 refused"}], redact_ips=False
    )
    assert "Hunter2Pw9" not in sent["content"]


@pytest.mark.asyncio
@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
async def test_a_line_of_the_most_bytes_is_read_whatever_its_newline(newline: bytes) -> None:
    most = 64
    wire = io.BytesIO(b"x" * most + newline + b"next\n")
    assert await _next_line(wire, most) == b"x" * most + newline
    assert await _next_line(wire, most) == b"next\n"


@pytest.mark.asyncio
@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
async def test_a_line_one_byte_over_is_too_long_and_the_next_is_read(newline: bytes) -> None:
    most = 64
    wire = io.BytesIO(b"x" * (most + 1) + newline + b"next\n")
    assert await _next_line(wire, most) == _TOO_LONG
    assert await _next_line(wire, most) == b"next\n"


def test_a_tool_answer_nested_past_the_parser_is_redacted_as_text() -> None:
    deep = "[" * 100_000 + '"password=Hunter2Pw9"' + "]" * 100_000
    (sent,) = redacted_messages([{"role": "tool", "content": deep}], redact_ips=False)
    assert "Hunter2Pw9" not in sent["content"]


def test_a_tool_answer_nested_as_deep_as_the_parser_takes_is_redacted_as_text() -> None:
    deep = "[" * 900 + '"password=Hunter2Pw9"' + "]" * 900
    (sent,) = redacted_messages([{"role": "tool", "content": deep}], redact_ips=False)
    assert "Hunter2Pw9" not in sent["content"]


@pytest.mark.parametrize("flag", [" --db-password", "/usr/bin/app --token", "run --api-key"])
def test_an_argument_after_an_item_ending_in_a_secret_flag_is_hidden(flag: str) -> None:
    content = bounded_json({"args": [flag, "S3cretPw9x"]})
    assert "S3cretPw9x" not in content
    (sent,) = redacted_messages([{"role": "tool", "content": content}], redact_ips=False)
    assert "S3cretPw9x" not in sent["content"]


@pytest.mark.asyncio
async def test_a_line_with_carriage_returns_inside_past_the_most_is_too_long_whole() -> None:
    most = 64
    wire = io.BytesIO(b"x" * most + b"\r\r" + b"y" * 40 + b"\n" + b"next\n")
    assert await _next_line(wire, most) == _TOO_LONG
    assert await _next_line(wire, most) == b"next\n"
