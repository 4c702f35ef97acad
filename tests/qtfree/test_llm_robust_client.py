"""The model client against hostile replies: half an emoji (a lone surrogate escape) never
reaches a caller, a malformed reply (nested too deep, a corrupt gzip body) is a
``CollectorBadResponse`` rather than a raw exception, and the event parser's work grows
linearly with what it is fed."""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from collectors.errors import CollectorBadResponse, CollectorResponseTooLarge
from collectors.llm import LlmClient, LlmEndpoint, Reply, TextDelta, _Sse

DEEP = b'{"choices":[{"delta":{"content":' + b"[" * 100_000 + b"]" * 100_000 + b"}}]}"


def sse(*events: bytes) -> bytes:
    return b"".join(b"data: " + e + b"\n\n" for e in events)


def text(words: str) -> bytes:
    return json.dumps({"choices": [{"index": 0, "delta": {"content": words}}]}).encode()


FINISH = json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}).encode()


def client(body: bytes, headers: dict[str, str] | None = None) -> LlmClient:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=headers, content=body)

    endpoint = LlmEndpoint("http://127.0.0.1:9/v1", "m")
    return LlmClient(endpoint, transport=httpx.MockTransport(handler))


async def events_of(llm: LlmClient) -> list[Any]:
    try:
        return [e async for e in llm.stream([{"role": "user", "content": "hi"}])]
    finally:
        await llm.aclose()


@pytest.mark.asyncio
async def test_a_lone_surrogate_in_a_reply_becomes_a_replacement_character() -> None:
    function = {"name": "list_alerts\udc00", "arguments": {"q": "x\ud83d"}}
    calls = {"choices": [{"delta": {"tool_calls": [{"id": "c\ud800", "function": function}]}}]}
    body = sse(b'{"choices":[{"delta":{"content":"gpu-3 is hot \\ud83d"}}]}',
               json.dumps(calls).encode(), FINISH, b"[DONE]")  # fmt: skip
    events = await events_of(client(body))
    delta, reply = events[0], events[-1]
    assert isinstance(delta, TextDelta) and delta.text == "gpu-3 is hot \ufffd"
    assert isinstance(reply, Reply) and reply.text == "gpu-3 is hot \ufffd"
    call = reply.tool_calls[0]
    assert (call.id, call.name) == ("c\ufffd", "list_alerts\ufffd")
    # every string can be stored (utf-8) as it is
    for value in (reply.text, call.id, call.name, call.arguments):
        value.encode()


@pytest.mark.asyncio
async def test_a_complete_emoji_is_left_alone() -> None:
    body = sse(b'{"choices":[{"delta":{"content":"hot \\ud83d\\udd25"}}]}', FINISH, b"[DONE]")
    reply = (await events_of(client(body)))[-1]
    assert isinstance(reply, Reply) and reply.text == "hot \N{FIRE}"


@pytest.mark.asyncio
async def test_an_event_nested_too_deep_is_a_bad_response() -> None:
    assert len(DEEP) < 256 * 1024  # under the per-event bound: only the parser refuses it
    with pytest.raises(CollectorBadResponse, match="not JSON"):
        await events_of(client(sse(text("partial "), DEEP, FINISH, b"[DONE]")))


@pytest.mark.asyncio
async def test_a_model_list_nested_too_deep_is_a_bad_response() -> None:
    llm = client(b'{"data":' + b"[" * 50_000 + b"]" * 50_000 + b"}")
    try:
        with pytest.raises(CollectorBadResponse, match="model list"):
            await llm.models()
    finally:
        await llm.aclose()


@pytest.mark.asyncio
async def test_a_corrupt_gzip_body_is_a_bad_response() -> None:
    packer = zlib.compressobj(wbits=31)
    head = packer.compress(sse(text("gpu-3 shows XID 79 "))) + packer.flush(zlib.Z_SYNC_FLUSH)

    async def handler(request: httpx.Request) -> httpx.Response:
        async def body() -> AsyncIterator[bytes]:
            yield head
            yield b"\x00garbage-not-deflate" * 10

        headers = {"content-type": "text/event-stream", "content-encoding": "gzip"}
        return httpx.Response(200, headers=headers, content=body())

    llm = LlmClient(LlmEndpoint("http://127.0.0.1:9/v1", "m"),
                    transport=httpx.MockTransport(handler))  # fmt: skip
    with pytest.raises(CollectorBadResponse, match="decoded"):
        await events_of(llm)


def feeding_time(lines: int) -> float:
    """The CPU time (not wall time: others share the machine) of the parser over one chunk of
    ``lines`` blank lines, the best of five runs."""
    best = float("inf")
    for _ in range(5):
        parser = _Sse("the model server")
        started = time.process_time()
        parser.feed(b"\n" * lines)
        best = min(best, time.process_time() - started)
    return best


def test_the_event_parser_is_linear_in_its_input() -> None:
    # twenty times the input costs about twenty times the work (it was 80 to 130 times: each
    # line re-split the rest of the buffer; 240,000 lines: under the per-event bound)
    small, large = feeding_time(12_000), feeding_time(240_000)
    assert large / small < 50, (small, large)


def test_events_across_chunks_and_the_bounds_still_hold() -> None:
    parser = _Sse("the model server")
    whole = sse(text("a"), text("b")) + b"data: [DONE]\r\n\r\n"
    events = [e for i in range(len(whole)) for e in parser.feed(whole[i : i + 1])]
    assert [json.loads(e)["choices"][0]["delta"]["content"] for e in events[:2]] == ["a", "b"]
    assert events[2] == "[DONE]"
    # many small events in one chunk larger than the per-event bound are fine
    many = sse(*[text("x" * 100)] * 3000)
    assert len(many) > 256 * 1024 and len(_Sse("s").feed(many)) == 3000
    # one line that never ends is refused once over the bound, however it is cut
    endless = _Sse("the model server")
    with pytest.raises(CollectorResponseTooLarge):
        for _ in range(300):
            endless.feed(b"data: " + b"x" * 1024)
