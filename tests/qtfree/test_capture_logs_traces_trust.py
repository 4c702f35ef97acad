"""A capture's logs and traces are a document from outside: a crafted one is refused with a
clear message before it is read into memory (times no int64 holds, lists and maps past what
the app writes, a document larger than the app writes), and the questions an opened capture
answers are checked as a live server's are (LogQL escapes, a duration's upper bound)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from aiops_desktop.models.errors import UsageError
from aiops_desktop.services.outputs import recorded_logs
from aiops_desktop.services.outputs.recorded_logs import RecordedLogsTraces, read_recorded
from aiops_desktop.store.capture import CaptureError
from analysis.logql import LogQLError, LogSelector, parse

T0 = int(datetime(2026, 12, 4, 8, 0, tzinfo=UTC).timestamp() * 1e9)


def _span(n: int, **over: Any) -> dict[str, Any]:
    return {"trace_id": "a" * 32, "span_id": f"{n:016x}", "service_name": "cart",
            "operation": "op", "start_ns": T0 + n * 1_000_000, "duration_ns": 5_000_000,
            **over}  # fmt: skip


def _doc(**trace: Any) -> str:
    return json.dumps({"traces": [{"trace_id": "a" * 32, "cluster": "east",
                                   "spans": [_span(1, **trace)]}]})  # fmt: skip


@pytest.mark.parametrize("crafted", [
    {"duration_ns": 10**400},  # a time no int64 holds: its arithmetic overflowed a search
    {"start_ns": -1},
    {"events": [{"timestamp_ns": T0, "name": ""}] * 129},  # two million cost 1.7 GB
    {"attributes": {f"k{n}": "" for n in range(129)}},
])  # fmt: skip
def test_a_crafted_trace_is_refused_with_a_clear_message(crafted: dict[str, Any]) -> None:
    with pytest.raises(CaptureError, match="not what this app writes"):
        read_recorded(_doc(**crafted), "x.aiops")


def test_a_document_larger_than_the_app_writes_is_refused_unread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recorded_logs, "MOST_DOC_CHARS", 1000)
    with pytest.raises(CaptureError, match="larger than this app writes"):
        read_recorded(json.dumps({"lines": [], "pad": "x" * 1000}), "x.aiops")


@pytest.mark.asyncio
async def test_an_opened_capture_checks_questions_as_a_server_does() -> None:
    doc = read_recorded(json.dumps({
        "lines": [{"cluster": "east", "timestamp_ns": T0, "line": "café au lait",
                   "labels": {"k8s_namespace_name": "shop", "k8s_pod_name": "cart-0"}}],
        "traces": [{"trace_id": "a" * 32, "cluster": "east", "spans": [_span(1)]},
                   {"trace_id": "b" * 32, "cluster": "east",
                    "spans": [_span(2, trace_id="b" * 32, duration_ns=900_000_000)]}],
    }), "x.aiops")  # fmt: skip
    logs = RecordedLogsTraces(doc, lambda: ["east"])
    start, end = (
        datetime.fromtimestamp(T0 / 1e9 - 60, UTC),
        datetime.fromtimestamp(T0 / 1e9 + 60, UTC),
    )
    found = await logs.logs("east", '{k8s_namespace_name="shop"} |= "caf\\u00e9"', start=start,
                            end=end)  # fmt: skip
    assert [e.line for e in found.entries] == ["café au lait"]  # an escape, read as Go does
    with pytest.raises(UsageError, match="escape"):  # was a raw UnicodeDecodeError
        await logs.logs("east", '{k8s_namespace_name="shop"} |= "\\x4"', start=start, end=end)
    short = await logs.traces("east", start=start, end=end, max_duration="100ms")
    assert [t.trace_id for t in short] == ["a" * 32]  # the upper bound is applied too
    newest = await logs.traces("east", start=start, end=end)
    assert [t.trace_id for t in newest] == ["b" * 32, "a" * 32]  # newest first, as Tempo
    assert (await logs.trace("east", "b" * 32)).spans[0].duration_ns == 900_000_000
    failing = await logs.traces("east", start=start, end=end, traceql="{ status = error }")
    assert failing == []  # none failed
    for asked in ("{ span.http.status_code = 500 }", "{ } | rate()"):  # answered all before
        with pytest.raises(UsageError, match="a capture answers TraceQL"):
            await logs.traces("east", start=start, end=end, traceql=asked)


def test_logql_regexps_run_as_loki_runs_them() -> None:
    """RE2, as Loki's Go: linear in the line (Python's re took 2 s on this 35-character
    line, and 1.6 times longer a character more, holding the GIL), and refusing what Loki
    refuses (a lookahead)."""
    query = parse('{app=~"w.*"} |~ "(a|aa)+$"')
    assert isinstance(query, LogSelector) and query.matches({"app": "web"})
    keep = query.line_filter()
    assert not keep("a" * 10_000 + "!") and keep("a" * 10_000)
    with pytest.raises(LogQLError, match="invalid perl operator"):
        parse('{app="web"} |~ "(?=x)"')
