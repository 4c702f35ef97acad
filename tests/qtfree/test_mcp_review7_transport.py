"""The MCP server's stdio transport (mcp_stdio) and what a client sends back or closes (review 7).

It answered JSON-RPC *responses*: a client's error response came back as if the server had
said it, and the server's own error for a line it could not read (``"id": null``), fed back
by a peer that echoes errors, was answered again, without end. A response is never answered:
a valid one goes on to the SDK (which drops one for no request of its own), any other is
dropped, said in the log. And a client that closed its end of the pipe made the server exit 1
with an ExceptionGroup's traceback: it now ends quietly, exit 0."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

import mcp_types as types
import pytest
from mcp.shared.message import SessionMessage

from aiops_desktop.services.assistant import mcp_server
from aiops_desktop.services.assistant.mcp_stdio import stdio_streams
from aiops_desktop.services.assistant.toolbox import ToolBox
from aiops_desktop.settings import resources_dir
from tests.conftest import ROOT

INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "test", "version": "1"}}}  # fmt: skip
#: what a client may send back that is a response, not a request: none is answered
RESPONSES = [
    {"jsonrpc": "2.0", "id": 7, "error": {"code": -32601, "message": "Method not found"}},
    {"jsonrpc": "2.0", "id": "abc", "error": {"code": -1, "message": "client says no"}},
    {"jsonrpc": "2.0", "id": 6, "result": {}},
    # the server's own answer to a line it could not read, echoed back
    {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "not JSON"}},
    {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "not a message"}},
]
#: responses MCP does not take: dropped, unanswered
NOT_RESPONSES = [
    {"jsonrpc": "2.0", "id": 1.5, "error": {"code": -1, "message": "x"}},
    {"jsonrpc": "2.0", "id": True, "result": {}},
    {"jsonrpc": "2.0", "id": 8, "error": "nope"},
    {"jsonrpc": "1.0", "id": 9, "result": {}},
    {"jsonrpc": "2.0", "id": None, "result": {}},
]


def _line(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


@pytest.mark.asyncio
async def test_a_response_goes_on_to_the_sdk_and_is_never_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rin, win = os.pipe()
    rout, wout = os.pipe()
    with os.fdopen(rin, "rb") as fin, os.fdopen(wout, "wb") as fout, \
            os.fdopen(rout, "rb") as answers:  # fmt: skip
        ping = {"jsonrpc": "2.0", "id": "p", "method": "ping"}
        os.write(win, b"".join(_line(m) for m in [*RESPONSES, *NOT_RESPONSES, ping]))
        os.close(win)
        with caplog.at_level(logging.DEBUG, logger="aiops.assistant.mcp"):
            async with stdio_streams(fin, fout) as (read_stream, write_stream):  # noqa: SIM117
                async with read_stream, write_stream:  # as the server closes them
                    got = [m async for m in read_stream]
        fout.close()
        written = answers.read()
    assert written == b""  # none answered
    messages = [m.message for m in got if not isinstance(m, Exception)]
    assert len(messages) == len(got) == len(RESPONSES) + 1
    assert [m.model_dump(by_alias=True, exclude_unset=True) for m in messages[:-1]] == RESPONSES
    assert isinstance(messages[-1], types.JSONRPCRequest)
    dropped = [r for r in caplog.records if r.name == "aiops.assistant.mcp"]
    assert len(dropped) == len(NOT_RESPONSES), [r.getMessage() for r in caplog.records]
    assert all("client says" not in r.getMessage() for r in dropped)  # its words not logged


@asynccontextmanager
async def _server() -> AsyncIterator[tuple[int, IO[bytes]]]:
    """The MCP server over a pair of pipes, initialised: the fd its input is written to, and
    its output. On the way out its input ends and the server is waited for."""
    rin, win = os.pipe()
    rout, wout = os.pipe()
    fin, fout, out = os.fdopen(rin, "rb"), os.fdopen(wout, "wb"), os.fdopen(rout, "rb")
    server = mcp_server.build_server(ToolBox(None, []))  # type: ignore[arg-type]

    async def serve() -> None:
        async with stdio_streams(fin, fout) as (r, w):
            await server.run(r, w, server.create_initialization_options())

    task = asyncio.create_task(serve())
    try:
        os.write(win, _line(INIT))
        assert json.loads(await _next(out))["id"] == 0
        os.write(win, _line({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        yield win, out
    finally:
        os.close(win)
        await asyncio.wait_for(task, 30)
        for f in (fin, fout, out):
            f.close()


async def _next(out: IO[bytes]) -> bytes:
    line = await asyncio.wait_for(asyncio.to_thread(out.readline), 20)
    assert line, "the server ended"
    return line


@pytest.mark.asyncio
async def test_the_server_answers_no_response_and_no_error_fed_back() -> None:
    async with _server() as (win, out):
        for i, message in enumerate([*RESPONSES, *NOT_RESPONSES]):
            os.write(win, _line(message))
            # the next line written is the ping's answer: nothing answered the response
            os.write(win, _line({"jsonrpc": "2.0", "id": f"p{i}", "method": "ping"}))
            assert json.loads(await _next(out)) == {"jsonrpc": "2.0", "id": f"p{i}", "result": {}}
        # a line that is no message is still answered, and its answer fed back is not
        os.write(win, b'{"jsonrpc":"2.0","id":1.5,"method":"ping"}\n')
        said = json.loads(await _next(out))
        assert said["id"] is None and said["error"]["code"] == -32600
        os.write(win, json.dumps(said).encode() + b"\n")
        os.write(win, _line({"jsonrpc": "2.0", "id": "last", "method": "ping"}))
        assert json.loads(await _next(out))["id"] == "last"


@pytest.mark.asyncio
async def test_a_client_that_closes_its_end_ends_the_transport_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rin, win = os.pipe()
    rout, wout = os.pipe()
    fin, fout = os.fdopen(rin, "rb"), os.fdopen(wout, "wb")
    os.close(rout)  # the client went: whatever is written has no reader
    with caplog.at_level(logging.DEBUG, logger="aiops.assistant.mcp"):
        async with stdio_streams(fin, fout) as (read_stream, write_stream):  # noqa: SIM117
            async with read_stream, write_stream:  # as the server closes them
                os.write(win, _line({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
                await read_stream.receive()
                await write_stream.send(SessionMessage(
                    types.JSONRPCResponse(jsonrpc="2.0", id=1, result={})))  # fmt: skip
                os.close(win)  # and its input ends
                await asyncio.sleep(30)  # never reached: the transport's end cancels it
    fin.close()
    assert fout.closed
    assert any(
        r.name == "aiops.assistant.mcp" and "closed" in r.getMessage() for r in caplog.records
    ), caplog.records


def test_the_mcp_command_exits_0_when_its_client_closes_its_output(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "PYTHONDONTWRITEBYTECODE": "1",
           "AIOPS_DESKTOP_HOME": str(tmp_path / "env-home")}  # fmt: skip
    args = [sys.executable, "-W", "error", "-m", "aiops_desktop", "--data-dir",
            str(tmp_path / "home"), "--capture",
            str(resources_dir() / "samples" / "sample.aiops"), "mcp"]  # fmt: skip
    with (
        (tmp_path / "stderr.txt").open("wb") as errlog,
        subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errlog,
                         cwd=ROOT, env=env) as process,
    ):  # fmt: skip
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(_line(INIT))
            process.stdin.flush()
            assert json.loads(process.stdout.readline())["id"] == 0
            process.stdout.close()  # the client stops reading
            process.stdin.write(_line({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
            process.stdin.flush()
            deadline = time.monotonic() + 30
            while process.poll() is None and time.monotonic() < deadline:
                try:  # a line more: the answer to it finds the pipe closed
                    process.stdin.write(_line({"jsonrpc": "2.0", "method": "ping", "id": 2}))
                    process.stdin.flush()
                except BrokenPipeError:
                    break
                time.sleep(0.2)
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
            assert process.wait(30) == 0
        finally:
            if process.poll() is None:
                process.kill()
    said = (tmp_path / "stderr.txt").read_text()
    assert "Traceback" not in said and "BrokenPipeError" not in said, said
