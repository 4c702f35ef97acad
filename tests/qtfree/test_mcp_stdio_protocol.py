"""``aiops-desktop mcp`` end to end over raw stdio JSON-RPC (the bundled sample capture, in a
subprocess): every line it reads is answered, and none is read past its size.

The SDK's transport dropped each line it could not validate without an answer (its client
waited forever) and read a line whatever its size (a 300 MB ``tools/call`` held 850 MB).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from aiops_desktop.services.assistant.mcp_stdio import MAX_LINE_BYTES
from aiops_desktop.settings import resources_dir
from tests.conftest import ROOT

SAMPLE = resources_dir() / "samples" / "sample.aiops"
PARSE_ERROR, INVALID_REQUEST = -32700, -32600


class Served:
    """The server's process, its answers read by a thread (one JSON message a line)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.answers: queue.Queue[Any] = queue.Queue()
        self.reader = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self.reader.start()

    def _read(self, out: IO[bytes]) -> None:
        for line in out:
            self.answers.put(json.loads(line))
        self.answers.put(EOFError())

    def send(self, line: bytes | dict[str, Any]) -> None:
        data = json.dumps(line).encode() if isinstance(line, dict) else line
        assert self.process.stdin is not None
        self.process.stdin.write(data + b"\n")
        self.process.stdin.flush()

    def answer(self, timeout: float = 20) -> Any:
        try:
            got = self.answers.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no answer within {timeout} s")
        assert not isinstance(got, EOFError), "the server ended"
        return got

    def asked(self, line: bytes | dict[str, Any]) -> Any:
        self.send(line)
        return self.answer()

    def alive(self) -> None:
        assert self.asked({"jsonrpc": "2.0", "id": "alive", "method": "ping"}) == {
            "jsonrpc": "2.0", "id": "alive", "result": {},
        }  # fmt: skip

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(ln for ln in status.splitlines() if ln.startswith("VmRSS")).split()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "PYTHONDONTWRITEBYTECODE": "1",
           "AIOPS_DESKTOP_HOME": str(tmp_path / "env-home")}  # fmt: skip
    args = [sys.executable, "-W", "error", "-m", "aiops_desktop", "--data-dir",
            str(tmp_path / "home"), "--capture", str(SAMPLE), "mcp"]  # fmt: skip
    with (
        (tmp_path / "stderr.txt").open("wb") as errlog,
        subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errlog,
                         cwd=ROOT, env=env) as process,
    ):  # fmt: skip
        server = Served(process)
        try:
            init = server.asked({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "test", "version": "1"}}})  # fmt: skip
            assert init["result"]["serverInfo"]["name"] == "aiops-desktop"
            server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
            yield server
            assert process.stdin is not None
            process.stdin.close()
            assert process.wait(30) == 0
        finally:
            if process.poll() is None:
                process.kill()
            server.reader.join(30)  # at the answers' end: its pipe is then closed
    said = (tmp_path / "stderr.txt").read_text()
    assert "Traceback" not in said, said


def _error(answer: Any, code: int, asked: Any = None) -> str:
    assert answer["jsonrpc"] == "2.0" and answer["id"] == asked, answer
    assert answer["error"]["code"] == code, answer
    message: str = answer["error"]["message"]
    return message


#: lines that are no message MCP takes: each answered, with the code and id JSON-RPC 2.0 says
NOT_MESSAGES = [
    (b'{"jsonrpc": "2.0", "id": 7, "method": "tools/list"', PARSE_ERROR, None),  # cut short
    (b"\xff\xfe not text", PARSE_ERROR, None),
    (b'{"jsonrpc":"2.0","id":60,"method":"ping","params":{"a":NaN}}', PARSE_ERROR, None),
    (b'{"jsonrpc":"2.0","id":61,"method":"ping","params":{"a":' + b"[" * 100_000
     + b"]" * 100_000 + b"}}", PARSE_ERROR, None),  # nested too deep to read
    (b'[{"jsonrpc": "2.0", "id": 8, "method": "tools/list"}]', INVALID_REQUEST, None),  # batch
    (b"42", INVALID_REQUEST, None),
    (b'{"jsonrpc":"2.0","id":1.5,"method":"ping"}', INVALID_REQUEST, None),
    (b'{"jsonrpc":"2.0","id":null,"method":"ping"}', INVALID_REQUEST, None),
    (b'{"jsonrpc":"2.0","id":true,"method":"ping"}', INVALID_REQUEST, None),
    (b'{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', INVALID_REQUEST, None),
    (b'{"jsonrpc":"2.0","id":52}', INVALID_REQUEST, None),  # no method: no request
    (b'{"jsonrpc":"1.0","id":50,"method":"ping"}', INVALID_REQUEST, 50),  # its id is readable
    (b'{"id":"no-version","method":"ping"}', INVALID_REQUEST, "no-version"),
]  # fmt: skip


def test_each_line_that_is_no_message_is_answered_and_the_server_goes_on(
    served: Served,
) -> None:
    for line, code, asked in NOT_MESSAGES:
        assert _error(served.asked(line), code, asked), line[:80]
        served.alive()
    served.send(b"   ")  # a blank line: nothing to answer
    served.alive()


def test_a_lone_surrogate_is_read_as_a_replacement_character(served: Served) -> None:
    """Half an emoji in a text: the answer that echoes it is written (as U+FFFD)."""
    answer = served.asked(b'{"jsonrpc":"2.0","id":"\\ud800","method":"ping"}')
    assert answer == {"jsonrpc": "2.0", "id": "\ufffd", "result": {}}
    answer = served.asked(b'{"jsonrpc":"2.0","id":3,"method":"tools/call",'
                          b'"params":{"name":"\\ud800","arguments":{}}}')  # fmt: skip
    assert answer["id"] == 3 and answer["result"]["isError"] is True
    assert "no tool named '\ufffd'" in answer["result"]["content"][0]["text"]
    assert _error(served.asked(b'{"jsonrpc":"2.0","id":4,"method":"no/\\udfff"}'), -32601, 4)


def _call(tool: str, arguments: bytes) -> bytes:
    return (b'{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"' + tool.encode()
            + b'","arguments":' + arguments + b"}}")  # fmt: skip


def test_a_line_over_the_most_is_skipped_unkept_and_answered(served: Served) -> None:
    before = served.rss_kib()
    big = _call("list_clusters", b'{"x":"' + b"A" * (64 * MAX_LINE_BYTES) + b'"}')
    writer = threading.Thread(target=served.send, args=(big,), daemon=True)
    writer.start()
    said = _error(served.answer(timeout=60), INVALID_REQUEST)
    writer.join(60)
    assert f"over {MAX_LINE_BYTES:,} bytes" in said
    assert served.rss_kib() - before < 16 * 1024  # KiB: the 64 MiB line was never held
    served.alive()
    # one just within the most is read whole: the tool refuses its arguments, as any call's
    start = _call("list_clusters", b'{"x":"')
    line = start + b"A" * (MAX_LINE_BYTES - len(start) - 4) + b'"}}}'
    assert len(line) == MAX_LINE_BYTES
    answer = served.asked(line)
    assert answer["id"] == 5 and answer["result"]["isError"] is True
    assert "arguments are not valid" in answer["result"]["content"][0]["text"]
