"""A crafted log line costs the redaction no more than a plain one of the same length (a
pattern that rescans the rest of the line from each of its starts froze the event loop for
seconds a line), and a tool redacts only the part of a workload's text it gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from aiops_desktop.logs import redact
from aiops_desktop.models import EndpointKind
from aiops_desktop.models.observability import LogEntry, LogResult
from aiops_desktop.services.assistant import tools
from aiops_desktop.services.assistant.toolbox import MAX_ROWS, ToolBox
from collectors.llm_redaction import REDACTED, redact_for_llm
from tests.qtfree.redaction_cost import MOST_RATIO, ratio, repeated

SIZE = 64 * 1024  # four of the collector's longest log lines: a rescan shows well above noise
#: each repeated to SIZE: starts of a pattern that never end (no "@", no END line, no value)
HOSTILE = [
    "://a:", "://:", "://a:b/", "-----BEGIN RSA PRIVATE KEY-----\"",
    "-----BEGIN RSA PRIVATE KEY-----", "password=\"a", "token: '", "--password-", "-u a:",
    "login -p", "auth: ", "authorization: ", "client-key-data: ", "cookie: a\\", "sig=",
    "Bearer ", "eyJaaaaa.", "1.1.1.", "1:1:", "x-amz-signature=", "sk-", "sk--", "AKIA",
]  # fmt: skip


@pytest.mark.parametrize("piece", HOSTILE)
def test_a_crafted_line_costs_about_what_a_plain_one_does(piece: str) -> None:
    work = ratio(repeated(piece, SIZE))
    assert work < MOST_RATIO, f"{piece!r}: {work:.0f} times a plain line's work"


@pytest.mark.parametrize("command", ["mysql ", "sshpass -f ", "redis-cli ", "ipmitool "])
@pytest.mark.parametrize("run", ["\\", '\\"', "a\\"])
def test_a_run_after_a_command_costs_about_what_a_plain_line_does(command: str, run: str) -> None:
    """A command whose password the patterns look for, then one long argument: a run of
    backslashes was read again from each of its backslashes (a 40,000 long: a minute)."""
    work = ratio(command + repeated(run, SIZE))
    assert work < MOST_RATIO, f"{command}{run!r}...: {work:.0f} times a plain line's work"


def test_a_url_password_is_still_redacted_to_its_host() -> None:
    assert (
        redact("https://admin:p@ss/w0rd@db.example/x") == f"https://admin:{REDACTED}@db.example/x"
    )
    assert redact("redis://:pw1@r:6379 amqp://u:pw2@mq https://h:8443/x@y") == (
        f"redis://:{REDACTED}@r:6379 amqp://u:{REDACTED}@mq https://h:8443/x@y"
    )


def test_a_tool_redacts_only_what_it_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def counted(text: str, *, ips: bool = False) -> str:
        seen.append(len(text))
        return redact_for_llm(text, ips=ips)

    monkeypatch.setattr(tools, "redact_for_llm", counted)
    assert tools._said("x" * 1_000_000) == "x" * tools.LINE_CHARS
    assert seen and max(seen) < 10 * 1024  # not the whole megabyte


def test_a_secret_across_the_cut_is_still_redacted() -> None:
    for at in range(tools.LINE_CHARS - 40, tools.LINE_CHARS + 5):
        line = "x" * at + ' password="horse battery staple" and more'
        assert "horse" not in tools._said(line)
        assert "staple" not in tools._said(line)
    key = "-----BEGIN RSA PRIVATE KEY-----\n" + "MIIEow" * 900 + "\n-----END RSA PRIVATE KEY-----"
    assert tools._said("y" * 450 + key) == "y" * 450 + REDACTED


class _Cluster:
    name = "ran-east"

    def endpoint(self, kind: EndpointKind) -> object | None:
        return object() if kind is EndpointKind.LOKI else None


@pytest.mark.asyncio
async def test_query_logs_redacts_only_the_lines_an_answer_can_hold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def logs(name: str, logql: str, **_: Any) -> LogResult:
        return LogResult(entries=[LogEntry(cluster=name, timestamp_ns=1_700_000_000 * 10**9 + i,
                                           line=f"line {i}") for i in range(1000)])  # fmt: skip

    core = SimpleNamespace(registry=SimpleNamespace(clusters=lambda: [_Cluster()]),
                           now=lambda: datetime.now(UTC), capture=None,
                           logs_traces=SimpleNamespace(logs=logs))  # fmt: skip
    said: list[str | None] = []
    monkeypatch.setattr(tools, "_said", lambda text: said.append(text) or text or "")
    box = ToolBox(core, [t for t in tools.all_tools() if t.name == "query_logs"])  # type: ignore[arg-type]
    out = await box.call("query_logs", {"logql": '{app="du"}', "limit": 1000})
    answer = json.loads(out.content)["result"]
    assert len(said) == MAX_ROWS == len(answer["lines"]) and answer["more"] is True
