"""The command line's review fixes: `rca --explain` keeps the analysis when the model fails,
`--json` is strict JSON (no bare NaN or Infinity), help that says what is done, an unknown
cluster on a capture is "not found", and arguments out of their range are usage errors."""

from __future__ import annotations

import ast
import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop.cli.data import UNITS
from aiops_desktop.settings import resources_dir
from aiops_desktop.store.capture import read_manifest
from tests.conftest import ROOT
from tests.qtfree.cli_runner import call_main
from tests.servers.processes import free_port

SAMPLE = resources_dir() / "samples" / "sample.aiops"
#: a moment of the sample capture where ran-east's PTP port is in FREERUN: RCA finds causes
DURING = (datetime.fromisoformat(read_manifest(SAMPLE).until) - timedelta(minutes=16)).isoformat()
RCA = ("--capture", str(SAMPLE), "rca", "--cluster", "ran-east", "--at", DURING)

Answer = Callable[[str], tuple[int, str, bytes]]


class _Stub:
    """A local HTTP server answering every GET and POST with ``answer(path)``."""

    def __init__(self, answer: Answer) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                status, kind, body = answer(self.path.split("?")[0])
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._reply()

            def do_POST(self) -> None:
                self._reply()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def stub() -> Iterator[Callable[[Answer], _Stub]]:
    started: list[_Stub] = []

    def start(answer: Answer) -> _Stub:
        started.append(_Stub(answer))
        return started[-1]

    yield start
    for s in started:
        s.stop()


def _strict(text: str) -> Any:
    """``text`` as strict JSON: a bare NaN, Infinity or -Infinity is refused."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"not JSON: a bare {constant}")

    return json.loads(text, parse_constant=refuse)


# -- rca --explain: the analysis stands on its own without a model ---------------------------


def _sse_reply(text: str) -> bytes:
    """An OpenAI-compatible streamed answer (llama.cpp's server-sent events) saying ``text``."""
    chunk = {
        "id": "c",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }
    end = {"id": "c", "object": "chat.completion.chunk", "model": "m",
           "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}  # fmt: skip
    return b"".join(f"data: {e}\r\n\r\n".encode() for e in (json.dumps(chunk), json.dumps(end),
                                                              "[DONE]"))  # fmt: skip


@pytest.mark.parametrize("model", ["none set", "server down"])
def test_rca_explain_keeps_the_analysis_when_the_model_fails(tmp_path: Path, model: str) -> None:
    """No model set, or one whose server is down: the RCA is printed as without --explain, the
    model's failure is said on stderr and the exit is 3 (partial); with --json the analysis is
    printed with an "explanation_error" beside it."""
    if model == "server down":
        code, _, err = call_main(tmp_path, "llm", "set", "--endpoint",
                                 f"http://127.0.0.1:{free_port()}/v1", "--model", "m")  # fmt: skip
        assert code == 0, err
    plain = call_main(tmp_path, *RCA)
    assert plain[0] == 0 and plain[1].startswith("Root cause analysis: "), plain
    code, out, err = call_main(tmp_path, *RCA, "--explain")
    assert code == 3, (out, err)
    assert out == plain[1]  # the analysis, whole, and no explanation
    assert "explanation" in err and ("model" in err or "LLM" in err), err
    code, out, err = call_main(tmp_path, *RCA, "--explain", "--json")
    assert code == 3, (out, err)
    doc = _strict(out)
    assert doc == {**_strict(call_main(tmp_path, *RCA, "--json")[1]),
                   "explanation_error": doc["explanation_error"]}  # fmt: skip
    assert doc["causes"] and doc["explanation_error"] and "explanation" not in doc


def test_rca_explain_with_a_model_prints_the_analysis_then_its_explanation(
    tmp_path: Path, stub: Callable[[Answer], _Stub]
) -> None:
    said = "The PTP port of du-2 went to FREERUN [C1]."
    server = stub(lambda path: (200, "text/event-stream", _sse_reply(said)))
    code, _, err = call_main(tmp_path, "llm", "set", "--endpoint", f"{server.url}/v1",
                             "--model", "m")  # fmt: skip
    assert code == 0, err
    plain = call_main(tmp_path, *RCA)[1]
    code, out, err = call_main(tmp_path, *RCA, "--explain")
    assert code == 0, err
    assert out.startswith(plain) and "\nExplanation by the local model: " in out[len(plain) :]
    assert said in out
    code, out, err = call_main(tmp_path, *RCA, "--explain", "--json")
    assert code == 0, err
    doc = _strict(out)
    assert "explanation_error" not in doc and doc["explanation"]


# -- --json is strict JSON ---------------------------------------------------------------


def _nan_matrix(path: str) -> tuple[int, str, bytes]:
    """Loki's answer to a ratio over an idle window: NaN and +Inf points."""
    body = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {
                    "metric": {"namespace": "shop"},
                    "values": [[1765000000, "NaN"], [1765000060, "+Inf"], [1765000120, "0.5"]],
                }
            ],
        },
    }
    return 200, "application/json", json.dumps(body).encode()  # fmt: skip


def test_logs_json_writes_non_finite_points_as_null(
    tmp_path: Path, stub: Callable[[Answer], _Stub]
) -> None:
    loki = stub(_nan_matrix)
    code, _, err = call_main(tmp_path, "clusters", "add", "east", "--loki-url", loki.url)
    assert code == 0, err
    query = 'sum(rate({namespace="shop"} |= "error" [5m])) / sum(rate({namespace="shop"}[5m]))'
    code, out, err = call_main(tmp_path, "logs", "--cluster", "east", "--json", query)
    assert code == 0, err
    doc = _strict(out)
    assert doc["series"][0]["points"] == [[1765000000, None], [1765000060, None],
                                          [1765000120, 0.5]]  # fmt: skip


#: the command modules whose every --json goes through the strict writer
STRICT_JSON_MODULES = ("args", "incidents", "logs_traces", "clusters", "data", "gpu_cnf")


@pytest.mark.parametrize("module", STRICT_JSON_MODULES)
def test_every_json_dump_of_the_commands_refuses_nan(module: str) -> None:
    """A json.dump(s) writing what a command prints passes allow_nan=False: a non-finite value
    that reaches one fails loudly in tests, never prints a bare NaN a JSON reader refuses."""
    source = (ROOT / "aiops_desktop" / "cli" / f"{module}.py").read_text()
    loose = [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("dump", "dumps")
        and not any(
            k.arg == "allow_nan" and isinstance(k.value, ast.Constant) and k.value.value is False
            for k in node.keywords
        )
    ]
    assert not loose, f"aiops_desktop/cli/{module}.py: json.dump without allow_nan=False: {loose}"


def test_the_strict_writer_writes_non_finite_numbers_as_null() -> None:
    from aiops_desktop.cli.args import json_text

    doc = {"a": float("nan"), "b": [float("inf"), -float("inf"), 1.5, (2, float("nan"))],
           "c": {"d": "NaN", "e": None, "f": True, "g": 3}}  # fmt: skip
    assert _strict(json_text(doc)) == {"a": None, "b": [None, None, 1.5, [2, None]],
                                       "c": {"d": "NaN", "e": None, "f": True, "g": 3}}  # fmt: skip


# -- help that says what is done -----------------------------------------------------------


def test_endpoints_use_token_help_names_every_endpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The cluster's credential goes to every endpoint given without a token of its own
    (services/clusters/registry.py), Loki and Tempo too: the help says so."""
    assert call_main(tmp_path, "clusters", "add", "--help")[0] == 0
    text = " ".join(capsys.readouterr().out.split())
    help_text = text[text.index("--endpoints-use-token ") :][:300]
    for endpoint in ("Prometheus", "Alertmanager", "Loki", "Tempo"):
        assert endpoint in help_text, help_text


# -- an unknown cluster on a capture is "not found" --------------------------------------------


@pytest.mark.parametrize("command", [["logs", "--cluster", "nope", '{a="b"}'],
                                     ["traces", "--cluster", "nope"]])  # fmt: skip
def test_an_unknown_cluster_on_a_capture_is_not_found(tmp_path: Path, command: list[str]) -> None:
    code, out, err = call_main(tmp_path, "--capture", str(SAMPLE), *command)
    assert code == 4 and "no cluster named 'nope'" in err, (code, out, err)


# -- arguments out of their range ----------------------------------------------------------

OUT_OF_RANGE = [
    (["traces", "--cluster", "ran-east", "--limit", "0.5"], "1 to 500"),
    (["traces", "--cluster", "ran-east", "--limit", "0"], "1 to 500"),
    (["traces", "--cluster", "ran-east", "--limit", "501"], "1 to 500"),
    (["traces", "--cluster", "ran-east", "--limit", "many"], "1 to 500"),
    (["query", "up", "--range", "0.9s"], "--range"),
    (["query", "up", "--range", "30s"], "--step"),
    (["query", "up", "--range", "0.5s", "--step", "0.1s"], "--range"),
    (["analyse", "--query", "up", "--unit", "foo"], "celsius"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "said"), OUT_OF_RANGE, ids=[" ".join(a) for a, _ in OUT_OF_RANGE])
def test_an_argument_out_of_its_range_is_a_usage_error(
    tmp_path: Path, args: list[str], said: str
) -> None:
    code, out, err = call_main(tmp_path, "--capture", str(SAMPLE), *args)
    assert code == 2 and said in err, (code, out, err)
    assert "Traceback" not in err


def test_arguments_in_their_range_are_taken(tmp_path: Path) -> None:
    code, _, err = call_main(tmp_path, "--capture", str(SAMPLE), "traces", "--cluster",
                               "ran-east", "--limit", "500", "--json")  # fmt: skip
    # taken (a usage error exits 2): the sample recorded no traces, and says so
    assert code == 1 and "recorded no traces" in err, (code, err)
    # with nothing registered, a command that took its arguments says there is nothing to ask
    for taken in (["query", "up", "--range", "1m", "--step", "1m"],
                  ["query", "up", "--range", "1.5s", "--step", "1s"],
                  *(["analyse", "--query", "up", "--unit", unit]
                    for unit in (*UNITS, "Celsius", "MS"))):  # fmt: skip
        code, _, err = call_main(tmp_path / "empty", *taken)
        assert code == 4 and "no cluster with a Prometheus endpoint" in err, (taken, err)


# -- what could not be read goes to stderr ------------------------------------------------


@pytest.mark.parametrize("command", ["gpu", "ptp"])
def test_gpu_and_ptp_say_what_was_unreadable_on_stderr(tmp_path: Path, command: str) -> None:
    """As every other command does: stdout keeps the table a script reads, stderr what could
    not be read."""
    code, _, err = call_main(tmp_path, "clusters", "add", "down-1", "--prometheus-url",
                             f"http://127.0.0.1:{free_port()}")  # fmt: skip
    assert code == 0, err
    code, out, err = call_main(tmp_path, command)
    assert code == 1, (out, err)
    assert "unreadable: down-1: " in err and "unreadable" not in out, (out, err)
