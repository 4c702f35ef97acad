"""Names and values from Loki and Tempo cost what their size allows, wherever they go: a tail
frame's line costs the same whatever its stream's labels (they were hashed again for every
line, on the event loop: a 1 MB frame of one stream with 128 labels of 1,900 characters held
the UI thread 10 s), a paged read's lines at one instant too; the label values offered for
completion are cut as labels are (a 4 MB value held the completer's popup for seconds a
keystroke); and a span's or an event's attribute names are cut as their values are (a
5,000,000-character name went whole into a capture and ``traces --id --json``)."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from aiops_desktop.models.enums import LogDirection
from aiops_desktop.models.observability import MOST_LABELS, LogEntry, LogQuery
from collectors import loki_tail
from collectors.loki import MOST_COMPLETIONS, LokiClient, LokiPaths
from collectors.loki_tail import Resume, TailBatch, parse_frame
from collectors.tempo import MAX_ATTRIBUTE_CHARS, parse_trace

T = 1_700_000_000_000_000_000
SMALL = {"k8s_namespace_name": "shop", "k8s_pod_name": "checkout-7d9f8-abcde"}
#: as many labels as are kept, each as long as is kept: the most a stream's labels can cost
HUGE = {f"label_{i:03d}": "v" * (MAX_ATTRIBUTE_CHARS - 100) for i in range(MOST_LABELS)}


def _cheapest(run: Callable[[], object], times: int = 5) -> float:
    """The least time ``run`` took of a few tries (what the work costs, less the noise of a
    shared machine)."""
    best = float("inf")
    for _ in range(times):
        began = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - began)
    return best


def _frame(labels: dict[str, str], lines: int) -> str:
    values = [[str(T + i), f"GET /cart/{i} 200"] for i in range(lines)]
    return json.dumps({"streams": [{"stream": labels, "values": values}]})


def test_a_tail_frames_lines_cost_the_same_whatever_their_streams_labels() -> None:
    small, huge = parse_frame(_frame(SMALL, 5_000), "c"), parse_frame(_frame(HUGE, 5_000), "c")
    assert len(Resume(None).fresh(huge.entries)) == 5_000  # each line shown once

    cost_small = _cheapest(lambda: Resume(None).fresh(small.entries))
    cost_huge = _cheapest(lambda: Resume(None).fresh(huge.entries))
    assert cost_huge < 4 * cost_small + 0.005, (cost_small, cost_huge)


def test_a_tail_still_tells_lines_apart_by_their_labels_and_shows_none_twice() -> None:
    resume = Resume(None)
    frame = {"streams": [
        {"stream": {"pod": "api-1"}, "values": [[str(T), "GET /x 200"]]},
        {"stream": {"pod": "api-2"}, "values": [[str(T), "GET /x 200"]]},
        # the same labels in another order: the same stream, its line already shown
        {"stream": {"app": "shop", "pod": "api-3"}, "values": [[str(T), "GET /y 200"]]},
    ]}  # fmt: skip
    assert len(resume.fresh(parse_frame(json.dumps(frame), "c").entries)) == 3
    again = {"streams": [{"stream": {"pod": "api-3", "app": "shop"}, "values": [
        [str(T), "GET /y 200"], [str(T + 1), "GET /z 200"]]}]}  # fmt: skip
    assert [e.line for e in resume.fresh(parse_frame(json.dumps(again), "c").entries)] == [
        "GET /z 200"
    ]


def test_a_tail_frames_label_names_and_values_are_cut_as_lines_are() -> None:
    name, value = "n" * 5_000_000, "v" * 5_000_000
    frame = {"streams": [{"stream": {name: value},
                          "values": [[str(T), "x", {name + "2": value}]]}]}  # fmt: skip
    (entry,) = parse_frame(json.dumps(frame), "c").entries
    assert entry.labels and all(
        len(k) <= MAX_ATTRIBUTE_CHARS and len(v) <= MAX_ATTRIBUTE_CHARS
        for k, v in entry.labels.items()
    )


class _OneInstant:
    """Loki answering ``query_range`` with ``lines`` lines at one instant, all of one stream:
    a page read again at that instant (the edge) is told apart line by line."""

    name = "loki"

    def __init__(self, labels: dict[str, str], lines: int) -> None:
        self.values = [[str(T), f"GET /cart/{i} 200"] for i in range(lines)]
        self.labels = labels

    async def get_json(self, path: str, params: Any = None, *, then: Any = None) -> Any:
        within = int(params.get("start", 0)) <= T < int(params.get("end", T + 1))
        result = [{"stream": self.labels, "values": self.values}] if within else []
        return then({"status": "success", "data": {"resultType": "streams", "result": result}})


@pytest.mark.asyncio
async def test_a_paged_reads_lines_at_one_instant_cost_the_same_whatever_their_labels() -> None:
    async def cheapest(labels: dict[str, str]) -> float:
        """As ``_cheapest``, on this loop (``asyncio.run`` in 3.11 writes out the result whole
        for its SIGINT handler's repr: the labels of each line, whatever the read cost)."""
        client = LokiClient(_OneInstant(labels, 1_000), "c")  # type: ignore[arg-type]
        query = LogQuery(logql='{app="shop"}', start_ns=T - 10, end_ns=T + 10, limit=1_000,
                         direction=LogDirection.BACKWARD)  # fmt: skip
        best = float("inf")
        for _ in range(5):
            began = time.perf_counter()
            got = await client.query_range(query, most=5_000)
            best = min(best, time.perf_counter() - began)
        assert len(got.entries) == 1_000 and got.truncated  # the burst is said, read once
        return best

    cost_small, cost_huge = await cheapest(SMALL), await cheapest(HUGE)
    assert cost_huge < 4 * cost_small + 0.005, (cost_small, cost_huge)


class _Values:
    name = "loki"

    def __init__(self, values: list[str]) -> None:
        self.values = values

    async def get_json(self, path: str, params: Any = None, **_: Any) -> Any:
        return {"status": "success", "data": self.values}


def test_label_names_and_values_offered_for_completion_are_cut_as_labels_are() -> None:
    huge = "a" * 4_000_000
    client = LokiClient(_Values([huge, huge + "b", "shop"]), "c")  # type: ignore[arg-type]
    for got in (asyncio.run(client.label_values("k8s_namespace_name")),
                asyncio.run(client.labels())):  # fmt: skip
        assert got == ["a" * MAX_ATTRIBUTE_CHARS, "shop"]  # the same once cut: offered once
        assert got.answered == 3  # what Loki answered, as before
    assert MOST_COMPLETIONS == 100_000  # and their count is bounded (test_loki_labels_bound)


def _b64(n: int) -> str:
    return base64.b64encode(bytes([1]) * n).decode()


def test_span_and_event_attribute_names_are_cut_as_their_values_are() -> None:
    name = "k" * 5_000_000
    span = {"traceId": _b64(16), "spanId": _b64(8), "name": "GET /cart",
            "startTimeUnixNano": str(T), "endTimeUnixNano": str(T + 100_000_000),
            "attributes": [{"key": name, "value": {"stringValue": "v" * 5_000_000}}],
            "events": [{"name": "exception", "timeUnixNano": str(T + 1),
                        "attributes": [{"key": name, "value": {"stringValue": "x"}}]}]}  # fmt: skip
    payload = {"batches": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "shop"}}]},
        "scopeSpans": [{"spans": [span]}]}]}  # fmt: skip
    (got,) = parse_trace(payload, "01" * 16, "c").spans
    assert got.attributes == {"k" * MAX_ATTRIBUTE_CHARS: "v" * MAX_ATTRIBUTE_CHARS}
    assert got.events[0].attributes == {"k" * MAX_ATTRIBUTE_CHARS: "x"}


class _Where(Resume):
    """A Resume that notes the thread each ``fresh`` runs in."""

    def __init__(self) -> None:
        super().__init__(None)
        self.threads: list[threading.Thread] = []

    def fresh(self, entries: list[LogEntry]) -> list[LogEntry]:
        self.threads.append(threading.current_thread())
        return super().fresh(entries)


@pytest.mark.asyncio
@pytest.mark.parametrize("lines", [6_000, 80_000])  # some 290 KB; near the most a frame is
async def test_a_big_tail_frame_of_short_lines_is_read_and_sorted_off_the_event_loop(
    lines: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A frame's cost is its lines, not only its bytes: a 1 MB frame of 25,000 short lines
    was read on the loop (0.3 s), and a 4 MB one's 150,000 told from those shown there (0.4
    s)."""
    parsed_in: list[threading.Thread] = []

    def parse(message: str | bytes, cluster: str) -> TailBatch:
        parsed_in.append(threading.current_thread())
        return parse_frame(message, cluster)

    monkeypatch.setattr(loki_tail, "parse_frame", parse)
    frame = _frame(SMALL, lines)
    assert len(frame) <= loki_tail.MAX_FRAME_BYTES
    resume = _Where()
    shown = loki_tail._Shown(None, LokiPaths(), '{app="shop"}', "c", None, 100, resume)  # type: ignore[arg-type]
    (batch,) = await shown.frame(frame)
    assert len(batch.entries) == lines
    assert threading.current_thread() not in (*parsed_in, *resume.threads)
