"""The Kubernetes client's bounds against a misbehaving API server: a 410 that repeats backs
off instead of relisting as fast as the server answers; a list's expired continue token starts
the list over once; time queued for a worker thread is not the server's; a list is bounded by
items, a watch event line by bytes (read in linear time), an exec's output by characters."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from collectors import kubernetes
from collectors.errors import (
    CollectorError,
    CollectorResponseTooLarge,
    CollectorTimeout,
    KubeGone,
)
from collectors.kube_config import kubeconfig_for_token
from collectors.kubernetes import KubeClient, WatchEvent, WatchState, _batches

Route = Callable[[str, dict[str, str]], tuple[int, Any]]
GONE = {
    "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired",
    "code": 410, "message": "The provided continue parameter is too old",
}  # fmt: skip


class FakeApi:
    """A plain-HTTP API server on 127.0.0.1, one thread a request, answering ``route``."""

    def __init__(self, route: Route) -> None:
        self.asked: list[tuple[str, dict[str, str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.asked.append((url.path, query))
                status, body = route(url.path, query)
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.close_connection = True  # its thread ends with the answer, not at gc
                self.send_header("Connection", "close")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                with contextlib.suppress(OSError):  # a client that gave up
                    self.wfile.write(raw)

        class Quiet(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 64  # every worker thread connects at once

            def handle_error(self, request: object, client_address: object) -> None:
                pass

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@contextlib.asynccontextmanager
async def serving(route: Route, **kw: Any) -> AsyncIterator[tuple[FakeApi, KubeClient]]:
    api = FakeApi(route)
    client = await KubeClient.open(kubeconfig_for_token(api.url, "t"), name="c1", **kw)
    try:
        yield api, client
    finally:
        await client.aclose()
        await asyncio.to_thread(api.close)


async def watch_for(
    client: KubeClient, seconds: float, backoff: tuple[float, ...], state: WatchState
) -> list[WatchEvent]:
    seen: list[WatchEvent] = []
    stop = asyncio.Event()

    async def consume() -> None:
        async for event in client.watch("/api/v1/events", state=state, stop=stop, backoff=backoff):
            seen.append(event)

    task = asyncio.create_task(consume())
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.wait_for(task, 10)
    return seen


def event_line(kind: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": kind, "object": obj}).encode() + b"\n"


# -- 1. a 410 ----------------------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.asyncio
async def test_a_watch_answered_410_at_once_backs_off_and_says_so() -> None:
    """A watch cache already past every list's version (ERROR 410 at once): one relist at
    once, then the backoff of any failure, noted. It listed 22 times in 2 s, nothing noted."""

    def route(path: str, query: dict[str, str]) -> tuple[int, Any]:
        if query.get("watch") == "true":
            return 200, event_line("ERROR", {**GONE, "message": "too old resource version"})
        return 200, {"items": [{"metadata": {"name": "e"}}], "metadata": {"resourceVersion": "5"}}

    state = WatchState()
    async with serving(route) as (api, client):
        seen = await watch_for(client, 1.2, (0.5,), state)
    lists = [q for _, q in api.asked if q.get("watch") != "true"]
    assert 2 <= len(lists) <= 5, len(lists)  # at once, then one each 0.5 s
    assert all(e.type == "RELISTED" for e in seen) and len(seen) == len(lists)
    assert state.errors and all("410" in e for e in state.errors)
    assert len(lists) - 1 <= state.relists <= len(lists)


@pytest.mark.integration
@pytest.mark.asyncio
async def test_an_expired_continue_token_starts_the_list_over_once() -> None:
    """client-go's pager: a 410 for a continue page lists again from the start (not the whole
    inventory failed); when that expires too, the watch backs off (it relisted for ever)."""
    expired: set[str] = {"tok-1"}  # the first list's token expires; the second's does not

    def route(path: str, query: dict[str, str]) -> tuple[int, Any]:
        token = query.get("continue")
        if token in expired:
            return 410, GONE
        if token is None:
            starts = sum(1 for _, q in api.asked if "continue" not in q)
            more = {"continue": f"tok-{starts}"}
            return 200, {"items": [{"metadata": {"name": "a"}}], "metadata": more}
        return 200, {"items": [{"metadata": {"name": "b"}}], "metadata": {"resourceVersion": "9"}}

    async with serving(route) as (api, client):
        items, version = await client.list("/api/v1/pods")
        assert [i["metadata"]["name"] for i in items] == ["a", "b"] and version == "9"
        assert [q.get("continue") for _, q in api.asked] == [None, "tok-1", None, "tok-2"]

        expired.update({f"tok-{n}" for n in range(50)})  # every token now expires
        api.asked.clear()
        with pytest.raises(KubeGone, match="410"):
            await client.list("/api/v1/pods")
        assert [q.get("continue") for _, q in api.asked] == [None, "tok-1", None, "tok-2"]

        api.asked.clear()
        state = WatchState()
        seen = await watch_for(client, 1.2, (0.5,), state)
    starts = sum(1 for _, q in api.asked if "continue" not in q)
    assert seen == [] and 2 <= starts <= 6, starts  # two a list, one list each 0.5 s
    assert state.errors and "410" in state.errors[0]


@pytest.mark.asyncio
async def test_a_410_after_events_lists_at_once_and_a_second_in_a_row_backs_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The usual 410 (a watch resumed past compaction, after events came): listed again at
    once, nothing noted. Two in a row with no event between: the second waits and is noted."""
    client = KubeClient.__new__(KubeClient)  # no API server: list and the watch are scripted
    client.name = "c1"
    script: list[str] = ["event", "gone", "event", "gone", "gone", "gone", "event"]
    lists: list[float] = []

    async def listing(path: str, **kw: object) -> tuple[list[dict[str, Any]], str]:
        lists.append(time.monotonic())
        return [], "1"

    async def watch_once(
        path: str, state: WatchState, stop: asyncio.Event, answered: list[float]
    ) -> Any:
        while script:
            step = script.pop(0)
            if step == "gone":
                raise KubeGone("c1: API server answered 410: too old", status=410)
            yield WatchEvent("ADDED", {"metadata": {"name": "e"}})
        stop.set()

    monkeypatch.setattr(client, "list", listing)
    monkeypatch.setattr(client, "_watch_once", watch_once)
    state = WatchState()
    kinds = [
        e.type
        async for e in client.watch(
            "/api/v1/events", state=state, stop=asyncio.Event(), backoff=(0.3, 0.6)
        )
    ]
    assert kinds == ["RELISTED", "ADDED", *["RELISTED", "ADDED"], *["RELISTED"] * 3, "ADDED"]
    gaps = [b - a for a, b in itertools.pairwise(lists)]
    # after an event: at once; a second 410 with no event between: 0.3 s, a third: 0.6 s
    assert gaps[0] < 0.1 and gaps[1] < 0.1, gaps
    assert 0.28 < gaps[2] < 0.5 and 0.58 < gaps[3] < 0.9, gaps
    assert len(state.errors) == 2 and state.relists == 4


# -- 2. the wait for a thread --------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.asyncio
async def test_time_queued_for_a_thread_is_not_the_servers() -> None:
    """32 calls on 8 threads, each answered in 0.5 s: 2 s in all, against a 1 s deadline
    a request. The deadline counted from when a call was queued: the last rounds failed
    'did not finish answering' though the server answered every request in half that."""

    def route(path: str, query: dict[str, str]) -> tuple[int, Any]:
        time.sleep(0.5)
        return 200, {"kind": "Pod", "metadata": {"name": path.rsplit("/", 1)[-1]}}

    async with serving(route, timeout_s=1, deadline_s=1.0) as (_api, client):
        answers = await asyncio.gather(
            *(client.get(f"/api/v1/namespaces/x/pods/p{i}") for i in range(32)),
            return_exceptions=True,
        )
    assert [a for a in answers if isinstance(a, BaseException)] == []
    assert sorted(a["metadata"]["name"] for a in answers) == sorted(f"p{i}" for i in range(32))  # type: ignore[index]


@pytest.mark.integration
@pytest.mark.asyncio
async def test_a_call_given_up_while_queued_is_never_sent() -> None:
    """A caller that stops waiting while its call waits for a thread: it ends at once, and
    the request is not sent when a thread frees up; one that keeps waiting is answered."""

    def route(path: str, query: dict[str, str]) -> tuple[int, Any]:
        time.sleep(0.6 if "/busy" in path else 0)
        return 200, {"metadata": {"name": path}}

    async with serving(route) as (api, client):
        busy = [
            asyncio.create_task(client.get(f"/api/v1/busy/{i}"))
            for i in range(kubernetes.KUBE_THREADS)
        ]
        await asyncio.sleep(0.1)  # every thread now waits on the server
        late = asyncio.create_task(client.get("/api/v1/late"))
        kept = asyncio.create_task(client.get("/api/v1/kept"))
        await asyncio.sleep(0.1)
        late.cancel()
        began = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await late
        assert time.monotonic() - began < 0.2  # not the 5 s a running request may take to end
        await asyncio.gather(*busy)
        assert (await kept)["metadata"]["name"] == "/api/v1/kept"
        await asyncio.sleep(0.2)
    paths = [p for p, _ in api.asked]
    assert "/api/v1/late" not in paths and "/api/v1/kept" in paths


# -- 3. lists and watch lines --------------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_list_stops_at_most_listed_items_not_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that ignores ``limit`` (2,000 items a page) was read for 401 pages (802,000
    items, 649 MiB) before the refusal: now refused on the page that passes the bound."""
    client = KubeClient.__new__(KubeClient)
    client.name = "big"
    page = [{"metadata": {"name": f"p{i}"}} for i in range(2000)]
    asked: list[dict[str, object]] = []

    async def ignoring_limit(path: str, query: dict[str, object]) -> dict[str, object]:
        asked.append(dict(query))
        return {"metadata": {"continue": "more"}, "items": page}

    monkeypatch.setattr(client, "get", ignoring_limit)
    monkeypatch.setattr(kubernetes, "MOST_LISTED", 5000)
    with pytest.raises(CollectorResponseTooLarge, match="more than 5,000 items"):
        await client.list("/api/v1/pods")
    assert len(asked) == 3  # 2,000 + 2,000 + 2,000 passes 5,000: no more pages read


class Chunks:
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks

    def stream(self, amount: int, decode_content: bool) -> Iterator[bytes]:
        return self.chunks


def test_watch_lines_are_cut_whatever_the_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lines across chunks, several in one, blank ones, a last one without its newline; a
    line past MOST_EVENT_BYTES is refused where it stands and the stream goes on after it."""
    monkeypatch.setattr(kubernetes, "MOST_EVENT_BYTES", 10)
    chunks = [b'{"a"', b":1}\n\n{", b'"b":2}\n{"c":3}\n', b"x" * 8, b"y" * 8, b"z" * 20, b"\n{}"]
    batches = list(_batches(Chunks(iter(chunks)), "c1"))
    flat = [line if isinstance(line, bytes) else type(line).__name__ for b in batches for line in b]
    assert flat == [b'{"a":1}', b'{"b":2}', b'{"c":3}', "CollectorResponseTooLarge", b"{}"]
    refused = next(line for b in batches for line in b if isinstance(line, CollectorError))
    assert "larger than" in str(refused) and "skipped" in str(refused)
    # a long line in one chunk, and one that ends in the chunk that passes the limit
    lines = [ln for b in _batches(Chunks(iter([b"q" * 30 + b"\n{}\n"])), "c1") for ln in b]
    assert isinstance(lines[0], CollectorResponseTooLarge) and lines[1:] == [b"{}"]


def test_a_long_watch_line_is_read_in_linear_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 64 MiB line in 64 KiB chunks: the whole line was copied again for each chunk (32 GiB
    of copies); now its pieces are joined once when its newline comes."""
    monkeypatch.setattr(kubernetes, "MOST_EVENT_BYTES", 128 * 2**20)
    piece = b"a" * (64 * 1024)
    began = time.process_time()
    batches = list(_batches(Chunks(iter([*([piece] * 1024), b"\n"])), "c1"))
    took = time.process_time() - began
    assert [len(line) for b in batches for line in b] == [64 * 2**20]  # type: ignore[arg-type]
    assert took < 2.0, took


@pytest.mark.integration
@pytest.mark.asyncio
async def test_an_oversized_watch_event_is_skipped_and_said() -> None:
    """A 20 MiB event line (etcd holds 1.5 MiB at most): refused without being kept whole or
    parsed; the watch goes on with the next event, and the refusal is noted."""
    big = event_line("ADDED", {"metadata": {"resourceVersion": "6"}, "x": "A" * 20 * 2**20})
    small = event_line("ADDED", {"metadata": {"name": "next", "resourceVersion": "7"}})

    def route(path: str, query: dict[str, str]) -> tuple[int, Any]:
        if query.get("watch") == "true":
            return 200, big + small
        return 200, {"items": [], "metadata": {"resourceVersion": "5"}}

    state = WatchState()
    async with serving(route) as (_api, client):
        stop = asyncio.Event()
        async with asyncio.timeout(20):
            async for event in client.watch("/api/v1/events", state=state, stop=stop):
                if event.type == "ADDED":
                    assert event.object["metadata"]["name"] == "next"
                    stop.set()
    assert state.skipped == 1 and state.resource_version == "7"
    assert "larger than 8 MiB" in state.errors[0]


# -- 4. an exec's output ------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def exec_server(
    stdout: bytes, status: dict[str, Any], apps: bytes | None = None
) -> AsyncIterator[KubeClient]:
    """pods/exec in the v4 channel protocol: ``stdout`` in 32 KiB frames, then the Status;
    ``apps``: what ``--query-compute-apps`` prints instead, where given."""
    from aiohttp import WSMsgType, web

    async def handle(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(protocols=("v4.channel.k8s.io",))
        await ws.prepare(request)
        asked = " ".join(request.query.getall("command", []))
        out = apps if apps is not None and "--query-compute-apps" in asked else stdout
        with contextlib.suppress(ConnectionError):  # the client gave up on a runaway output
            for at in range(0, len(out), 32 * 1024):
                await ws.send_bytes(b"\x01" + out[at : at + 32 * 1024])
            await ws.send_bytes(b"\x02" + b"some warning\n")
            await ws.send_bytes(b"\x03" + json.dumps(status).encode())
            await ws.close()
            async for message in ws:
                if message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                    break
        return ws

    app = web.Application()
    app.router.add_route("*", "/api/v1/namespaces/{ns}/pods/{pod}/exec", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    config = kubeconfig_for_token(f"http://127.0.0.1:{port}", "t")
    client = await KubeClient.open(config, name="ran-east", timeout_s=10)
    try:
        yield client
    finally:
        await client.aclose()
        await runner.cleanup()


SUCCESS = {"metadata": {}, "status": "Success"}
GPU_LINE = (
    "{i}, GPU-{i:08d}-aaaa-bbbb-cccc-dddddddddddd, NVIDIA H100, 550.54.15, 81920, 10, 81910, "
    "0, 0, 33, 61.2, 400.00, [N/A]\n"
)


@pytest.mark.integration
@pytest.mark.asyncio
async def test_an_exec_that_prints_too_much_is_refused_not_cut() -> None:
    """A runaway nvidia-smi (47 MB became 200,000 GPUs on one node): the exec ends once its
    output passes MOST_EXEC_OUTPUT and the node says why; an answer within it is whole."""
    from aiops_desktop.services.gpu_cnf.gpu_fallback import read_node
    from collectors.nvidia_smi import GPU_COMMAND

    normal = "".join(GPU_LINE.format(i=i) for i in range(8))
    async with exec_server(normal.encode(), SUCCESS) as client:
        assert await client.exec_read("gpu-op", "drv", GPU_COMMAND) == normal

    runaway = "".join(GPU_LINE.format(i=i) for i in range(40_000)).encode()  # 4.6 MB
    assert len(runaway) > 4 * kubernetes.MOST_EXEC_OUTPUT
    async with exec_server(runaway, SUCCESS) as client:
        with pytest.raises(CollectorResponseTooLarge, match="printed more than 1024 KiB"):
            await client.exec_read("gpu-op", "drv", GPU_COMMAND)
        node = await read_node(client, "gpu-op", "drv", "gpu-node-1")
    assert node.gpus == [] and "printed more than 1024 KiB" in (node.error or "")

    failed = {
        "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": "9"}]},
    }  # fmt: skip
    async with exec_server(b"", failed) as client:
        with pytest.raises(CollectorError, match="exited 9: some warning"):
            await client.exec_read("gpu-op", "drv", GPU_COMMAND)


@pytest.mark.integration
@pytest.mark.asyncio
async def test_nvidia_smi_exiting_14_after_its_rows_keeps_them_and_says_why() -> None:
    """nvidia-smi prints every GPU it can read and exits 14 where one GPU's infoROM is
    corrupted (15: a GPU fell off the bus): the rows it printed count, with the exit said as
    the node's note (they were thrown away, a GPU at 88 C with them)."""
    from aiops_desktop.services.gpu_cnf.gpu_fallback import read_node

    hot = GPU_LINE.format(i=0).replace(" 33, ", " 88, ")
    exited = {
        "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": "14"}]},
    }  # fmt: skip
    app = b"GPU-00000000-aaaa-bbbb-cccc-dddddddddddd, 48211, /usr/bin/python3, 71000\n"
    async with exec_server((hot + GPU_LINE.format(i=1)).encode(), exited, apps=app) as client:
        node = await read_node(client, "gpu-op", "drv", "gpu-node-7")
    assert [g.temperature_c for g in node.gpus] == [88.0, 33.0]
    assert [a.pid for a in node.apps] == [48211]  # the apps command exits 14 too
    assert node.error is None and "exited 14: some warning" in (node.note or "")


@pytest.mark.asyncio
async def test_a_slow_exec_is_still_ended_at_its_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The exec's own timeout still holds with its output read a frame at a time."""

    class Never:
        def __init__(self) -> None:
            self.updates = 0

        def is_open(self) -> bool:
            return True

        def update(self, timeout: float) -> None:
            self.updates += 1
            time.sleep(min(timeout, 0.05))

        def read_channel(self, channel: int, timeout: float) -> str:
            return ""

    client = KubeClient.__new__(KubeClient)
    client.name, client.timeout_s = "c1", 0.3
    began = time.monotonic()
    with pytest.raises(CollectorTimeout, match="did not finish within"):
        client._exec_output(Never(), "nvidia-smi in a/b")
    assert 0.25 < time.monotonic() - began < 1.0
