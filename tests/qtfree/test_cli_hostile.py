"""The command line against servers that say odd or hostile things, and against a capture: what
it prints stays one line per row, its exit codes say what happened (2 for bad input, 3 for a
partial read), a viewer's look changes nothing, and a capture's windows end at its end."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from aiops_desktop.settings import resources_dir
from aiops_desktop.store.capture import read_manifest
from collectors.errors import CollectorError, CollectorTimeout
from collectors.http import BackendClient, HttpPolicy
from collectors.llm import LlmEndpoint
from tests.qtfree.cli_runner import call_main
from tests.servers.faults import FaultServer
from tests.servers.processes import free_port

SAMPLE = resources_dir() / "samples" / "sample.aiops"
#: label values with line breaks (legal in Prometheus: a label value is any UTF-8 text), each
#: written to read as a row of its own if it were printed as is
FORGED_MODEL = "H100\nCRITICAL ran-east/forged/gpu9   NVIDIA H100   util 99%  temp 99C  pods -"
FORGED_NODE = "du-9\nFREERUN   forged/du-0/ens1f0 (ptp4l) SLAVE class 248 offset 99999 ns"
FORGED_ERROR = "bad query\nCRITICAL ran-east/forged/gpu9  NVIDIA H100  util 99%"
FORGED_STARTS = ("CRITICAL", "FREERUN", "forged")

Answer = Callable[[str, dict[str, str]], tuple[int, dict[str, Any]]]


class Stub:
    """An HTTP server on 127.0.0.1 in a thread of this process: ``answer(path, params)`` gives
    each GET's or POST's status and JSON body; ``asked`` keeps every request's parameters."""

    def __init__(self, answer: Answer) -> None:
        self.asked: list[dict[str, str]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, params: dict[str, list[str]]) -> None:
                flat = {k: v[0] for k, v in params.items()}
                stub.asked.append(flat)
                status, body = answer(urlparse(self.path).path, flat)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._reply(parse_qs(urlparse(self.path).query))

            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", 0))
                self._reply(parse_qs(self.rfile.read(size).decode()))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def prometheus(mode: str) -> Answer:
    """A Prometheus: ``forged``: DCGM and PTP series whose labels hold line breaks; ``empty``:
    no series at all; ``refuse``: every query refused (HTTP 422) with a two-line error;
    ``spike``: a range of 300 one-minute samples of ``spike_metric`` with one spike."""

    def answer(path: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if not path.endswith(("/query", "/query_range")):
            return 200, {"status": "success", "data": []}
        if mode == "refuse":
            return 422, {"status": "error", "errorType": "bad_data", "error": FORGED_ERROR}
        ranged, q, now = path.endswith("_range"), params.get("query", ""), time.time()
        found: list[dict[str, Any]] = []
        if mode == "forged" and ("DCGM_FI_DEV_GPU_UTIL" in q or "DCGM_FI_DEV_GPU_TEMP" in q):
            gpu = {"Hostname": "node-a", "gpu": "0", "UUID": "GPU-1", "modelName": FORGED_MODEL,
                   "pod": "p\nforged-pod", "namespace": "ns"}  # fmt: skip
            found = [{"metric": gpu, "value": [now, "50"]}]
        elif mode == "forged" and "openshift_ptp_clock_state" in q:
            found = [{"metric": {"node": FORGED_NODE, "iface": "ens1f0", "process": "ptp4l"},
                      "value": [now, "1"]}]  # fmt: skip
        if ranged and mode == "spike" and "spike_metric" in q:
            points = [[now - (299 - i) * 60, "100" if i == 290 else str(10 + (i % 3) * 0.1)]
                      for i in range(300)]  # fmt: skip
            return 200, {
                "status": "success",
                "data": {
                    "resultType": "matrix",
                    "result": [
                        {"metric": {"__name__": "spike_metric", "pod": "api-0"}, "values": points}
                    ],
                },
            }
        if ranged:
            found = [{"metric": f["metric"], "values": [f["value"]]} for f in found]
        kind = "matrix" if ranged else "vector"
        return 200, {"status": "success", "data": {"resultType": kind, "result": found}}

    return answer


def tempo(path: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """A Tempo whose search answers one trace."""
    trace = {"traceID": "51def24606746811fa552389b02d2d3f", "rootServiceName": "shop",
             "rootTraceName": "checkout", "startTimeUnixNano": str(int((time.time() - 60) * 1e9)),
             "durationMs": 12}  # fmt: skip
    return 200, {"traces": [trace]}


@pytest.fixture
def stubs() -> Iterator[Callable[[Answer], Stub]]:
    started: list[Stub] = []

    def start(answer: Answer) -> Stub:
        started.append(Stub(answer))
        return started[-1]

    yield start
    for stub in started:
        stub.stop()


def _add(home: Path, name: str, *urls: str) -> None:
    code, _, err = call_main(home, "clusters", "add", name, *urls)
    assert code == 0, err


def _forged_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(FORGED_STARTS)]


def test_ptp_on_a_capture_counts_back_from_its_end(tmp_path: Path) -> None:
    """Without --until the window ends where the capture ends (as the PTP page's does), not
    at the wall clock, which has moved on since it was made."""
    end = datetime.fromisoformat(read_manifest(SAMPLE).until)
    plain = call_main(tmp_path, "--capture", str(SAMPLE), "ptp", "--json")
    at_end = call_main(tmp_path, "--capture", str(SAMPLE), "ptp", "--json",
                       "--until", end.isoformat())  # fmt: skip
    assert plain[0] == at_end[0] == 0, plain[2]
    rows, rows_at_end = json.loads(plain[1])["rows"], json.loads(at_end[1])["rows"]
    assert any(r["compliance"] for r in rows)
    assert rows == rows_at_end


def test_gpus_without_dcgm_are_said_not_read(tmp_path: Path, stubs: Any) -> None:
    """A Prometheus with no DCGM series and a Kubernetes API whose driver pods cannot be
    exec'd into: `gpu` reads as the GPU page and the fleet do (DCGM, else nvidia-smi) and says
    the cluster's GPUs were not read, never "0 GPUs" and success."""
    prom = stubs(prometheus("empty"))
    _add(tmp_path, "smi-1", "--api-url", f"https://127.0.0.1:{free_port()}",
         "--prometheus-url", prom.url)  # fmt: skip
    code, out, err = call_main(tmp_path, "gpu")
    assert code == 1, out + err
    assert "unreadable: smi-1: nvidia-smi: " in err
    doc = json.loads(call_main(tmp_path, "gpu", "--clusters", "smi-1", "--json")[1])
    assert doc["gpus"] == [] and doc["errors"][0].startswith("smi-1: nvidia-smi: ")


def test_line_breaks_from_a_server_forge_no_rows(tmp_path: Path, stubs: Any) -> None:
    """Label values, notes and errors a server sends are printed one line each: a label
    holding a line break cannot add a CRITICAL GPU or a FREERUN clock to the output, nor an
    error body a line to the final "error:" message."""
    forged, refusing = stubs(prometheus("forged")), stubs(prometheus("refuse"))
    _add(tmp_path, "site-1", "--prometheus-url", forged.url)
    gpu, ptp = call_main(tmp_path, "gpu"), call_main(tmp_path, "ptp")
    assert "node-a" in gpu[1] and "H100 CRITICAL ran-east/forged" in gpu[1], gpu
    assert "du-9 FREERUN" in ptp[1], ptp
    refused_home = tmp_path / "refused"
    _add(refused_home, "err-1", "--prometheus-url", refusing.url, "--loki-url", refusing.url)
    unreadable = call_main(refused_home, "gpu")
    assert "unreadable: err-1: " in unreadable[2], unreadable
    logs = call_main(refused_home, "logs", "--cluster", "err-1", '{a="b"}')
    assert logs[0] != 0 and "aiops-desktop: error: " in logs[2], logs
    for said in (gpu[1], ptp[1], unreadable[2], logs[2]):
        assert not _forged_rows(said), said


def test_a_viewers_analysis_keeps_nothing(tmp_path: Path, stubs: Any) -> None:
    """A viewer only reads: `analyse` says what it finds and stores none of it (no anomaly
    kept, so no incident opened); an operator's is kept as before."""
    prom = stubs(prometheus("spike"))
    _add(tmp_path, "site-1", "--prometheus-url", prom.url)
    ask = ("analyse", "--query", "spike_metric", "--since", "6h", "--methods", "ZSCORE,MAD")

    def stored() -> int:
        with closing(sqlite3.connect(tmp_path / "aiops-desktop.sqlite3")) as db:
            return int(db.execute("select count(*) from anomalies").fetchone()[0])

    code, out, err = call_main(tmp_path, "--role", "viewer", *ask)
    assert code == 0, err
    head = out.splitlines()[0]
    assert head.endswith("over 6h (not kept: viewer)") and not head.startswith("0 "), out
    assert stored() == 0
    code, out, err = call_main(tmp_path, "--role", "operator", *ask)
    assert code == 0 and out.splitlines()[0].endswith("over 6h"), out + err
    assert stored() > 0


@pytest.mark.parametrize(
    ("where", "args"),
    [
        ("live", ["--id", "zzz"]),
        ("live", ["--id", "1" * 33]),
        ("live", ["--min-duration", "abc"]),
        ("live", ["--max-duration", "5 sec"]),
        ("live", ["--service", "x", "--traceql", "{ status = error } | count() > 2"]),
        ("capture", ["--min-duration", "abc"]),
        ("capture", ["--id", "zzz"]),
    ],
)  # fmt: skip
def test_bad_trace_input_is_a_usage_error(
    tmp_path: Path, stubs: Any, where: str, args: list[str]
) -> None:
    """A trace id that is no hex, a duration Tempo cannot read, or a TraceQL the other
    filters cannot join: one line and exit 2 (invalid input), live and on a capture, never a
    traceback; nothing is asked of Tempo."""
    server = stubs(tempo)
    if where == "live":
        _add(tmp_path, "tr-1", "--tempo-url", server.url)
        ask = ["traces", "--cluster", "tr-1", *args]
    else:
        ask = ["--capture", str(SAMPLE), "traces", "--cluster", "ran-east", *args]
    code, out, err = call_main(tmp_path, *ask)
    assert code == 2, out + err
    said = err.strip().splitlines()
    assert said[-1].startswith("aiops-desktop") and "error: " in said[-1], err
    assert not server.asked


def test_a_refused_logql_is_invalid_input_live_and_on_a_capture(tmp_path: Path, stubs: Any) -> None:
    refusing = stubs(prometheus("refuse"))  # Loki refuses with Prometheus' error shape
    _add(tmp_path, "lk-1", "--loki-url", refusing.url)
    live = call_main(tmp_path, "logs", "--cluster", "lk-1", '{a="b"')
    on_capture = call_main(tmp_path, "--capture", str(SAMPLE), "logs", "--cluster",
                           "ran-east", '{a="b"')  # fmt: skip
    assert live[0] == on_capture[0] == 2, (live, on_capture)
    assert "refused" in live[2] and refusing.asked


def test_errors_only_is_written_into_a_traceql_query(tmp_path: Path, stubs: Any) -> None:
    """`--errors` beside `--traceql` joins the query as --service does, not dropped (which
    listed traces that did not fail as "errors only")."""
    server = stubs(tempo)
    _add(tmp_path, "tr-1", "--tempo-url", server.url)
    code, out, err = call_main(
        tmp_path,
        "traces",
        "--cluster",
        "tr-1",
        "--errors",
        "--service",
        "shop",
        "--traceql",
        '{ span.http.method = "GET" }',
    )
    assert code == 0, out + err
    assert server.asked[-1]["q"] == ('{ span.http.method = "GET" && status = error && '
                                     'resource.service.name = "shop" }')  # fmt: skip
    call_main(tmp_path, "traces", "--cluster", "tr-1", "--errors", "--traceql",
              "{ status = error }")  # fmt: skip
    assert server.asked[-1]["q"] == "{ status = error }"  # said once


@pytest.mark.parametrize("port", ["abc", "99999", "0", "65536", "-1"])
def test_an_llm_endpoint_without_a_port_is_refused(tmp_path: Path, port: str) -> None:
    """An endpoint whose port is no port is refused where it is set (exit 2), not stored to
    fail with a traceback at every later `llm test`, `chat` and `rca --explain`."""
    url = f"http://127.0.0.1:{port}/v1"
    code, out, err = call_main(tmp_path, "llm", "set", "--endpoint", url, "--model", "m")
    assert code == 2 and "port" in err, out + err
    with pytest.raises(CollectorError, match="port"):
        LlmEndpoint(url, "m")
    assert LlmEndpoint("http://127.0.0.1:65535/v1", "m").base_url.endswith(":65535/v1")


def test_a_partial_read_is_partial(tmp_path: Path, stubs: Any) -> None:
    """One cluster read (it has no GPU and no PTP) and another unreachable: `gpu` and `ptp`
    exit 3 (partial), as `query` does; none read at all is an error (1)."""
    prom = stubs(prometheus("empty"))
    _add(tmp_path, "read-1", "--prometheus-url", prom.url)
    _add(tmp_path, "down-2", "--prometheus-url", f"http://127.0.0.1:{free_port()}")
    for command in ("query", "gpu", "ptp"):
        code, out, err = call_main(tmp_path, command, *(["up"] if command == "query" else []))
        assert code == 3, (command, out, err)
    for command in ("gpu", "ptp"):
        code, out, err = call_main(tmp_path, command, "--clusters", "down-2")
        assert code == 1 and "unreadable: down-2: " in err, (command, out, err)


@pytest.fixture
def hung(tmp_path: Path) -> Iterator[FaultServer]:
    server = FaultServer("accept-and-hang", workdir=tmp_path)
    yield server
    server.stop()


@pytest.mark.asyncio
async def test_a_read_timeout_is_one_deadline_across_retries(hung: FaultServer) -> None:
    """A server that accepts and never answers: the request gives up when its read timeout
    says (retries share that deadline), not after each retry has waited it out again."""
    policy = HttpPolicy(connect_timeout_s=1, read_timeout_s=1, retries=3, backoff_base_s=0.01)
    client = BackendClient(hung.url, name="hung", policy=policy)
    try:
        started = time.monotonic()
        with pytest.raises(CollectorTimeout, match=r"did not answer in time \(1 s\)"):
            await client.get_json("/api/v1/query")
        assert time.monotonic() - started < 2.5
        started = time.monotonic()
        with pytest.raises(CollectorTimeout):
            await client.get_json("/api/v1/query", timeout_s=0.5)
        assert time.monotonic() - started < 2
    finally:
        await client.aclose()


@pytest.mark.parametrize("command", ["logs", "traces"])
def test_logs_and_traces_give_up_after_their_timeout(
    tmp_path: Path, hung: FaultServer, command: str
) -> None:
    _add(tmp_path, "hang-1", "--loki-url", hung.url, "--tempo-url", hung.url)
    started = time.monotonic()
    query = ['{a="b"}'] if command == "logs" else []
    code, out, err = call_main(tmp_path, command, "--cluster", "hang-1", *query, "--timeout", "1")
    assert time.monotonic() - started < 5
    assert code == 1 and "1 s" in err, out + err
