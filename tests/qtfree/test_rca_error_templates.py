"""RCA counts each kind of error message apart (a log line's template: its first words, ids,
hashes and numbers masked): a kind a service never wrote in its baseline stands out even
where the service writes other errors all along. The app reads the window's error lines from
Loki and ranks them with the same function the benchmark scores; nothing after the window's
end is read. And a fault with too little before its lead (the first since the data began) is
ranked on what came before its detection."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, cast

import numpy as np
import pytest

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.enums import LogDirection
from aiops_desktop.models.observability import LogResult
from aiops_desktop.services.intelligence import rca_logs_traces
from aiops_desktop.services.intelligence.rca import RcaService
from aiops_desktop.services.intelligence.rca_logs_traces import (
    ERROR_LINES,
    ERROR_LINES_READ,
    LogsTracesAround,
)
from aiops_desktop.services.intelligence.rca_topology import TopologyRead
from analysis.rca.model import Signal, SignalKind, Window
from analysis.rca.score import rank
from analysis.rca.traces import (
    ERROR_TEMPLATE,
    TEMPLATE_NAME_CHARS,
    TEMPLATE_WORDS,
    TEMPLATES_KEPT,
    error_line_signals,
    error_template_signals,
    log_template,
)
from collectors.loki import _page, parse_matrix
from tests.benchmarks.rca_cases import from_logs_or_traces

D = 1_675_000_000.0  # a detection, on a minute
W = Window(D)
START = D - W.before_s
STAMPS = [START + 60 * i for i in range(int((W.end_s - START) // 60) + 1)]  # each minute
CHANGE = W.change_s


def test_a_template_masks_ids_hashes_and_numbers_and_keeps_the_words() -> None:
    one = ("2023-01-29 09:03:55.123 ERROR [ts-order-service,7f3a9c2e1b4d5f60] order "
           "f81d4fae-7dec-11d0-a765-00a0c91e6bf6 failed after 3 retries: timeout")  # fmt: skip
    two = ("2023-01-29 09:04:12.907 ERROR [ts-order-service,0c1d2e3f4a5b6c7d] order "
           "123e4567-e89b-12d3-a456-426614174000 failed after 12 retries: timeout")  # fmt: skip
    assert log_template(one) == log_template(two)
    template = log_template(one)
    assert "ERROR" in template and "order" in template and "failed" in template
    assert "7f3a9c2e1b4d5f60" not in template and "f81d4fae" not in template
    assert not any(c.isdigit() for c in template) and "<H>" in template and "<N>" in template
    assert len(log_template(f"{one} and so on and on").split()) == TEMPLATE_WORDS
    assert log_template("ERROR connection refused") != log_template("ERROR disk full")
    assert log_template(template) == template  # the benchmark templates once a day
    assert log_template("x" * 100_000 + " y") == "x" * 1_000  # a long line: its start read


def _count(entity: str, values: list[float]) -> Signal:
    return Signal(entity, "error log lines", SignalKind.ERRORS, np.array(STAMPS),
                  np.array(values), resolution=1.0)  # fmt: skip


def _steady_and_new() -> tuple[list[Signal], list[tuple[str, float, str]]]:
    """cart writes a cache warning 15 or 25 times a minute all along, and from the change a
    new NullPointerException 5 times a minute (its total count hardly moves); front's CPU
    rises four of its spreads."""
    lines, totals = [], []
    for i, t in enumerate(STAMPS):
        steady = 15 if i % 2 else 25
        new = 5 if t >= CHANGE else 0
        lines += [("cart", t, f"ERROR cache miss for key user-{i * 100 + n} after {n} ms")
                  for n in range(steady)]  # fmt: skip
        lines += [("cart", t, f"java.lang.NullPointerException at Order.pay(Order.java:{n})")
                  for n in range(new)]  # fmt: skip
        totals.append(float(steady + new))
    cpu = [1.8 if t >= CHANGE else (0.9 if i % 2 else 1.1) for i, t in enumerate(STAMPS)]
    front = Signal("front", "cpu", SignalKind.RESOURCE, np.array(STAMPS), np.array(cpu))
    return [front, _count("cart", totals)], lines


def test_a_new_kind_of_error_stands_out_over_a_service_s_steady_other_errors() -> None:
    signals, lines = _steady_and_new()
    # the total count alone: the steady errors hide the new kind, front's CPU ranks first
    assert rank(signals, W)[0].entity == "front"
    templates = error_template_signals(lines, STAMPS, START, W.end_s)
    # each named after its template: the evidence and the chart say which kind rose
    assert sorted(s.name for s in templates) == [
        f"{ERROR_TEMPLATE}ERROR cache miss for key user-<N> after <N> ms",
        f"{ERROR_TEMPLATE}java.lang.NullPointerException at Order.pay(Order.java:<N>)",
    ]
    new = next(s for s in templates if s.values.max() == 5)
    assert new.values[new.timestamps < CHANGE].sum() == 0  # read minutes without it: 0
    causes = rank(signals + templates, W)
    assert causes[0].entity == "cart"
    assert causes[0].onset_s == CHANGE  # the minute the new kind began


def test_a_line_after_the_window_s_end_never_changes_a_ranking() -> None:
    signals, lines = _steady_and_new()
    # cart writes 25 more kinds all along: the new one is still kept (a burst per step)
    for k in range(TEMPLATES_KEPT + 5):
        lines += [("cart", t, f"WARN error kind{chr(97 + k % 26)}{chr(97 + k // 26)} again")
                  for t in STAMPS for _ in range(3)]  # fmt: skip
    before = rank(signals + error_template_signals(lines, STAMPS, START, W.end_s), W)
    assert before[0].entity == "cart"
    later = [STAMPS[-1] + 60 * i for i in range(1, 4)]
    after = lines + [("front", t, "ERROR OutOfMemoryError in front") for t in later]
    # and, after the end, kinds of cart's with more lines than any: none evicts a kept one
    after += [("cart", later[0], f"ERROR late kind {chr(97 + k)} of many")
              for k in range(TEMPLATES_KEPT) for _ in range(99)]  # fmt: skip
    templates = error_template_signals(after, STAMPS + later, START, W.end_s)
    assert all(s.timestamps.max() <= W.end_s for s in templates)
    assert sum(s.entity == "cart" for s in templates) == TEMPLATES_KEPT
    again = rank(signals + templates, W)
    assert [(c.entity, c.score, c.onset_s) for c in again] == [
        (c.entity, c.score, c.onset_s) for c in before
    ]


def test_a_first_fault_without_a_baseline_before_its_lead_is_ranked() -> None:
    """The data begin 2.5 minutes before the detection: one sample before the lead (three
    are needed), three before the detection. cart's CPU triples from a minute after it."""
    ts = np.array([D - 150 + 60 * i for i in range(8)])
    cpu = np.where(ts > D, 3.0, np.array([1.0, 1.1, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0]))
    cart = Signal("cart", "cpu", SignalKind.RESOURCE, ts, cpu)
    steady = Signal("front", "cpu", SignalKind.RESOURCE, ts, np.full(ts.size, 2.0))
    errors = Signal("front", "error log lines", SignalKind.ERRORS, ts[2:],
                    np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0]), resolution=1.0)  # fmt: skip
    causes = rank([steady, errors, cart], W)
    assert causes and causes[0].entity == "cart"
    assert causes[0].onset_s == D + 30
    # a count needs one minute before the detection
    assert {e.signal for c in causes for e in c.evidence} >= {"cpu", "error log lines"}


# -- the app: Loki's lines, in Loki's own answer -------------------------------------------
POD = {"k8s_namespace_name": "shop", "k8s_pod_name": "cart-0", "level": "error"}


def _lines() -> list[tuple[float, str]]:
    """cart-0's lines over the window (and a minute before it, and after its end): a cache
    warning 3 times a minute, and from the change a new exception 4 times a minute."""
    out = []
    for m in range(-31, 8):
        t = D + 60 * m
        out += [(t + 5 + n, f"ERROR cache miss for key {m + 40}{n}") for n in range(3)]
        if t >= CHANGE:
            out += [(t + 20 + n, f"java.lang.NullPointerException: order {m + 40}{n} at "
                                 f"Order.pay(Order.java:{80 + n})") for n in range(4)]  # fmt: skip
    return out


class _Loki:
    """A Loki as the client sees it: the count's matrix and the lines' streams in Loki's
    JSON, parsed by the collector; lines in [start, end), BACKWARD newest first, ``limit``."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    async def counts(self, cluster: str, query: str, *, start: datetime, end: datetime,
                     step_s: int, **_kw: Any) -> list[Any]:  # fmt: skip
        stamps = np.arange(start.timestamp(), end.timestamp() + 1, step_s)
        values = [[f"{t:g}", str(sum(t - step_s < at <= t for at, _ in _lines()))]
                  for t in stamps]  # fmt: skip
        return parse_matrix([{"metric": {k: POD[k] for k in ("k8s_namespace_name",
                                                             "k8s_pod_name")},
                              "values": values}])  # fmt: skip

    async def logs(self, cluster: str, query: str, *, start: datetime, end: datetime,
                   limit: int, direction: LogDirection, **_kw: Any) -> LogResult:  # fmt: skip
        self.asked.append({"query": query, "start": start.timestamp(), "end": end.timestamp(),
                           "limit": limit, "direction": direction})  # fmt: skip
        got = [(t, x) for t, x in _lines() if start.timestamp() <= t < end.timestamp()]
        payload = {"status": "success", "data": {"resultType": "streams", "result": [
            {"stream": POD, "values": [[str(int(t * 1e9)), x] for t, x in got]}]}}  # fmt: skip
        entries, _ = _page(payload, cluster, direction is LogDirection.BACKWARD)
        return LogResult(entries=entries[:limit], truncated=len(entries) > limit)


class _Registry:
    def get(self, name: str) -> Any:
        class Spec:
            def endpoint(self, kind: EndpointKind) -> str:
                return "https://loki.example" if kind is EndpointKind.LOKI else ""

        return Spec()


def test_the_app_ranks_each_pod_s_kinds_of_error_from_loki_s_lines() -> None:
    loki = _Loki()
    window = Window(D, analysis_s=D + 300)
    around = LogsTracesAround(cast(Any, loki), cast(Any, _Registry()))
    read = asyncio.run(around.read(["east"], window))
    assert not read.unread
    [asked] = loki.asked
    assert asked == {
        "query": ERROR_LINES,
        "start": START - 60,
        "end": D + 300,
        "limit": ERROR_LINES_READ,
        "direction": LogDirection.BACKWARD,
    }
    kinds = [s for s in read.signals if s.name.startswith(ERROR_TEMPLATE)]
    assert {s.entity for s in kinds} == {"east pod shop/cart-0"} and len(kinds) == 2
    [total] = [s for s in read.signals if s.name == "error log lines"]
    new = next(s for s in kinds if s.values.max() == 4)
    # on the count's stamps; nothing after the end; none of the new kind before the change
    assert new.timestamps.tolist() == total.timestamps.tolist()
    assert new.timestamps.max() <= D + 300 and new.values[new.timestamps <= CHANGE].sum() == 0
    assert sum(s.values.sum() for s in kinds) == total.values.sum()  # the same lines
    [cause] = rank(read.signals, window)
    [kind] = [e for e in cause.evidence if e.signal.startswith(ERROR_TEMPLATE) and e.z > 0]
    assert kind.signal == (f"{ERROR_TEMPLATE}java.lang.NullPointerException: order <N> at "
                           "Order.pay(Order.java:<N>)")  # fmt: skip
    assert kind.baseline == 0 and kind.peak == 4 and kind.first_deviation_s is not None


def test_a_read_cut_by_its_limit_says_so_and_leaves_the_steps_it_did_not_reach(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rca_logs_traces, "ERROR_LINES_READ", 60)
    window = Window(D, analysis_s=D + 300)
    read = asyncio.run(LogsTracesAround(cast(Any, _Loki()), cast(Any, _Registry())).read(
        ["east"], window))  # fmt: skip
    [said] = read.unread
    assert said.startswith("east error lines: the newest 60 read, more matched: their kinds "
                           "ranked from ")  # fmt: skip
    kinds = [s for s in read.signals if s.name.startswith(ERROR_TEMPLATE)]
    oldest = min(t for t, _ in _lines() if t >= START - 60 and t < D + 300
                 and sum(1 for u, _ in _lines() if t <= u < D + 300) <= 60)  # fmt: skip
    # no step that began before the oldest line read is a zero of a kind
    assert kinds and all(s.timestamps.min() - 60 >= oldest for s in kinds)
    assert sum(s.values.sum() for s in kinds) <= 60


# -- each kind named: the evidence, the chart and the model's facts say which rose ----------
def _pod_lines(*kinds: tuple[str, int, bool]) -> list[tuple[dict[str, str], float, str]]:
    """checkout's lines over the window: each ``(line, per minute, from the change only)``."""
    labels = {"k8s_pod_name": "checkout-7d9f", "k8s_namespace_name": "shop"}
    out = []
    for t in [START - 59, *(s + 1 for s in STAMPS[:-1])]:
        for line, per_minute, new in kinds:
            if not new or t >= CHANGE:
                out += [(labels, t + k * 0.1, line) for k in range(per_minute)]
    return out


def test_the_chart_and_evidence_of_a_cause_are_its_deviating_template_s() -> None:
    """A steady warning all along (1 a minute, last alphabetically) and a new burst (30 a
    minute): the cause's evidence names the burst, and its chart is the burst's curve."""
    lines = _pod_lines(("zz steady warning: cache miss ratio high", 1, False),
                       ("ERROR connection refused to payments-db", 30, True))  # fmt: skip
    signals = error_line_signals("east", lines, START, W.end_s)
    service = RcaService(cast(Any, None), [])  # no stored series: what logs say alone
    result = service._analyse("x", ["east"], W, [], around=TopologyRead(signals=signals))
    [cause] = result.causes
    burst = f"{ERROR_TEMPLATE}ERROR connection refused to payments-db"
    steady = f"{ERROR_TEMPLATE}zz steady warning: cache miss ratio high"
    assert [(e.signal, e.peak) for e in cause.evidence] == [(burst, 30.0), (steady, 1.0)]
    chart = result.charts[cause.entity]
    assert set(chart) == {burst, steady}
    assert chart[burst][1].max() == 30 and chart[steady][1].max() == 1
    [row] = result.shown().causes  # and the page's row says which kind rose
    assert row.evidence[0].startswith(f"{burst}: z ")


def test_a_template_s_name_is_redacted_printable_short_and_its_own() -> None:
    secret = "ERROR login failed \x1b]0;owned\x07password=hunter2 \x1b[31mfor user bob"
    long = "ERROR " + "x" * 200
    lines = [("cart", STAMPS[-1], line) for line in (
        secret, f"{long} first", f"{long} second",
        # two that differ only in their secret: redacted, they would read the same
        "ERROR bad token=abcdefghijklmnopqrstu", "ERROR bad token=uvwxyzabcdefghijklmno",
    )]  # fmt: skip
    names = [s.name for s in error_template_signals(lines, STAMPS, START, W.end_s)]
    assert len(names) == 5 and len(set(names)) == 5  # never two of one name
    assert all(n.startswith(ERROR_TEMPLATE) and n.isprintable() for n in names)
    assert all(len(n) <= len(ERROR_TEMPLATE) + TEMPLATE_NAME_CHARS + 4 for n in names)
    assert not any("hunter" in n or "abcdefghij" in n or "uvwxyz" in n for n in names)
    [login] = [n for n in names if "login" in n]
    assert "password=[REDACTED]" in login and "for user bob" in login
    assert sum("x" * 40 in n for n in names) == 2 and sum("REDACTED" in n for n in names) == 3


def test_the_benchmark_s_metric_baseline_still_leaves_each_template_out() -> None:
    """BARO's baseline ranks the metrics alone (``from_logs_or_traces``): a template's
    signal, whatever its template, is read from logs."""
    _, lines = _steady_and_new()
    templates = error_template_signals(lines, STAMPS, START, W.end_s)
    assert templates and all(from_logs_or_traces(s.name) for s in templates)
    assert not from_logs_or_traces("cpu") and from_logs_or_traces("error log lines/min")
