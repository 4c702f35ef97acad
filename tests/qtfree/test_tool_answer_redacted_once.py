"""A tool's answer is redacted field by field, once: its JSON text is not redacted again as a
whole. The second pass took the ``","`` after a text ending in ``password=`` (a log line cut
there) for the password, and the answer was no longer JSON; every secret it caught is still
caught field by field (a name and its value in two fields, a key that names a secret only as
the text patterns know it, a secret in a key). An error's words are plain text: redacted whole.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from aiops_desktop.logs import register_secret
from aiops_desktop.models.errors import AppError
from aiops_desktop.services.assistant.toolbox import Tool, ToolBox, ToolInput

#: what a text in an answer may end with: a secret's name, its value cut off after it
ENDINGS = ("password=", "password: ", "token=", "Authorization: Bearer ", "api_key=",
           "secret:", "PASSWORD=", "Authorization: ", "Cookie: ", "passwd ", "--password ",
           'password="', "client_secret=", "https://user:", "auth=")  # fmt: skip
NEXT = ("hunter2", "x", " ", "", "1.2.3.4", "a b c", "[1,2]", "{}")
#: a secret only this test holds (registered for the run: no common word)
KNOWN = "Vq8-Lm3zR7-kP2w"


class _NoArgs(ToolInput):
    pass


def _box(answer: Any, *, ips: bool = False) -> ToolBox:
    async def run(core: Any, args: Any) -> Any:
        return answer

    return ToolBox(None, [Tool("query_logs", "d", _NoArgs, run)], redact_ips=ips)  # type: ignore[arg-type]


async def _said(answer: Any, *, ips: bool = False) -> Any:
    out = await _box(answer, ips=ips).call("query_logs", {})
    assert not out.is_error, out.content
    return json.loads(out.content)["result"]


@pytest.mark.asyncio
@pytest.mark.parametrize("ips", [False, True])
async def test_an_answer_whose_text_ends_in_a_secrets_name_is_still_json(ips: bool) -> None:
    for end, after in itertools.product(ENDINGS, NEXT):
        for answer in ({"labels": {"a": "x " + end, "b": after}}, {"rows": ["x " + end, after]},
                       {"a": end, "n": 5, "c": after}):  # fmt: skip
            said = await _said(answer, ips=ips)  # parses
            assert said.keys() == answer.keys()


@pytest.mark.asyncio
async def test_a_log_line_cut_after_token_is_still_json() -> None:
    line = "x" * 494 + "token="
    said = await _said({"lines": [{"line": line, "level": "info"}]})
    assert said == {"lines": [{"line": line, "level": "info"}]}


@pytest.mark.asyncio
async def test_every_secret_in_an_answers_fields_is_still_redacted() -> None:
    register_secret(KNOWN)
    answer = {
        "lines": ["login ok password=Hunter2-Zx9 user=bob", f"refresh with {KNOWN}"],
        "db_password": "Qz7-Wr4-Pm1",  # a name that says it is a secret
        "env": [
            {"name": "DB_PASSWORD", "value": "Tk5-Yn8-Bv2"},  # a name, its value apart
            {"Value": 482913, "Name": "API_TOKEN"},
        ],
        "data": {
            ".dockerconfigjson": "eyJhdXRocyI6eyJyZWcuZXhhbXBsZSI6e319fQ==",
            "client-key-data": "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=",
            "token.value": ["Rt6-Ua3-Ic9"],
        },  # names only the text patterns know
        "labels": {f"sig-{KNOWN}": "1", "password=Hx3-Jq7-Ke2": "x"},  # secrets in keys
        "kept": {"name": "DB_HOST", "value": "db.example", "auth_enabled": True},
    }
    text = (await _box(answer).call("query_logs", {})).content
    said = json.loads(text)["result"]
    for secret in ("Hunter2-Zx9", KNOWN, "Qz7-Wr4-Pm1", "Tk5-Yn8-Bv2", "482913",
                   "eyJhdXRocyI6", "LS0tLS1CRUdJTi", "Rt6-Ua3-Ic9", "Hx3-Jq7-Ke2"):  # fmt: skip
        assert secret not in text, secret
    assert said["kept"] == answer["kept"]  # what names no secret is kept
    assert said["env"][0]["name"] == "DB_PASSWORD" and len(said["labels"]) == 2


@pytest.mark.asyncio
async def test_keys_that_redact_alike_are_all_kept() -> None:
    said = await _said({"by_ip": {"10.0.0.1": 1, "10.0.0.2": 2}}, ips=True)
    assert sorted(said["by_ip"].values()) == [1, 2]
    assert not any("10.0.0" in key for key in said["by_ip"])


@pytest.mark.asyncio
async def test_an_errors_words_are_redacted_whole() -> None:
    async def fails(core: Any, args: Any) -> Any:
        raise AppError("login failed: password=Pw4-Lk8-Mn3 for db")

    box = ToolBox(None, [Tool("query_logs", "d", _NoArgs, fails)])  # type: ignore[arg-type]
    out = await box.call("query_logs", {})
    assert out.is_error and "Pw4-Lk8-Mn3" not in out.content and "[REDACTED]" in out.content
