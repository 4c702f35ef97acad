"""The MCP server's stdio transport: one JSON-RPC message a line each way, as the SDK's
``stdio_server`` reads and writes them, but every line read is bounded and answered.

The SDK's read a line whatever its size (a 300 MB ``tools/call`` took the server from 105 MB
to 953 MB) and dropped, unanswered, a line it could not validate: its client waited forever on
a line cut short, a batch, an ``id`` of 1.5 or null, ``"jsonrpc": "1.0"`` or a lone surrogate.
Here a line over ``MAX_LINE_BYTES`` is skipped to its end, none of it kept; each line that is
no message is answered with JSON-RPC 2.0's error: -32700 for one that is no JSON (or nested too
deep to read), -32600 for JSON that is no message MCP takes (a batch, an id neither a string
nor an integer, no method) or a line too long. Its id is null (JSON-RPC 2.0: the request's id
could not be read), or the request's own where it has a method and a valid id (a client then
stops waiting for it). A response (a result or an error, no method) is never answered: one
MCP takes goes on to the SDK (which drops one for no request of its own), any other is dropped,
said in the log; answering them echoed a client's error back as the server's, and the server's
own error for a line it could not read, fed back by a peer that echoes errors, was answered
without end. A client that closes its end ends the transport (the next line read, or the
input's end, lets it go) without a traceback. A lone surrogate in a text (half an emoji,
``"\\ud800"``) is read as U+FFFD: the answer that echoes it could not be written as UTF-8. A
blank line is skipped.
While it serves, fd 0 reads the null device and fd 1 writes to stderr, as with the SDK's: a
child's or a library's stray output cannot corrupt the protocol, nor a child read its input.
Stdin is read in a worker thread: the event loop (the tool calls) never waits on it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import IO, Any

import anyio
import anyio.lowlevel
import mcp_types as types
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from collectors.shapes import document_without_surrogates

log = logging.getLogger("aiops.assistant.mcp")

#: the most a message may take, as UTF-8, its newline not counted: a tool's arguments are at
#: most 8 KiB (toolbox.MAX_ARGUMENT_BYTES), and a client's answer is small
MAX_LINE_BYTES = 1024 * 1024

_NOT_A_MESSAGE = ("not a JSON-RPC 2.0 message MCP takes: one object a line, with \"jsonrpc\": "
                  "\"2.0\" and a method (a request or a notification), a result or an error "
                  "(a response)")  # fmt: skip


@asynccontextmanager
async def stdio_streams(
    stdin: IO[bytes] | None = None, stdout: IO[bytes] | None = None, *,
    most: int = MAX_LINE_BYTES,
) -> AsyncIterator[
    tuple[MemoryObjectReceiveStream[SessionMessage | Exception],
          MemoryObjectSendStream[SessionMessage]]
]:  # fmt: skip
    """The streams ``Server.run`` serves over, read from ``stdin`` and written to ``stdout``
    (by default the process's own, claimed while it serves); ``most``: a line's bytes."""
    with ExitStack() as claims:
        wire_in = stdin or claims.enter_context(_claimed(0, "rb", _null_input))
        wire_out = stdout or claims.enter_context(_claimed(1, "wb", _stderr))
        out = anyio.wrap_file(wire_out)
        to_server, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        write_stream, to_write = anyio.create_memory_object_stream[SessionMessage](0)
        answers = write_stream.clone()  # the reader's errors, written as the server's answers

        async def read_lines() -> None:
            try:
                async with to_server, answers:
                    while (line := await _next_line(wire_in, most)) is not None:
                        message = _message(line, most)
                        if isinstance(message, _Answer):
                            await answers.send(SessionMessage(message.error))
                        elif message is not None:
                            await to_server.send(SessionMessage(message))
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                await anyio.lowlevel.checkpoint()  # the server has stopped: nothing to read for

        async def write_messages() -> None:
            async with to_write:
                async for sent in to_write:
                    text = sent.message.model_dump_json(by_alias=True, exclude_unset=True)
                    try:
                        await out.write(text.encode() + b"\n")
                        await out.flush()
                    except OSError as exc:  # BrokenPipeError: the client closed its end
                        log.info("the client closed its end of the MCP stream: ending",
                                 extra={"error": repr(exc)[:200]})  # fmt: skip
                        await _gone(out)
                        # nothing more can be said: the server and the reader are stopped (a
                        # reader in its worker thread goes at its next line or the input's
                        # end), quietly
                        tasks.cancel_scope.cancel()
                        return

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(read_lines)
            tasks.start_soon(write_messages)
            yield read_stream, write_stream


async def _gone(out: anyio.AsyncFile[bytes]) -> None:
    """``out`` closed once its reader has gone: what its buffer holds is never written, and
    not tried again (a buffered file flushes when it is closed or collected: a traceback)."""
    with contextlib.suppress(OSError):
        await out.aclose()


#: what ``_next_line`` gives for a line over the most, skipped (no line read is empty: an empty
#: read is the input's end, and a blank line is its newline)
_TOO_LONG = b""


async def _next_line(wire: IO[bytes], most: int) -> bytes | None:
    """The next line read (in a worker thread: ``AsyncFile.readline`` takes no limit), at most
    ``most`` bytes and its newline; _TOO_LONG for a longer one, read to its end and dropped a
    piece at a time; None at the end of the input."""
    # the most and its newline, of two bytes where a client ends lines with CRLF (the
    # newline is not counted: a message of the most bytes and CRLF was refused)
    line: bytes = await anyio.to_thread.run_sync(wire.readline, most + 2)
    if not line:
        return None
    if len(line) <= most or (
        line.endswith(b"\n") and len(line.removesuffix(b"\n").removesuffix(b"\r")) <= most
    ):
        return line
    if line.endswith(b"\n"):
        return _TOO_LONG  # read whole: nothing of it is left to drop
    while (rest := await anyio.to_thread.run_sync(wire.readline, most)) and rest[-1:] != b"\n":
        pass  # the line's next piece, dropped
    return _TOO_LONG


@dataclass(frozen=True)
class _Answer:
    """The transport's own answer to a line that is no message: never a message read (a
    client's error response read is passed on, not written back)."""

    error: types.JSONRPCError


def _message(line: bytes, most: int) -> types.JSONRPCMessage | _Answer | None:
    """The message ``line`` holds, or the error that answers it; None for a blank line or a
    response dropped."""
    if line == _TOO_LONG:
        return _error(types.INVALID_REQUEST, f"a message over {most:,} bytes: not read")
    text = line.decode("utf-8", errors="replace").strip()  # decoded as the SDK reads stdin
    if not text:
        return None
    try:
        parsed = document_without_surrogates(json.loads(text, parse_constant=_not_json))
    except RecursionError:
        return _error(types.PARSE_ERROR, "not read: nested too deep")
    except ValueError as exc:  # json.JSONDecodeError too
        return _error(types.PARSE_ERROR, f"not JSON: {str(exc)[:200]}")
    return _validated(parsed)


def _validated(parsed: Any) -> types.JSONRPCMessage | _Answer | None:
    """The message MCP takes that ``parsed`` (a line's JSON) is, or the error that answers
    it (an id the SDK would not see: a notification with ``"id": 1.5`` is no notification);
    None for a response MCP does not take (``_response``)."""
    if isinstance(parsed, list):
        return _error(types.INVALID_REQUEST, "a batch: not taken (MCP takes one message a line)")
    if not isinstance(parsed, dict):
        return _error(types.INVALID_REQUEST, _NOT_A_MESSAGE)
    if "method" not in parsed and ("result" in parsed or "error" in parsed):
        return _response(parsed)
    asked = parsed.get("id")
    valid = isinstance(asked, str) or (isinstance(asked, int) and not isinstance(asked, bool))
    if "id" in parsed and not valid:
        return _error(types.INVALID_REQUEST, "an id is a string or an integer")
    try:
        message: types.JSONRPCMessage = types.jsonrpc_message_adapter.validate_python(
            parsed, by_name=False
        )
    except ValidationError:
        return _error(types.INVALID_REQUEST, _NOT_A_MESSAGE,
                      asked if valid and "method" in parsed else None)  # fmt: skip
    return message


def _response(parsed: dict[str, Any]) -> types.JSONRPCMessage | None:
    """A response (a result or an error, no method) as the SDK takes it, or None: one MCP
    does not take is dropped, said in the log (its id's kind and why, not its words). Never
    answered: an error for an error is what a peer echoing errors answers again."""
    asked = parsed.get("id")
    valid = isinstance(asked, str) or (isinstance(asked, int) and not isinstance(asked, bool))
    if "id" in parsed and not valid and not (asked is None and "error" in parsed):
        why = f"an id of {type(asked).__name__}"
    else:
        try:
            message: types.JSONRPCMessage = types.jsonrpc_message_adapter.validate_python(
                parsed, by_name=False
            )
        except ValidationError as exc:
            why = f"{exc.error_count()} fields not valid"
        else:
            if isinstance(message, types.JSONRPCResponse | types.JSONRPCError):
                return message
            why = "not a response"  # pragma: no cover - no method: no request nor notification
    log.info("dropped a response MCP does not take, unanswered", extra={"why": why})
    return None


def _error(code: int, said: str, asked: str | int | None = None) -> _Answer:
    return _Answer(
        types.JSONRPCError(jsonrpc="2.0", id=asked, error=types.ErrorData(code=code, message=said))
    )


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _null_input() -> int:
    return os.open(os.devnull, os.O_RDONLY)


def _stderr() -> int:
    return os.dup(2)


@contextmanager
def _claimed(fd: int, mode: str, diversion: Callable[[], int]) -> Iterator[IO[bytes]]:
    """The protocol's own duplicate of ``fd`` (not inheritable: no child gets it), ``fd``
    pointing at what ``diversion`` opens meanwhile, and back at the wire after. The duplicate
    is never closed: a worker thread may still be reading it."""
    wire = os.dup(fd)
    opened = diversion()
    try:
        os.dup2(opened, fd)
    finally:
        os.close(opened)
    try:
        yield os.fdopen(wire, mode, closefd=False)
    finally:
        os.dup2(wire, fd)
