"""Review 4 of the offline LogQL, the trace ids a capture gives, and the live tail's resume:
the empty-matcher rule judged as Loki judges it (a matcher that does not match ""), a
``sum by (...)`` list closed by ``)``, byte escapes read as Go reads them (bytes, then UTF-8),
a trace id that is hex or refused (and printed on one line), and a line stamped ahead of the
clock that does not hide the lines after a reconnect."""

from __future__ import annotations

import argparse
import asyncio
import io
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from aiops_desktop.cli.logs_traces import _traces
from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.observability import Span, Trace, TraceSummary
from analysis.logql import LogQLError, LogSelector, MetricQuery, parse

EMPTY_RULE = "at least one regexp or equality matcher that does not have an empty-compatible"


# -- 1: a selector needs a matcher that does not match "" (Loki's validateMatchers) ---------
@pytest.mark.parametrize("query", [
    '{app=~".*"}', '{app=~"a*"}', '{app=~"web|"}', '{app=""}', '{app!~".+"}',
    '{app!="web"}', '{app=~".*", ns!="x"}', 'count_over_time({app=~".*"}[5m])',
])  # fmt: skip
def test_a_selector_whose_matchers_all_match_nothing_is_refused(query: str) -> None:
    with pytest.raises(LogQLError, match=EMPTY_RULE):
        parse(query)


@pytest.mark.parametrize("query", [
    '{k8s_namespace_name!=""}', '{k8s_namespace_name!~""}', '{app!~"^$"}', '{app=~".+"}',
    '{app=~"web"}', '{app="web"}', '{app=~".*", ns!=""}',
])  # fmt: skip
def test_a_selector_with_a_matcher_that_does_not_match_nothing_is_answered(query: str) -> None:
    found = parse(query)
    assert isinstance(found, LogSelector)
    # and it selects as Loki does: a stream with the label, not one without it
    if '!=""' in query or '!~""' in query:
        name = found.matchers[-1][0]
        assert found.matches({name: "shop"}) and not found.matches({"other": "x"})


def test_a_sum_by_list_is_closed_by_a_parenthesis() -> None:
    with pytest.raises(LogQLError, match=r"unexpected \}"):
        parse('sum by (app} (count_over_time({app="x"}[5m]))')
    with pytest.raises(LogQLError, match="unexpected"):
        parse('sum by (app, ns (count_over_time({app="x"}[5m]))')
    found = parse('sum by (app, ns) (count_over_time({app="x"}[5m]))')
    assert isinstance(found, MetricQuery) and found.by == ["app", "ns"]


# -- 2: \xHH and \ooo are bytes (Go's strconv.Unquote), read then as UTF-8 ------------------
def test_byte_escapes_are_bytes_of_utf8() -> None:
    query = parse(r'{app="web"} |= "caf\xc3\xa9"')
    assert isinstance(query, LogSelector) and query.filters == [("|=", "café")]
    assert query.line_filter()("order from café failed")
    octal = parse(r'{app="web"} |= "\303\251t\303\251"')
    assert isinstance(octal, LogSelector) and octal.filters == [("|=", "été")]
    mixed = parse(r'{app="caf\u00e9 \xe2\x82\xac"} != "\x41\101"')  # a rune, bytes, ASCII
    assert isinstance(mixed, LogSelector)
    assert mixed.matchers == [("app", "=", "café €")] and mixed.filters == [("!=", "AA")]
    assert parse('{app="web"} |= "café\\n"').filters == [("|=", "café\n")]  # type: ignore[union-attr]


@pytest.mark.parametrize("text", [r"\xff", r"caf\xc3", r"\xc3(", r"\355\240\200"])
def test_escapes_that_are_not_utf8_are_refused(text: str) -> None:
    with pytest.raises(LogQLError, match="UTF-8"):
        parse('{app="web"} |= "' + text + '"')


def test_an_octal_escape_past_a_byte_is_refused() -> None:
    with pytest.raises(LogQLError, match="escape"):
        parse(r'{app="web"} |= "\400"')


# -- 3: a trace id is 1-32 hex digits, and is printed on one line ---------------------------
EVIL = "\x1b]0;owned\x07\x1b[2J\x1b[HALL CLEAR \u202eabc"
T0 = 1_704_110_400 * 10**9


def _span(trace_id: str = "ab" * 16) -> Span:
    return Span(trace_id=trace_id, span_id="1" * 16, service_name="web", operation="GET /",
                start_ns=T0, duration_ns=1000, status=SpanStatus.ERROR)  # fmt: skip


@pytest.mark.parametrize("bad", [EVIL, "", "0" * 33, "xyz", " ab", "ab\n", "0x1f", "1_2"])
def test_a_trace_id_that_is_not_hex_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="trace id"):
        Trace(trace_id=bad, cluster="prod-1", spans=[_span()])
    with pytest.raises(ValidationError, match="trace id"):
        TraceSummary(trace_id=bad, cluster="prod-1")


def test_a_trace_id_as_tempo_writes_one_is_taken() -> None:
    assert Trace(trace_id="AB" * 16, cluster="c").trace_id == "ab" * 16
    assert TraceSummary(trace_id="4bf92f3577b34da6").trace_id == "4bf92f3577b34da6"
    assert Trace.model_validate_json('{"trace_id": "1f", "cluster": "c"}').trace_id == "1f"


class _Found:
    """The logs and traces a capture's crafted record gives (models built unchecked, as one
    read before the check would be): what the CLI prints of them."""

    async def traces(self, cluster: str, **_: Any) -> list[TraceSummary]:
        return [TraceSummary.model_construct(trace_id=EVIL, root_service="web",
                                             root_name="GET /", start_ns=T0, duration_ms=1.0,
                                             cluster=cluster)]  # fmt: skip

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        return Trace.model_construct(trace_id=EVIL, cluster=cluster, spans=[_span()],
                                     spans_total=None)  # fmt: skip


@pytest.mark.parametrize("trace_id", [None, "ab" * 16])
def test_the_cli_prints_a_trace_id_on_one_line(trace_id: str | None) -> None:
    end = datetime.fromtimestamp(T0 / 1e9, UTC) + timedelta(minutes=5)
    core = SimpleNamespace(logs_traces=_Found(), now=lambda: end)
    args = argparse.Namespace(id=trace_id, cluster="prod-1", since=timedelta(hours=1),
                              until=end, traceql=None, errors=False, service=None,
                              operation=None, min_duration=None, max_duration=None, limit=20,
                              json=False, timeout=30.0)  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    asyncio.run(_traces(core, args, SimpleNamespace(out=out, err=err)))  # type: ignore[arg-type]
    printed = out.getvalue()
    assert "owned" in printed  # the id is printed ...
    assert "\x1b" not in printed and "\x07" not in printed and "\u202e" not in printed  # tamed
