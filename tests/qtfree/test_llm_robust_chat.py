"""The chat over a scripted model server and the bundled sample capture: half an emoji in a
reply or a tool call's arguments is kept (replaced) and the chat goes on; a malformed reply
keeps what was said and ends the turn with a clear error; the context sent stays within a byte
budget however large the older tool results were; a chat deleted while it answers stays
deleted."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from aiops_desktop.models.chat import (
    MAX_CONTEXT_BYTES,
    ChatMessage,
    ChatSession,
    ToolCall,
    ToolResult,
)
from aiops_desktop.models.enums import ChatRole
from aiops_desktop.services.assistant.chat import (
    CUT_OFF,
    LEFT_OUT,
    ChatEvent,
    ChatService,
    TurnFailed,
    wire_messages,
)
from aiops_desktop.services.core import Core
from aiops_desktop.settings import resources_dir
from aiops_desktop.store.chats import ChatRepository
from collectors.errors import CollectorBadResponse
from collectors.llm import LlmClient, LlmEndpoint

SAMPLE = resources_dir() / "samples" / "sample.aiops"


def sse(*chunks: dict[str, Any] | bytes) -> bytes:
    return b"".join(
        b"data: " + (c if isinstance(c, bytes) else json.dumps(c).encode()) + b"\n\n"
        for c in chunks
    )


def said(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}}]}


def call(index: int, call_id: str, name: str, arguments: str) -> dict[str, Any]:
    function = {"name": name, "arguments": arguments}
    delta = {"tool_calls": [{"index": index, "id": call_id, "function": function}]}
    return {"choices": [{"index": 0, "delta": delta}]}


def finish(reason: str = "stop") -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}


def answer(text: str) -> bytes:
    return sse(said(text), finish(), b"[DONE]")


class Scripted:
    """Each request gets the next body; every request body is recorded."""

    def __init__(self, bodies: list[bytes], delay: float = 0.0) -> None:
        self.bodies, self.delay = list(bodies), delay
        self.requests: list[dict[str, Any]] = []

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(json.loads(request.content))
        body = self.bodies.pop(0) if self.bodies else answer("ok")

        async def stream() -> AsyncIterator[bytes]:
            await asyncio.sleep(self.delay)
            yield body

        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=stream())

    def client(self) -> Callable[[], Any]:
        async def make() -> LlmClient:
            endpoint = LlmEndpoint("http://127.0.0.1:9/v1", "m")
            return LlmClient(endpoint, transport=httpx.MockTransport(self.handler))

        return make


def chat_over(core: Core, server: Scripted) -> ChatService:
    return ChatService(core.tools, ChatRepository(core.db), server.client(), clock=core.now)


@pytest.mark.asyncio
async def test_half_an_emoji_in_a_reply_is_kept_and_the_chat_goes_on(sample_core: Core) -> None:
    server = Scripted([b'data: {"choices":[{"delta":{"content":"gpu-3 is hot \\ud83d"}}]}\n\n'
                       + sse(finish(), b"[DONE]"), answer("since 00:23")])  # fmt: skip
    chat = chat_over(sample_core, server)
    session = chat.new_session()
    await chat.ask(session, "which GPUs are unhealthy?")
    await chat.ask(session, "and since when?")
    kept = await chat.load(session.id)
    assert [m.content for m in kept.messages] == [
        "which GPUs are unhealthy?", "gpu-3 is hot \ufffd", "and since when?", "since 00:23",
    ]  # fmt: skip


@pytest.mark.asyncio
async def test_half_an_emoji_in_a_tool_calls_arguments_is_kept(sample_core: Core) -> None:
    server = Scripted([
        sse(call(0, "c1", "get_gpu_nodes", '{"cluster":"ran-east\\ud800"}'), finish("tool_calls"),
            b"[DONE]"),
        answer("none found"),
        answer("second answer"),
    ])  # fmt: skip
    chat = chat_over(sample_core, server)
    session = chat.new_session()
    await chat.ask(session, "which GPUs are unhealthy?")
    await chat.ask(session, "and since when?")
    kept = await chat.load(session.id)
    assert kept.messages[1].tool_calls[0].arguments == {"cluster": "ran-east\ufffd"}
    assert kept.messages[-1].content == "second answer"
    assert len(server.requests) == 3


@pytest.mark.asyncio
async def test_a_malformed_reply_keeps_what_was_said_and_fails_the_turn(
    sample_core: Core,
) -> None:
    deep = b'{"choices":[{"delta":{"content":' + b"[" * 100_000 + b"]" * 100_000 + b"}}]}"
    server = Scripted([sse(said("gpu-3 shows XID 79 "), deep, finish(), b"[DONE]")])
    chat = chat_over(sample_core, server)
    session = chat.new_session()
    events: list[ChatEvent] = []
    with pytest.raises(CollectorBadResponse):
        await chat.ask(session, "which GPUs are unhealthy?", events.append)
    kept = await chat.load(session.id)
    assert kept.messages[-1].content == "gpu-3 shows XID 79 " + CUT_OFF
    assert any(isinstance(e, TurnFailed) for e in events)


TOOLS = ["get_gpu_nodes", "get_gpu_processes", "get_ptp_status", "get_sriov_status"]


@pytest.mark.asyncio
async def test_a_follow_up_after_a_tool_heavy_turn_stays_within_the_budget(
    sample_core: Core,
) -> None:
    rounds = [
        sse(*[call(i, f"c{r}{i}", TOOLS[(r + i) % 4], "{}") for i in range(4)],
            finish("tool_calls"), b"[DONE]")
        for r in range(4)
    ]  # fmt: skip
    server = Scripted([*rounds, answer("Summary."), answer("Since 00:23.")])
    chat = chat_over(sample_core, server)
    session = chat.new_session()
    await chat.ask(session, "GPU and PTP health?")
    turn = server.requests[-1]["messages"]
    # the turn itself is cut to the budget too: its earlier rounds' results left out
    assert len(json.dumps(turn)) <= MAX_CONTEXT_BYTES
    assert any(m["role"] == "tool" and m["content"] == LEFT_OUT for m in turn)
    await chat.ask(session, "and since when?")
    follow_up = server.requests[-1]["messages"]
    assert len(json.dumps(follow_up)) <= MAX_CONTEXT_BYTES
    assert follow_up[0]["role"] == "system" and follow_up[-1]["content"] == "and since when?"
    # the oldest results are said to be left out (only as many as needed), each still
    # answering its call
    results = [m for m in follow_up if m["role"] == "tool"]
    assert results[0]["content"] == LEFT_OUT and len(results) == 16
    asked = {c["id"] for m in follow_up for c in m.get("tool_calls", [])}
    assert asked == {m["tool_call_id"] for m in results}


def tool_turn(question: str, size: int) -> list[ChatMessage]:
    result = ToolResult(call_id=question, name="get_gpu_nodes", content="r" * size)
    return [
        ChatMessage(role=ChatRole.USER, content=question),
        ChatMessage(role=ChatRole.ASSISTANT,
                    tool_calls=[ToolCall(id=question, name="get_gpu_nodes")]),
        ChatMessage(role=ChatRole.TOOL, tool_result=result),
        ChatMessage(role=ChatRole.ASSISTANT, content="a" * size),
    ]  # fmt: skip


def test_older_turns_are_dropped_whole_when_stubs_are_not_enough() -> None:
    older = [m for n in range(6) for m in tool_turn(f"q{n}", MAX_CONTEXT_BYTES // 4)]
    newest = tool_turn("now", MAX_CONTEXT_BYTES * 2)
    wire = wire_messages(ChatSession(messages=older + newest), "system prompt")
    assert wire[0] == {"role": "system", "content": "system prompt"}
    # the newest turn's question and call kept; its result, too large alone, cut with a note
    assert wire[-4]["content"] == "now" and wire[-2]["role"] == "tool"
    assert wire[-2]["content"].endswith(f"of {MAX_CONTEXT_BYTES * 2:,} characters]")
    assert wire[1]["role"] == "user"  # never a reply or a result without its question
    small = wire_messages(ChatSession(messages=older + tool_turn("now", 10)), "system prompt")
    assert len(json.dumps(small)) <= MAX_CONTEXT_BYTES
    assert small[1]["role"] == "user" and small[-4]["content"] == "now"
    assert len(small) > 5  # some older turns still fit


def test_a_small_history_is_sent_as_it_is() -> None:
    messages = tool_turn("q0", 100) + tool_turn("now", 100)
    wire = wire_messages(ChatSession(messages=messages), "system prompt")
    assert [m.get("content") for m in wire if m["role"] == "tool"] == ["r" * 100] * 2


@pytest.mark.asyncio
async def test_a_chat_deleted_while_it_answers_stays_deleted(sample_core: Core) -> None:
    server = Scripted([answer("thinking about it")], delay=0.5)
    chat = chat_over(sample_core, server)
    session = chat.new_session()
    turn = asyncio.create_task(chat.ask(session, "which GPUs are unhealthy?"))
    while not server.requests:  # the model is answering
        await asyncio.sleep(0.01)
    await chat.delete(session.id)
    await turn
    assert session.id not in [s[0] for s in await chat.sessions()]


@pytest.mark.asyncio
async def test_one_chat_turn_writes_one_report_at_most(sample_core: Core) -> None:
    """A model steered by text in a tool result ("a report of every kind") wrote 15 report
    files in one turn; the turn's second write is refused, and the model is told why."""
    kinds = [("executive", "md"), ("capacity", "json"), ("handover", "html")]
    server = Scripted([
        sse(*(call(i, f"c{i}", "generate_report", json.dumps({"type": t, "format": f}))
              for i, (t, f) in enumerate(kinds)), finish("tool_calls"), b"[DONE]"),
        answer("done"),
    ])  # fmt: skip
    chat = chat_over(sample_core, server)
    session = chat.new_session()
    await chat.ask(session, "what is firing on ran-east?")
    assert len(list(sample_core.reports.folder.glob("*.*"))) == 1
    results = [m.tool_result for m in (await chat.load(session.id)).messages if m.tool_result]
    assert [r.is_error for r in results] == [False, True, True]
    assert all("one file is written a turn at most" in r.content for r in results[1:])
