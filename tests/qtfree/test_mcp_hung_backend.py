"""The fleet-wide tools (GPUs, PTP, DPDK, CNF workloads, SR-IOV) when one cluster's backend
accepts the connection and never answers: its reads held the whole tool to the tool box's
deadline, and the engineer lost every healthy cluster's answer with it ("did not finish within
30 s"). Each cluster's Prometheus (a fleet hub's once) and its Kubernetes API are waited for
SOURCE_READ_S, the late one said unread with why, the others' rows whole. Real sockets on
127.0.0.1: a small Prometheus API, and servers that hold every connection without a word."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from aiops_desktop.models import ClusterKind, EndpointKind
from aiops_desktop.models.metrics import DEFAULT_PARALLEL_QUERIES
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.assistant import tools
from aiops_desktop.services.assistant.toolbox import CALL_TIMEOUT_S, ToolBox
from aiops_desktop.services.core import Core
from aiops_desktop.services.kube import session
from aiops_desktop.settings import resolve_paths
from collectors.kubernetes import ENDS_WITHIN_S
from collectors.prometheus import PromResult
from tests.memory_keyring import MemoryKeyring
from tests.servers.faults import self_signed

PROM = EndpointKind.PROMETHEUS
#: the per-cluster wait in these tests, and the tool box's deadline far above it
WITHIN_S = 0.5
BOX_S = 6.0
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def _serving(
    handle: Handler, tls: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[str, list[int]]]:
    """``handle`` on a port of 127.0.0.1 (over ``tls``: an https URL): its URL, and how many
    connections it took. On the way out every connection is closed and its handler waited
    for: nothing is left."""
    held: dict[asyncio.StreamWriter, asyncio.Task[Any]] = {}
    taken = [0]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        held[writer] = task
        taken[0] += 1
        try:
            await handle(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}", taken
    finally:
        server.close()
        for writer in list(held):
            writer.close()
        await asyncio.gather(*held.values(), return_exceptions=True)
        await server.wait_closed()


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts, reads what is sent, never answers (until the client goes)."""
    while await reader.read(65536):
        pass


def _labels(uuid: str) -> dict[str, str]:
    """One GPU, one PTP port, one VF and one DPDK port of a node: every reader finds a row."""
    return {
        "Hostname": "gpu-node-1", "gpu": "0", "UUID": uuid, "modelName": "NVIDIA H100",
        "node": "worker-0", "iface": "ens1f0", "process": "ptp4l", "pciAddr": "0000:3b:00.2",
        "pf": "ens1f0", "vf": "0", "port": "0", "namespace": "vdu", "pod": "du-0",
    }  # fmt: skip


class _Prometheus:
    """A Prometheus API answering every query with one series per cluster in ``members``
    (labelled ``cluster`` when it serves several: a fleet hub), each query asked counted."""

    def __init__(self, *members: str, hub: bool = False) -> None:
        self.members, self.hub = members, hub
        self.asked: Counter[tuple[str, str]] = Counter()  # (path, query)

    def _series(self, path: str, promql: str) -> list[dict[str, Any]]:
        if "XID" in promql:  # no XID: the GPUs are healthy
            return []
        now = time.time()
        out: list[dict[str, Any]] = []
        for member in self.members:
            metric = _labels(f"GPU-{member}-0") | ({"cluster": member} if self.hub else {})
            if path.endswith("query_range"):
                out.append({"metric": metric, "values": [[now - 15, "1"], [now, "1"]]})
            else:
                out.append({"metric": metric, "value": [now, "1"]})
        return out

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            path = head[0].split(" ")[1]
            sizes = [line.split(":", 1)[1] for line in head[1:]
                     if line.lower().startswith("content-length:")]  # fmt: skip
            form = parse_qs((await reader.readexactly(int(sizes[0]) if sizes else 0)).decode())
            promql = form.get("query", [""])[0]
            self.asked[path, promql] += 1
            kind = "matrix" if path.endswith("query_range") else "vector"
            body = json.dumps({"status": "success", "data": {
                "resultType": kind, "result": self._series(path, promql)}}).encode()  # fmt: skip
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))  # fmt: skip
            await writer.drain()


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, str]:
    """A Kubernetes API's TLS, and its (self-signed) certificate, which its clusters trust:
    the silent API server takes the handshake, then says nothing."""
    cert, key = self_signed(tmp_path / "tls")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context, cert.read_text()


@asynccontextmanager
async def _core(tmp_path: Path, *specs: ClusterSpec) -> AsyncIterator[Core]:
    core = Core.open(resolve_paths(tmp_path / "home"), secrets=SecretStore(MemoryKeyring()))
    try:
        for spec in specs:
            await core.registry.add(spec)
        yield core
    finally:
        await core.shutdown()


async def _answer(core: Core, name: str) -> tuple[dict[str, Any], float]:
    """The tool's answer (it must be one, not the tool box's deadline) and its seconds."""
    started = time.monotonic()
    out = await ToolBox(core, tools.all_tools(), timeout_s=BOX_S).call(name, {})
    took = time.monotonic() - started
    assert not out.is_error, out.content
    result: dict[str, Any] = json.loads(out.content)["result"]
    return result, took


@pytest.fixture
def _small_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    # the slowest tools, well within the tool's deadline: Prometheus, then the Kubernetes
    # API (a read given up takes its client up to ENDS_WITHIN_S to end); the PtpConfigs, then
    # Prometheus
    slowest = max(tools.SOURCE_READ_S * 2 + ENDS_WITHIN_S,
                  session.PROFILES_WITHIN_S + ENDS_WITHIN_S + tools.SOURCE_READ_S)  # fmt: skip
    assert slowest <= CALL_TIMEOUT_S - 5
    monkeypatch.setattr(tools, "SOURCE_READ_S", WITHIN_S)
    monkeypatch.setattr(session, "PROFILES_WITHIN_S", WITHIN_S)


#: what each tool lists, and the cluster of each row
ROWS = {
    "get_gpu_nodes": "nodes", "get_gpu_processes": None, "get_gpu_summary": None,
    "get_ptp_status": "ports", "get_dpdk_stats": "ports", "get_cnf_workloads": "workloads",
    "get_sriov_status": "vfs",
}  # fmt: skip


@pytest.mark.asyncio
@pytest.mark.usefixtures("_small_waits")
@pytest.mark.parametrize("name", list(ROWS))
async def test_one_silent_prometheus_and_api_leave_the_other_clusters_answer(
    name: str, tmp_path: Path, tls: tuple[ssl.SSLContext, str]
) -> None:
    """site-a answers; site-b's Prometheus and site-c's Kubernetes API (nvidia-smi, SR-IOV
    objects, PtpConfigs) accept and never answer."""
    site_a = _Prometheus("site-a")
    async with (
        _serving(site_a) as (healthy, _),
        _serving(_silent) as (silent, silent_asked),
        _serving(_silent, tls[0]) as (silent_api, _),
        _core(tmp_path,
              ClusterSpec(name="site-a", endpoint_urls={PROM: healthy}),
              ClusterSpec(name="site-b", endpoint_urls={PROM: silent}),
              ClusterSpec(name="site-c", api_server_url=silent_api, ca_bundle_pem=tls[1])) as core,
    ):  # fmt: skip
        doc, took = await _answer(core, name)
    assert took < BOX_S / 2, took
    # asked once at most for each of its reads in flight at once: late, it is asked no more
    assert silent_asked[0] <= DEFAULT_PARALLEL_QUERIES, silent_asked
    unread = doc["unread"]
    assert f"site-b: Prometheus did not answer within {WITHIN_S:g} s" in unread, unread
    if name.startswith("get_gpu"):  # site-c has no Prometheus: nvidia-smi in its driver pods
        assert any(u.startswith("site-c: nvidia-smi: ") and f"within {WITHIN_S:g} s" in u
                   for u in unread), unread  # fmt: skip
    if name in ("get_cnf_workloads", "get_sriov_status"):
        assert any(u.startswith("site-c: ") and f"within {WITHIN_S:g} s" in u
                   for u in unread), unread  # fmt: skip
    if name == "get_ptp_status":
        assert any(u.startswith("site-c: PtpConfig") for u in unread), unread
    key = ROWS[name]
    if key is not None:
        assert {row["cluster"] for row in doc[key]} == {"site-a"}, doc
    elif name == "get_gpu_summary":
        assert doc["gpus"] == 1 and doc["models"] == {"NVIDIA H100": 1}, doc
    else:
        assert doc["gpus"] == 1, doc


@pytest.mark.asyncio
@pytest.mark.usefixtures("_small_waits")
@pytest.mark.parametrize("name", ["get_gpu_nodes", "get_gpu_summary", "get_ptp_status",
                                  "get_dpdk_stats"])  # fmt: skip
async def test_a_fleet_hub_is_read_once_for_its_members_beside_a_silent_cluster(
    name: str, tmp_path: Path, tls: tuple[ssl.SSLContext, str]
) -> None:
    """ran-hub serves east-1 and west-2; east-1 is registered too, by its Kubernetes API
    alone: its GPUs are the hub's series, not asked of nvidia-smi; site-b never answers."""
    hub = _Prometheus("east-1", "west-2", hub=True)
    async with (
        _serving(hub) as (hub_url, _),
        _serving(_silent) as (silent, _),
        _serving(_silent, tls[0]) as (east_api, east_asked),
        _core(
            tmp_path,
            ClusterSpec(name="ran-hub", kind=ClusterKind.FLEET, endpoint_urls={PROM: hub_url}),
            ClusterSpec(name="east-1", api_server_url=east_api, ca_bundle_pem=tls[1]),
            ClusterSpec(name="site-b", endpoint_urls={PROM: silent}),
        ) as core,  # fmt: skip
    ):
        doc, took = await _answer(core, name)
    assert took < BOX_S / 2, took
    unread = [f"site-b: Prometheus did not answer within {WITHIN_S:g} s"]
    if name == "get_ptp_status":  # east-1's API is silent: its PtpConfigs too
        unread.append(f"east-1: PtpConfig profiles not read within {WITHIN_S:g} s")
    assert doc["unread"] == unread, doc["unread"]
    assert max(hub.asked.values()) == 1, hub.asked  # each query once, not once per member
    if name.startswith("get_gpu"):
        assert east_asked == [0]  # east-1's GPUs came from the hub: no nvidia-smi
    if name == "get_gpu_summary":
        assert doc["gpus"] == 2, doc
    else:
        rows = doc["nodes" if name == "get_gpu_nodes" else "ports"]
        assert sorted(row["cluster"] for row in rows) == ["east-1", "west-2"], rows


class _SlowPrometheus(_Prometheus):
    """Answers each query, each just inside the wait: never late by one read."""

    def __init__(self, *members: str, delay_s: float) -> None:
        super().__init__(*members)
        self.delay_s = delay_s

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await super().__call__(_Delayed(reader, self.delay_s), writer)  # type: ignore[arg-type]


class _Delayed:
    """A reader whose every request is read ``delay_s`` late: each answer comes that late."""

    def __init__(self, reader: asyncio.StreamReader, delay_s: float) -> None:
        self._reader, self._delay_s = reader, delay_s

    async def readuntil(self, separator: bytes) -> bytes:
        head = await self._reader.readuntil(separator)
        await asyncio.sleep(self._delay_s)
        return head

    async def readexactly(self, n: int) -> bytes:
        return await self._reader.readexactly(n)


@pytest.mark.asyncio
@pytest.mark.usefixtures("_small_waits")
async def test_a_prometheus_answering_each_read_just_in_time_is_late_once_its_wait_is_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GPU fields are two dozen reads of a cluster, ten at a time: one that answers each
    just inside the wait took three rounds of it; all reads of a call end within
    CLUSTER_READ_S."""
    monkeypatch.setattr(tools, "CLUSTER_READ_S", WITHIN_S * 2)
    slow = _SlowPrometheus("site-b", delay_s=WITHIN_S * 0.8)
    async with (
        _serving(_Prometheus("site-a")) as (healthy, _),
        _serving(slow) as (slow_url, _),
        _core(tmp_path,
              ClusterSpec(name="site-a", endpoint_urls={PROM: healthy}),
              ClusterSpec(name="site-b", endpoint_urls={PROM: slow_url})) as core,
    ):  # fmt: skip
        doc, took = await _answer(core, "get_gpu_nodes")
    # late by one read (a read queued behind the others on its connection) or by the call's
    # wait: either way said, and the call ends within the call's wait
    assert any(u.startswith("site-b: Prometheus ") for u in doc["unread"]), doc
    assert took < WITHIN_S * 4, took  # within the call's wait, not a round of waits per ten
    assert "site-a" in {row["cluster"] for row in doc["nodes"]}, doc


@pytest.mark.asyncio
async def test_a_tools_reads_share_the_apps_bound_on_each_prometheus(tmp_path: Path) -> None:
    """The GPU page and two tool calls at once send one Prometheus no more reads than the
    page alone: a tool's reads count in the app's per-cluster bound (each call's own engine
    had one of its own: 30 in flight)."""
    in_flight, most = 0, 0

    class Client:
        async def _read(self, *_a: Any, **_k: Any) -> PromResult:
            nonlocal in_flight, most
            in_flight += 1
            most = max(most, in_flight)
            try:
                await asyncio.sleep(0.05)
            finally:
                in_flight -= 1
            return PromResult("vector", [], [])

        query = query_range = _read

    async def prometheus(_cluster: Any) -> Client:
        return Client()

    async with _core(
        tmp_path, ClusterSpec(name="site-a", endpoint_urls={PROM: "http://127.0.0.1:9"})
    ) as core:
        core.pool.prometheus = prometheus  # type: ignore[method-assign,assignment]
        box = ToolBox(core, tools.all_tools(), timeout_s=BOX_S)
        await asyncio.gather(core.gpu_cnf.gpu_fleet(), box.call("get_gpu_nodes", {}),
                             box.call("get_gpu_summary", {}))  # fmt: skip
    assert most == DEFAULT_PARALLEL_QUERIES
