"""The chat's tool loop against a real llama.cpp server (SmolLM2-135M, one thread) over the
bundled sample capture: forced tool calls run the app's tools for real, text streams, a stop
mid-reply keeps what was said, a server that dies mid-reply and one that never answers are
said clearly, malformed tool arguments come back to the model as an error and the session
goes on; and a canary secret typed into a question never reaches the server nor the cache."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aiops_desktop.logs import register_secret
from aiops_desktop.models.enums import ChatRole, PersonaName
from aiops_desktop.services.assistant.chat import (
    CUT_OFF,
    STOPPED,
    ChatEvent,
    ChatService,
    ReplyDone,
    TextChunk,
)
from aiops_desktop.services.core import Core
from aiops_desktop.settings import resources_dir
from aiops_desktop.store.chats import ChatRepository
from collectors.errors import CollectorError, CollectorTimeout
from collectors.llm import LlmClient, LlmEndpoint, Reply, TextDelta
from tests.servers.llama import MODEL_NAME, RunningLlama, start_llama
from tests.servers.processes import SilentServer

SAMPLE = resources_dir() / "samples" / "sample.aiops"
pytestmark = pytest.mark.integration


def forced(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def chat_over(core: Core, url: str, **endpoint: Any) -> ChatService:
    async def client() -> LlmClient:
        # greedy (temperature 0): the same reply whatever the server was asked before
        return LlmClient(LlmEndpoint(url, MODEL_NAME, **{"temperature": 0.0, **endpoint}))

    return ChatService(core.tools, ChatRepository(core.db), client, clock=core.now)


@pytest.mark.asyncio
async def test_a_forced_tool_call_runs_the_apps_tool_and_the_turn_is_kept(
    llama: RunningLlama, sample_core: Core
) -> None:
    chat = chat_over(sample_core, llama.url)
    session = chat.new_session(PersonaName.PLATFORM_OPS)
    events: list[ChatEvent] = []
    await chat.ask(session, "Which clusters are there?", events.append,
                   tool_choice=forced("list_clusters"), max_tokens=48)  # fmt: skip
    roles = [m.role for m in session.messages]
    assert roles[:3] == [ChatRole.USER, ChatRole.ASSISTANT, ChatRole.TOOL]
    call = session.messages[1].tool_calls[0]
    assert call.name == "list_clusters"
    result = session.messages[2].tool_result
    assert result is not None and result.call_id == call.id
    # the tool ran for real on the capture: the sample's clusters are in its answer
    assert not result.is_error and "ran-east" in result.content, result.content[:300]
    # every reply of the turn has its figures; the turn ends with a reply without tools
    replies = [m for m in session.messages if m.role is ChatRole.ASSISTANT]
    assert all(m.latency_ms and m.tokens_completion for m in replies)
    assert not replies[-1].tool_calls
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("ToolStarted") < kinds.index("ToolFinished") < len(kinds) - 1
    assert isinstance(events[-1], ReplyDone)
    kept = await chat.load(session.id)
    assert kept.messages == session.messages and kept.title == "Which clusters are there?"
    assert (await chat.sessions())[0][0] == session.id


@pytest.mark.asyncio
async def test_a_persona_calls_only_its_own_tools(llama: RunningLlama, sample_core: Core) -> None:
    """gpu-expert's forced GPU tool runs (its answer, or a clear refusal of what the small
    model wrote as arguments, goes back to the model); a PTP tool it may not call is refused by
    name."""
    chat = chat_over(sample_core, llama.url)
    session = chat.new_session(PersonaName.GPU_EXPERT)
    await chat.ask(session, "GPU health?", tool_choice=forced("get_gpu_summary"), max_tokens=48)
    first = next(m.tool_result for m in session.messages if m.tool_result)
    assert first is not None and first.name == "get_gpu_summary"
    assert (
        ('"gpus"' in first.content)
        if not first.is_error
        else first.content.startswith("get_gpu_summary")
    )
    outcome = await chat.toolbox.call(
        "get_ptp_status", "{}", allowed=chat.personas[PersonaName.GPU_EXPERT].allowed_tools
    )
    assert outcome.is_error and "no tool named 'get_ptp_status'" in outcome.content
    assert "get_gpu_summary" in outcome.content  # the refusal names what it may call


@pytest.mark.asyncio
async def test_text_streams_in_pieces_with_its_latencies(llama: RunningLlama) -> None:
    client = LlmClient(LlmEndpoint(llama.url, MODEL_NAME))
    deltas: list[str] = []
    reply: Reply | None = None
    async for event in client.stream([{"role": "user", "content": "Name three colours."}],
                                     max_tokens=24, temperature=0.0):  # fmt: skip
        if isinstance(event, TextDelta):
            deltas.append(event.text)
        else:
            reply = event
    await client.aclose()
    assert reply is not None and len(deltas) > 3 and "".join(deltas) == reply.text
    assert reply.first_token_ms is not None and 0 < reply.first_token_ms < reply.total_ms
    assert reply.tokens_per_s is not None and reply.tokens_per_s > 1


@pytest.mark.asyncio
async def test_malformed_tool_arguments_come_back_as_an_error_and_the_turn_goes_on(
    llama: RunningLlama, sample_core: Core
) -> None:
    """Four tokens cut the forced call's JSON short: the model gets a clear error back."""
    chat = chat_over(sample_core, llama.url)
    session = chat.new_session()
    await chat.ask(session, "List alerts", tool_choice=forced("list_alerts"), max_tokens=4)
    call = session.messages[1].tool_calls[0]
    assert call.raw_arguments is not None  # not a JSON object
    result = session.messages[2].tool_result
    assert result is not None and result.is_error
    assert "arguments are not valid: not JSON" in result.content
    assert session.messages[-1].role is ChatRole.ASSISTANT  # the turn went on and ended
    assert (await chat.load(session.id)).messages == session.messages


@pytest.mark.asyncio
async def test_stop_mid_reply_keeps_what_was_said(llama: RunningLlama, sample_core: Core) -> None:
    chat = chat_over(sample_core, llama.url)
    session = chat.new_session()
    pieces: list[str] = []
    first = asyncio.Event()

    def on_event(event: ChatEvent) -> None:
        if isinstance(event, TextChunk):
            pieces.append(event.text)
            if len(pieces) >= 3:
                first.set()

    # persona without forcing: ask something the model answers in words (tools refused by
    # the server's grammar only when forced, so give it none: an unknown persona tool list)
    chat.personas = {**chat.personas, PersonaName.DEFAULT: chat.personas[
        PersonaName.DEFAULT].model_copy(update={"allowed_tools": []})}  # fmt: skip
    turn = asyncio.create_task(chat.ask(session, "Write a long poem about clocks.", on_event,
                                        max_tokens=400))  # fmt: skip
    await asyncio.wait_for(first.wait(), 60)
    turn.cancel()
    with pytest.raises(asyncio.CancelledError):
        await turn
    kept = await chat.load(session.id)
    assert kept.messages[-1].content.endswith(STOPPED)
    assert kept.messages[-1].content.removesuffix(STOPPED).startswith("".join(pieces[:3]))


@pytest.mark.llm
@pytest.mark.asyncio
async def test_a_server_that_dies_mid_reply_is_said_and_the_session_kept(
    tmp_path: Path, sample_core: Core
) -> None:
    dying = await asyncio.to_thread(start_llama, tmp_path / "dying", n_ctx=2048)
    try:
        chat = chat_over(sample_core, dying.url)
        chat.personas = {**chat.personas, PersonaName.DEFAULT: chat.personas[
            PersonaName.DEFAULT].model_copy(update={"allowed_tools": []})}  # fmt: skip
        session = chat.new_session()
        started = asyncio.Event()

        def on_event(event: ChatEvent) -> None:
            if isinstance(event, TextChunk):
                started.set()

        turn = asyncio.create_task(chat.ask(session, "Tell a long story.", on_event,
                                            max_tokens=500))  # fmt: skip
        await asyncio.wait_for(started.wait(), 60)
        dying.process.proc.kill()
        with pytest.raises(CollectorError, match="model server") as failed:
            await turn
        assert "broke the connection" in str(failed.value) or "closed the stream" in str(
            failed.value
        )
    finally:
        dying.stop()
    kept = await chat.load(session.id)
    assert kept.messages[0].content == "Tell a long story."
    # what it said before it died stays, marked as cut off
    assert kept.messages[-1].role is ChatRole.ASSISTANT
    assert kept.messages[-1].content.endswith(CUT_OFF) and len(kept.messages[-1].content) > 10


@pytest.mark.asyncio
async def test_a_server_that_never_answers_times_out() -> None:
    silent = SilentServer()
    try:
        client = LlmClient(LlmEndpoint(f"{silent.url}/v1", "m", timeout_s=1.0))
        with pytest.raises(CollectorTimeout, match="did not"):
            await client.complete([{"role": "user", "content": "hi"}])
        await client.aclose()
    finally:
        silent.stop()


CANARY = "sha256~chat-canary-9a8b7c6d5e4f3a2b1c0d"


@pytest.mark.asyncio
async def test_a_canary_secret_reaches_neither_the_server_nor_the_cache(
    sample_core: Core,
) -> None:
    """The question carries a token and a secret the keyring handed out; the wire (every
    request of the turn, tool results included) and the stored session are searched."""
    keyring_secret = "only-the-keyring-knows-this-5f6e7d"
    register_secret(keyring_secret)
    sent: list[bytes] = []
    replies = iter([
        _sse_calls(["list_incidents"]),
        _sse_text("Done."),
    ])  # fmt: skip

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)
        return httpx.Response(200, content=next(replies))

    async def client() -> LlmClient:
        return LlmClient(LlmEndpoint("http://127.0.0.1:9/v1", "m"),
                         transport=httpx.MockTransport(handler))  # fmt: skip

    chat = ChatService(sample_core.tools, ChatRepository(sample_core.db), client)
    session = chat.new_session()
    api_key = "sk-c4a7e0b91d2f4a6c8e0b2d4f6a8c0e2d"  # a key by its vendor's shape (DeepSeek's)
    await chat.ask(session, f"my token is {CANARY} and {keyring_secret}; key {api_key}; any?")
    wire = b"".join(sent)
    assert len(sent) == 2 and b"[REDACTED]" in wire
    assert CANARY.encode() not in wire and keyring_secret.encode() not in wire
    assert api_key.encode() not in wire
    stored = (await chat.load(session.id)).model_dump_json()
    assert CANARY not in stored and keyring_secret not in stored and api_key not in stored
    assert session.messages[2].tool_result is not None  # the tool's answer went back too


def _sse_text(text: str) -> bytes:
    chunk = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    return f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode()


def _sse_calls(names: list[str]) -> bytes:
    calls = [
        {"index": n, "id": f"call_{n}", "type": "function",
         "function": {"name": name, "arguments": "{}"}}
        for n, name in enumerate(names)
    ]  # fmt: skip
    chunk = {"choices": [{"index": 0, "delta": {"tool_calls": calls}, "finish_reason": None}]}
    end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
    return f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode()


@pytest.mark.asyncio
async def test_several_calls_per_reply_are_run_and_both_caps_hold(sample_core: Core) -> None:
    """A model that asks for six tools in every reply: four run per reply (the rest are not
    kept, and the reply says so: a server sending 300 a reply took minutes a turn, each one
    stored, saved and shown), and after five rounds it is offered no tools, so it must
    answer."""
    from aiops_desktop.services.assistant.chat import MAX_CALLS_PER_ROUND, MAX_TOOL_ROUNDS

    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        if "tools" not in body:
            return httpx.Response(200, content=_sse_text("Enough."))
        return httpx.Response(200, content=_sse_calls(["list_clusters"] * 6))

    async def client() -> LlmClient:
        return LlmClient(LlmEndpoint("http://127.0.0.1:9/v1", "m"),
                         transport=httpx.MockTransport(handler))  # fmt: skip

    chat = ChatService(sample_core.tools, ChatRepository(sample_core.db), client)
    session = chat.new_session()
    await chat.ask(session, "everything, again and again")
    assert len(bodies) == MAX_TOOL_ROUNDS + 1 and "tools" not in bodies[-1]
    results = [m.tool_result for m in session.messages if m.tool_result is not None]
    assert len(results) == MAX_CALLS_PER_ROUND * MAX_TOOL_ROUNDS
    assert not any(r.is_error for r in results) and "ran-hub" in results[0].content
    asked = [m for m in session.messages if m.tool_calls]
    assert all(m.content.endswith("[2 more tool calls not run: at most 4 a reply]") for m in asked)
    assert session.messages[-1].content == "Enough."
    # the wire keeps each call with its result (ids matched), 50 messages at most
    last = bodies[-1]["messages"]
    assert len(last) <= 51 and last[0]["role"] == "system" and last[1]["role"] != "tool"


@pytest.mark.asyncio
async def test_arguments_nested_too_deep_are_refused_and_the_session_goes_on(
    sample_core: Core,
) -> None:
    """Arguments 3,000 deep raised RecursionError in the parser (the turn died), 300 deep
    parsed and then could not be stored (every later turn of the session failed)."""
    from aiops_desktop.services.assistant.chat import nesting

    assert nesting('{"a": "[[[[\\"[", "b": [[1]]}') == 3  # brackets in strings do not count
    for depth in (300, 3000):
        deep = "[" * depth + "]" * depth
        calls = [
            {
                "index": 0,
                "id": "call_0",
                "type": "function",
                "function": {"name": "list_clusters", "arguments": '{"x": ' + deep + "}"},
            }
        ]
        chunk = {"choices": [{"index": 0, "delta": {"tool_calls": calls}, "finish_reason": None}]}
        end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
        body = f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(end)}\n\ndata: [DONE]\n\n"
        replies = iter([body.encode(), _sse_text("Fine."), _sse_text("Still fine.")])

        def handler(_r: httpx.Request, replies: Iterator[bytes] = replies) -> httpx.Response:
            return httpx.Response(200, content=next(replies))

        async def client(handler: Callable[..., httpx.Response] = handler) -> LlmClient:
            return LlmClient(LlmEndpoint("http://127.0.0.1:9/v1", "m"),
                             transport=httpx.MockTransport(handler))  # fmt: skip

        chat = ChatService(sample_core.tools, ChatRepository(sample_core.db), client)
        session = chat.new_session()
        await chat.ask(session, "list the clusters")
        (result,) = [m.tool_result for m in session.messages if m.tool_result is not None]
        assert result.is_error and "nest deeper than 32 levels" in result.content
        await chat.ask(session, "and now?")  # the session is stored and goes on
        assert (await chat.load(session.id)).messages[-1].content == "Still fine."


@pytest.mark.asyncio
async def test_a_stop_during_a_tool_run_answers_every_call(sample_core: Core) -> None:
    """Stopped while a tool runs: the calls that did not run get "not run: stopped", so the
    next request answers every call it sends (a strict server refuses one left without)."""
    started, bodies = asyncio.Event(), []
    replies = iter([_sse_calls(["list_clusters", "list_incidents"]), _sse_text("Here.")])

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, content=next(replies))

    async def client() -> LlmClient:
        return LlmClient(LlmEndpoint("http://127.0.0.1:9/v1", "m"),
                         transport=httpx.MockTransport(handler))  # fmt: skip

    chat = ChatService(sample_core.tools, ChatRepository(sample_core.db), client)
    real = chat.toolbox.call

    async def slow(name, arguments, *, allowed=None, turn=None):  # type: ignore[no-untyped-def]
        started.set()
        await asyncio.sleep(30)
        return await real(name, arguments, allowed=allowed, turn=turn)

    chat.toolbox.call = slow  # type: ignore[method-assign]
    session = chat.new_session()
    turn = asyncio.create_task(chat.ask(session, "list the clusters"))
    await asyncio.wait_for(started.wait(), 10)
    turn.cancel()
    with pytest.raises(asyncio.CancelledError):
        await turn
    chat.toolbox.call = real  # type: ignore[method-assign]
    results = [m.tool_result.content for m in session.messages if m.tool_result is not None]
    assert results == ["not run: stopped", "not run: stopped"]
    await chat.ask(session, "and GPUs?")
    wire = bodies[-1]["messages"]
    asked = [c["id"] for m in wire if m.get("tool_calls") for c in m["tool_calls"]]
    answered = [m["tool_call_id"] for m in wire if m["role"] == "tool"]
    assert asked == answered == ["call_0", "call_1"]
