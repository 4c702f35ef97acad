"""The assistant's tools, as a fifth review found them: a sample time past year 9999 (finite:
1e20 s) failed the tool with an exception the tool box did not catch (over MCP a JSON-RPC error
with its raw words, in the chat a traceback), get_metric_labels parsed 200,000 series' labels
on the event loop (the Qt thread), an IP address across a log line's 500-character cut went
out in part, get_gpu_processes called a node on a cluster not read a wrong name, ``chat
--tool`` forced a tool its persona does not offer, and a headless server (``aiops-desktop
mcp``) answered list_alerts and list_incidents from its first read for the life of the
process."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import pytest

from aiops_desktop.models.cnf import DpdkPortRow
from aiops_desktop.models.enums import EndpointKind, QueryStatus
from aiops_desktop.models.gpu import GpuFleet, GpuHealth, GpuReading, GpuState
from aiops_desktop.models.metrics import ClusterOutcome, PromSeries, QueryAnswer, TaggedSeries
from aiops_desktop.models.observability import LogEntry, LogResult, LogSeries
from aiops_desktop.models.polling import SourceStatus
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.assistant import tools
from aiops_desktop.services.assistant.chat import ChatService
from aiops_desktop.services.assistant.toolbox import REDACTING_IPS, Tool, ToolBox, ToolInput
from aiops_desktop.services.core import Core
from aiops_desktop.settings import PollerSettings, resolve_paths
from aiops_desktop.store.chats import ChatRepository
from collectors.http import HttpPolicy
from collectors.llm import LlmClient, LlmEndpoint
from tests.memory_keyring import MemoryKeyring
from tests.qtfree.cli_runner import call_main

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
#: finite, and past what a datetime holds (year 9999)
FAR_FUTURE_S = 1e20


class _NoArgs(ToolInput):
    pass


def _box_of(run: Any, **more: Any) -> ToolBox:
    return ToolBox(None, [Tool("query_metrics", "d", _NoArgs, run)], **more)  # type: ignore[arg-type]


# -- 2: a time past year 9999 is no time; any exception is a tool error ----------------------
def test_a_time_past_year_9999_is_no_time() -> None:
    assert tools._iso(FAR_FUTURE_S) is None
    assert tools._iso(-FAR_FUTURE_S) is None
    assert tools._iso(1_700_000_000.0) == "2023-11-14T22:13:20+00:00"


@pytest.mark.asyncio
async def test_query_metrics_over_a_far_future_sample_answers_its_value() -> None:
    series = TaggedSeries("site-a", PromSeries({"__name__": "up"}, np.array([FAR_FUTURE_S]),
                                               np.array([1.0])))  # fmt: skip

    async def run(query: Any, clusters: Any) -> QueryAnswer:
        return QueryAnswer(query, QueryStatus.SUCCESS, [series], [], 1.0)

    core = SimpleNamespace(
        catalog=[], capture=None, now=lambda: NOW, queries=SimpleNamespace(run=run),
        console=SimpleNamespace(targets=lambda names: ([SimpleNamespace(name="site-a")], None)),
    )  # fmt: skip
    out = await ToolBox(core, tools.all_tools()).call("query_metrics", {"promql": "up"})  # type: ignore[arg-type]
    assert not out.is_error, out.content
    (row,) = json.loads(out.content)["result"]["series"]
    assert row["last"] == 1.0 and row["last_at"] is None  # no date is that late


@pytest.mark.asyncio
async def test_an_unexpected_exception_is_a_redacted_tool_error_its_traceback_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJub2Mtb3BzIn0.Qm9ndXNTaWduYXR1cmVYeXo"

    async def run(core: Any, args: Any) -> Any:
        raise ArithmeticError(f"the server said Authorization: {secret}")

    with caplog.at_level(logging.WARNING, logger="aiops.assistant.tools"):
        out = await _box_of(run).call("query_metrics", {})
    assert out.is_error
    assert out.content.startswith("query_metrics failed: ArithmeticError"), out.content
    assert "eyJzdWIiOiJub2Mtb3BzIn0" not in out.content
    (record,) = [r for r in caplog.records if r.exc_info]
    assert record.exc_info is not None and record.exc_info[0] is ArithmeticError


@pytest.mark.asyncio
async def test_a_cancelled_call_is_cancelled_not_a_tool_error() -> None:
    async def run(core: Any, args: Any) -> Any:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await _box_of(run).call("query_metrics", {})


# -- 3 and 5: query_logs (an address at the cut; a far-future series) ------------------------
LINE = "x" * 486 + " peer 10.20.30.40 refused the connection"


def _logs_core(answer: LogResult) -> Any:
    async def logs(name: str, logql: str, **kwargs: Any) -> LogResult:
        return answer

    cluster = SimpleNamespace(name="site-a", endpoint=lambda kind: kind is EndpointKind.LOKI)
    return SimpleNamespace(
        registry=SimpleNamespace(clusters=lambda: [cluster]), capture=None, now=lambda: NOW,
        logs_traces=SimpleNamespace(logs=logs),
    )  # fmt: skip


@pytest.mark.asyncio
async def test_an_address_across_a_log_lines_cut_is_redacted_whole() -> None:
    entry = LogEntry(cluster="site-a", timestamp_ns=1_700_000_000_000_000_000, line=LINE)
    core = _logs_core(LogResult(entries=[entry]))
    out = await ToolBox(core, tools.all_tools(), redact_ips=True).call(
        "query_logs", {"logql": '{app="du"}'}
    )
    assert not out.is_error, out.content
    (row,) = json.loads(out.content)["result"]["lines"]
    assert "10.20" not in row["line"] and row["line"].endswith(" peer [IP] ref"), row["line"]
    # without redact_ips (the chat's, whose model client redacts): the line as it was
    kept = await ToolBox(core, tools.all_tools()).call("query_logs", {"logql": '{app="du"}'})
    assert "peer 10.20.30" in json.loads(kept.content)["result"]["lines"][0]["line"]


def _sse_call(name: str, arguments: dict[str, Any]) -> bytes:
    call = {"index": 0, "id": "call_0", "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)}}  # fmt: skip
    chunk = {"choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]}
    end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
    return f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode()


def _sse_text(text: str) -> bytes:
    chunk = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    return f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode()


@pytest.mark.asyncio
async def test_the_chat_s_ip_redaction_reaches_the_texts_its_tools_cut(sample_core: Core) -> None:
    """The chat's tool box has no IP redaction of its own (its model client replaces the
    addresses), but the client's came after the tool's cut: a split address was sent."""
    entry = LogEntry(cluster="site-a", timestamp_ns=1_700_000_000_000_000_000, line=LINE)
    box = ToolBox(_logs_core(LogResult(entries=[entry])), tools.all_tools())
    sent: list[bytes] = []
    replies = iter([_sse_call("query_logs", {"logql": '{app="du"}'}), _sse_text("Done.")])

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)
        return httpx.Response(200, content=next(replies))

    async def client() -> LlmClient:
        return LlmClient(LlmEndpoint("http://127.0.0.1:9/v1", "m", redact_ips=True),
                         transport=httpx.MockTransport(handler))  # fmt: skip

    chat = ChatService(box, ChatRepository(sample_core.db), client)
    await chat.ask(chat.new_session(), "what did the DU log?")
    assert len(sent) == 2 and b"peer [IP] ref" in sent[1], sent[1][-400:]
    assert b"10.20" not in sent[1]
    assert REDACTING_IPS.get() is False  # set for the turn only


@pytest.mark.asyncio
async def test_a_log_metric_series_at_a_far_future_time_is_summarised() -> None:
    series = LogSeries(labels={"app": "du"}, points=[(FAR_FUTURE_S, 3.0)])
    out = await ToolBox(_logs_core(LogResult(series=[series])), tools.all_tools()).call(
        "query_logs", {"logql": 'count_over_time({app="du"}[5m])'}
    )
    assert not out.is_error, out.content
    (row,) = json.loads(out.content)["result"]["series"]
    assert row["last"] == 3.0 and row["last_at"] is None


# -- 3: get_metric_labels reads its rows off the event loop -----------------------------------
class _Rows(list[tuple[str, str]]):
    """The stored series' rows, noting the threads they are read in."""

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__(rows)
        self.read_in: set[int] = set()

    def __iter__(self) -> Iterator[tuple[str, str]]:
        self.read_in.add(threading.get_ident())
        return super().__iter__()


@pytest.mark.asyncio
async def test_get_metric_labels_parses_the_labels_off_the_event_loop() -> None:
    rows = _Rows([("site-a", json.dumps({"node": f"node-{i % 3}", "gpu": str(i)}))
                  for i in range(50)])  # fmt: skip
    core = SimpleNamespace(db=SimpleNamespace(fetch_all=lambda sql, params=(): rows), catalog=[])
    out = await ToolBox(core, tools.all_tools()).call(  # type: ignore[arg-type]
        "get_metric_labels", {"metric": "gpu_temperature", "max_values": 2}
    )
    assert not out.is_error, out.content
    doc = json.loads(out.content)["result"]
    assert doc["series"] == 50 and doc["clusters"] == ["site-a"]
    assert doc["labels"]["node"] == {"distinct": 3, "values": ["node-0", "node-1"]}
    assert doc["labels"]["gpu"]["distinct"] == 50
    assert rows.read_in and threading.get_ident() not in rows.read_in


# -- 4: a GPU node on a cluster not read ------------------------------------------------------
def _gpu_core() -> Any:
    gpu = GpuHealth(GpuReading("site-a", "gpu-1", "0", "GPU-1", pods=["ns/p"]), GpuState.OK,
                    [], False)  # fmt: skip
    down = ClusterOutcome("site-b", False, 8.0, reason="timeout",
                          error="Prometheus did not answer within 8 s")  # fmt: skip

    async def gpu_fleet() -> GpuFleet:
        return GpuFleet([gpu], [down])

    async def dataplane() -> Any:
        return [], [DpdkPortRow("site-a", "worker-0", "0")], [down]

    return SimpleNamespace(gpu_cnf=SimpleNamespace(gpu_fleet=gpu_fleet, dataplane=dataplane),
                           capture=None)  # fmt: skip


@pytest.mark.asyncio
async def test_get_gpu_processes_says_a_node_may_be_on_a_cluster_not_read() -> None:
    box = ToolBox(_gpu_core(), tools.all_tools())
    out = await box.call("get_gpu_processes", {"node": "gpu-7"})
    assert not out.is_error, out.content
    doc = json.loads(out.content)["result"]
    assert doc["gpus"] == 0 and doc["gpus_with_pods"] == []
    assert (
        "no node named 'gpu-7' has GPUs in the clusters read (those that do: gpu-1)"
        in (doc["note"])
    )
    assert "site-b: Prometheus did not answer within 8 s" in doc["note"]
    # on a node it has: no such note
    doc = json.loads((await box.call("get_gpu_processes", {"node": "gpu-1"})).content)["result"]
    assert doc["gpus"] == 1 and "no node named" not in doc["note"]


@pytest.mark.asyncio
async def test_get_gpu_processes_refuses_a_node_none_has_where_all_were_read() -> None:
    core = _gpu_core()

    async def gpu_fleet() -> GpuFleet:
        return GpuFleet([GpuHealth(GpuReading("site-a", "gpu-1", "0", "GPU-1"), GpuState.OK,
                                   [], False)], [])  # fmt: skip

    core.gpu_cnf.gpu_fleet = gpu_fleet
    out = await ToolBox(core, tools.all_tools()).call("get_gpu_processes", {"node": "gpu-7"})
    assert out.is_error
    assert "no node named 'gpu-7' has GPUs; those that do: gpu-1" in out.content


# -- 6: chat --tool takes the persona's tools ---------------------------------------------------
def test_chat_refuses_a_tool_its_persona_does_not_offer(tmp_path: Path) -> None:
    code, _, err = call_main(tmp_path / "home", "chat", "--persona", "gpu-expert", "--tool",
                             "get_ptp_status", "PTP state?")  # fmt: skip
    assert code == 2, err
    assert "the persona gpu-expert does not offer 'get_ptp_status'" in err, err
    assert "get_gpu_nodes" in err and "no LLM" not in err
    code, _, err = call_main(tmp_path / "home", "chat", "--tool", "nope", "x")
    assert code == 2 and "no tool 'nope'; the tools are: list_clusters" in err, err
    assert "(the persona default's)" in err


# -- 1: a headless server reads its sources again ---------------------------------------------
#: the poller at 1/50 of its speed: alerts every 0.2 s, a cluster's other sources every 0.6 s
FAST = PollerSettings(speed=0.02, timeout_s=3)


class _Alertmanager:
    """An Alertmanager's v2 API on 127.0.0.1 firing ``firing`` (its names); ``down``: it
    answers 503."""

    def __init__(self) -> None:
        self.firing = ["NodeDown"]
        self.down = False
        self.late_s = 0.0  # how long it takes to answer
        self.asked = 0
        self.serving: dict[asyncio.StreamWriter, asyncio.Task[Any]] = {}

    def _alerts(self) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        return [{
            "labels": {"alertname": name, "severity": "critical"},
            "annotations": {"summary": f"{name} fired"},
            "startsAt": (now - timedelta(minutes=1)).isoformat(),
            "endsAt": (now + timedelta(hours=1)).isoformat(), "updatedAt": now.isoformat(),
            "fingerprint": name, "receivers": [{"name": "x"}], "generatorURL": "http://x",
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
        } for name in self.firing]  # fmt: skip

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.serving[writer] = task
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                path = head.split(" ", 2)[1]
                if path.startswith("/api/v2/alerts") and not path.startswith("/api/v2/alerts/"):
                    self.asked += 1
                await asyncio.sleep(self.late_s)
                status, body = ("503 Service Unavailable", b"down") if self.down else (
                    "200 OK", json.dumps(self._alerts() if path.startswith("/api/v2/alerts")
                                         else []).encode())  # fmt: skip
                writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(body)}\r\n\r\n".encode() + body)  # fmt: skip
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def _site(tmp_path: Path, manager: _Alertmanager) -> AsyncIterator[Core]:
    """A Core (the poller fast) with site-a, whose Alertmanager is ``manager``."""
    server = await asyncio.start_server(manager, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    policy = HttpPolicy(connect_timeout_s=1, read_timeout_s=2, retries=0)
    core = Core.open(resolve_paths(tmp_path / "home"), secrets=SecretStore(MemoryKeyring()),
                     poller_settings=FAST, http_policy=policy)  # fmt: skip
    try:
        await core.registry.add(
            ClusterSpec(name="site-a", endpoint_urls={EndpointKind.ALERTMANAGER: url})
        )
        yield core
    finally:
        await core.shutdown()
        server.close()
        for writer in list(manager.serving):  # each connection ended, its handler waited for
            writer.close()
        await asyncio.gather(*manager.serving.values(), return_exceptions=True)
        await server.wait_closed()


async def _result(box: ToolBox, name: str, **arguments: Any) -> dict[str, Any]:
    out = await box.call(name, arguments)
    assert not out.is_error, out.content
    result: dict[str, Any] = json.loads(out.content)["result"]
    return result


@pytest.mark.asyncio
async def test_a_headless_server_reads_the_alerts_again_once_their_interval_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tools, "REGROUP_EVERY", timedelta(0))  # each call groups again
    manager = _Alertmanager()
    async with _site(tmp_path, manager) as core:
        box = ToolBox(core, tools.all_tools(), timeout_s=10)
        doc = await _result(box, "list_alerts")
        assert [a["name"] for a in doc["alerts"]] == ["NodeDown"] and doc["unread"] == []
        incidents = await _result(box, "list_incidents")
        assert [i["title"] for i in incidents["incidents"]] == ["site-a: NodeDown: NodeDown fired"]

        manager.firing = ["PtpHoldover"]  # NodeDown resolved, PtpHoldover fires
        asked = manager.asked
        doc = await _result(box, "list_alerts")  # within the interval: as read
        assert [a["name"] for a in doc["alerts"]] == ["NodeDown"] and manager.asked == asked
        await asyncio.sleep(0.7)  # past every source's interval: read again, not waited for
        doc = await _result(box, "list_alerts")
        if doc["alerts"][0]["name"] == "NodeDown":  # as read before, said so
            assert doc["unread"] and "s ago, not since (being read again)" in doc["unread"][0]
        doc = await _answered(box, lambda d: d["alerts"][0]["name"] == "PtpHoldover")
        assert [a["name"] for a in doc["alerts"]] == ["PtpHoldover"], doc
        await asyncio.sleep(0.7)
        incidents = await _result(box, "list_incidents")
        # the new alert's incident (the ended one's resolves once quiet for RESOLVE_AFTER)
        open_ = [i["title"] for i in incidents["incidents"] if i["state"] == "OPEN"]
        assert "site-a: PtpHoldover: PtpHoldover fired" in open_, incidents
        # at most read again now (not waited for), none failed
        assert all("(being read again)" in u for u in incidents["unread"]), incidents

        manager.down = True  # read again, and it fails: the alerts as last read, said how old
        await asyncio.sleep(0.7)
        doc = await _answered(box, lambda d: "503" in "".join(d["unread"]))
        assert [a["name"] for a in doc["alerts"]] == ["PtpHoldover"]
        (said,) = doc["unread"]
        assert said.startswith("site-a/alerts: as read ") and " s ago, not since (" in said, said
        assert "503" in said, said
        await asyncio.sleep(0.7)
        incidents = await _result(box, "list_incidents")
        said_of = [u for u in incidents["unread"] if u.startswith("site-a/alerts")]
        assert len(said_of) == 1 and " s ago, not since (" in said_of[0], incidents["unread"]


async def _answered(box: ToolBox, answered: Any) -> dict[str, Any]:
    """list_alerts asked until its answer is ``answered`` (a re-read is not waited for)."""
    for _ in range(100):
        doc = await _result(box, "list_alerts")
        if answered(doc):
            return doc
        await asyncio.sleep(0.02)
    raise AssertionError(doc)


@pytest.mark.asyncio
async def test_the_windows_poller_feeds_the_tools_they_read_nothing_themselves(
    tmp_path: Path,
) -> None:
    manager = _Alertmanager()
    async with _site(tmp_path, manager) as core:
        core.poller.start()
        for _ in range(100):
            if core.poller.alerts.get("site-a"):
                break
            await asyncio.sleep(0.05)
        box = ToolBox(core, tools.all_tools(), timeout_s=10)
        await asyncio.sleep(0.5)
        doc = await _result(box, "list_alerts")
        assert [a["name"] for a in doc["alerts"]] == ["NodeDown"]
        await _result(box, "list_incidents")
        assert not {"poll", "alerts"} & set(tools._READS.get(core.poller, {}))


class _EmptyPoller:
    """A poller with nothing to read yet (no cluster registered), counting its polls."""

    def __init__(self) -> None:
        self.status: dict[tuple[str, str], SourceStatus] = {}
        self.polls = 0

    async def poll_once(self) -> list[SourceStatus]:
        self.polls += 1
        return []


@pytest.mark.asyncio
async def test_a_first_poll_of_no_cluster_leaves_the_reads_to_the_windows_poller() -> None:
    core = SimpleNamespace(capture=None, poller=_EmptyPoller())
    assert await tools._polled(core) == []  # type: ignore[arg-type]
    assert core.poller.polls == 1
    # a cluster added in the window: its poller reads it, and goes on reading it
    now = datetime.now(UTC)
    read = SourceStatus("site-a", "metrics", 0.01, polls=1, last_attempt=now, last_success=now)
    core.poller.status = {("site-a", "metrics"): read}
    await asyncio.sleep(0.05)  # past its interval: the window's poller's to read again
    assert await tools._polled(core) == []  # type: ignore[arg-type]
    assert core.poller.polls == 1


# -- review 6: a headless process reads each source at its own interval, never waits again,
# a chat's addresses are replaced before the box's cut, and a GPU node is looked for only in
# the clusters asked about
@pytest.mark.asyncio
async def test_a_headless_server_reads_each_source_at_its_own_interval_and_alerts_once(
    tmp_path: Path,
) -> None:
    async with _site(tmp_path, _Alertmanager()) as core:
        box = ToolBox(core, tools.all_tools(), timeout_s=10)
        loop = asyncio.get_running_loop()
        began = loop.time()
        while loop.time() - began < 1.3:  # an agent calling tools again and again
            await tools._polled(core)
            await _result(box, "list_alerts")
            await asyncio.sleep(0.02)
        polls = {source: s.polls for (_, source), s in core.poller.status.items()}
        # the health check every 0.6 s: the first poll and two more (every source at the
        # alerts' 0.2 s: 7); the alerts every 0.2 s, by the polls alone (twice as often)
        assert polls["health"] <= 3, polls
        assert 3 <= polls["alerts"] <= 8, polls


@pytest.mark.asyncio
async def test_a_headless_server_waits_for_its_first_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tools, "FIRST_POLL_S", 0.3)
    manager = _Alertmanager()
    manager.late_s = 0.5  # slow: each read of it takes longer than a call waits
    async with _site(tmp_path, manager) as core:
        loop = asyncio.get_running_loop()
        began = loop.time()
        pending = await tools._polled(core)
        assert loop.time() - began >= 0.25 and pending, pending  # the first read: waited
        first = tools._READS[core.poller]["poll"].task
        await asyncio.wait({first}, timeout=5)
        said = []
        for _ in range(3):  # each past the alerts' interval: read again, never waited for
            await asyncio.sleep(0.3)
            began = loop.time()
            said.append(await tools._polled(core))
            assert loop.time() - began < 0.15, said
        # what was stored, said how old
        assert any(s.startswith("site-a/alerts: as read ") and "being read again" in s
                   for s in said[0]), said  # fmt: skip


@pytest.mark.asyncio
async def test_the_chat_s_ip_redaction_comes_before_the_box_s_own_cut() -> None:
    summary = "x" * 1985 + " peer 10.20.30.40 refused"  # the address across char 2000

    async def run(core: Any, args: Any) -> dict[str, Any]:  # over MAX_RESULT_BYTES: cut
        return {"alerts": [{"name": f"A{i}", "summary": summary} for i in range(60)]}

    box = ToolBox(None, [Tool("list_alerts", "d", _NoArgs, run)])  # type: ignore[arg-type]
    redacting = REDACTING_IPS.set(True)  # the chat's, from its model's endpoint
    try:
        out = await box.call("list_alerts", {})
        refused = await box.call("nope", {"x": "10.20.30.41"})
    finally:
        REDACTING_IPS.reset(redacting)
    assert not out.is_error and "10.20.30" not in out.content, out.content[1900:2100]
    assert "x" * 1985 in out.content
    assert refused.is_error and "10.20.30" not in refused.content


def _scoped_gpu_core(hubs: dict[str, list[Any]]) -> Any:
    """site-a read (gpu-1), site-b not; ``hubs``: a member's hubs."""
    core = _gpu_core()
    site_a = SimpleNamespace(name="site-a")

    def targets(names: list[str]) -> Any:
        (name,) = names
        return ([site_a], None) if name == "site-a" else (hubs[name], [name])

    core.series = SimpleNamespace(cluster_names=lambda: ["site-a", "site-b"])
    core.registry = SimpleNamespace(targets=targets, members=lambda c, stored: [],
                                    hubs_of=lambda name: hubs.get(name, []))  # fmt: skip
    return core


@pytest.mark.asyncio
async def test_get_gpu_processes_looks_for_a_node_only_in_the_clusters_asked() -> None:
    box = ToolBox(_scoped_gpu_core({}), tools.all_tools())
    out = await box.call("get_gpu_processes", {"cluster": "site-a", "node": "gpu-l"})
    assert out.is_error, out.content  # site-b, not read, was not asked about
    assert "no node named 'gpu-l' has GPUs; those that do: gpu-1" in out.content
    assert "site-b" not in out.content


@pytest.mark.asyncio
async def test_get_gpu_processes_says_a_member_s_node_may_be_on_its_hub_not_read() -> None:
    core = _scoped_gpu_core({"edge-9": [SimpleNamespace(name="site-b")]})
    out = await ToolBox(core, tools.all_tools()).call(
        "get_gpu_processes", {"cluster": "edge-9", "node": "gpu-7"}
    )
    assert not out.is_error, out.content  # edge-9 is read through site-b, not read
    assert (
        "site-b: Prometheus did not answer within 8 s" in json.loads(out.content)["result"]["note"]
    )
