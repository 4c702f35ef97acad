"""A chat turn's limits against a model server that ignores them: a token count that is no
count (negative, a bool, huge) is dropped and the reply kept, and a reply that still cannot be
kept fails the turn with what was said kept; tool-call arguments over ``MAX_ARGUMENT_BYTES`` are
neither stored nor sent back, however valid their JSON (nor taken from an MCP client); and
calls asked for in the last round (where no tools were offered) are not run."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from aiops_desktop.services.assistant.chat import (
    CUT_OFF,
    MAX_CALLS_PER_ROUND,
    MAX_TOOL_ROUNDS,
    ChatEvent,
    ChatService,
    TurnFailed,
)
from aiops_desktop.services.assistant.toolbox import MAX_ARGUMENT_BYTES
from aiops_desktop.services.core import Core
from aiops_desktop.store.chats import ChatRepository
from collectors.errors import CollectorBadResponse
from collectors.llm import LlmEndpoint, LlmEvent, Reply, TextDelta
from tests.qtfree.test_llm_robust_chat import (
    Scripted,
    answer,
    call,
    chat_over,
    finish,
    said,
    sse,
)

# -- token counts ------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "usage",
    [
        {"prompt_tokens": -1, "completion_tokens": 3},
        {"prompt_tokens": True, "completion_tokens": -5},
        {"prompt_tokens": 10**30, "completion_tokens": 10**30},
    ],
)
async def test_a_token_count_that_is_no_count_is_dropped_and_the_reply_kept(
    sample_core: Core, usage: dict[str, Any]
) -> None:
    """A negative count in the server's usage made the kept message invalid: the turn died
    with a pydantic error, the streamed text lost (and the CLI printed a traceback)."""
    server = Scripted([sse(said("gpu-3 is hot"), {"choices": [], "usage": usage}, finish(),
                           b"[DONE]")])  # fmt: skip
    chat = chat_over(sample_core, server)
    session = chat.new_session()
    await chat.ask(session, "which GPUs are unhealthy?")
    reply = (await chat.load(session.id)).messages[-1]
    assert reply.content == "gpu-3 is hot"
    assert reply.tokens_prompt is None
    # none given that is a count: counted as the stream's chunks (one here)
    assert reply.tokens_completion == (3 if usage["completion_tokens"] == 3 else 1)


class _Unkeepable:
    """A client whose reply cannot be kept (a count no ``LlmClient`` gives any more)."""

    where = "the model server (http://127.0.0.1:9/v1)"
    endpoint = LlmEndpoint("http://127.0.0.1:9/v1", "m")

    async def stream(self, _messages: Any, **_options: Any) -> AsyncIterator[LlmEvent]:
        yield TextDelta("gpu-3 is hot")
        yield Reply("gpu-3 is hot", [], "stop", -1, 3, 1.0, 2.0)

    async def aclose(self) -> None:
        pass


@pytest.mark.asyncio
async def test_a_reply_that_cannot_be_kept_fails_the_turn_and_keeps_what_was_said(
    sample_core: Core,
) -> None:
    async def client() -> _Unkeepable:
        return _Unkeepable()

    chat = ChatService(sample_core.tools, ChatRepository(sample_core.db), client)
    session = chat.new_session()
    events: list[ChatEvent] = []
    with pytest.raises(CollectorBadResponse, match="could not be kept"):
        await chat.ask(session, "which GPUs are unhealthy?", events.append)
    kept = await chat.load(session.id)
    assert kept.messages[-1].content == "gpu-3 is hot" + CUT_OFF
    assert any(isinstance(e, TurnFailed) for e in events)


# -- argument sizes ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_valid_arguments_over_the_limit_are_neither_kept_nor_sent_back(
    sample_core: Core,
) -> None:
    """A 3.8 MB JSON object of arguments was kept whole in the session (SQLite) and sent to
    the server again with every later request; a long call id likewise."""
    pad = "x" * 200_000
    long_id = "c" * 50_000
    frags = [call(0, long_id, "list_clusters", '{"pad":"')]
    frags += [call(0, "", "", pad) for _ in range(19)] + [call(0, "", "", '"}')]
    server = Scripted([sse(*frags, finish("tool_calls"), b"[DONE]"), answer("done")])
    chat = chat_over(sample_core, server)
    session = chat.new_session()
    await chat.ask(session, "list the clusters")
    kept = await chat.load(session.id)
    (asked,) = kept.messages[1].tool_calls
    assert asked.arguments == {} and asked.raw_arguments is not None
    assert len(asked.raw_arguments) < MAX_ARGUMENT_BYTES + 100
    assert len(asked.id) <= 128
    result = kept.messages[2].tool_result
    assert result is not None and result.is_error and result.call_id == asked.id
    assert f"over {MAX_ARGUMENT_BYTES:,} bytes" in result.content
    assert len(json.dumps(server.requests[1])) < 64 * 1024
    row = sample_core.db.fetch_one("SELECT length(body) FROM chat_sessions WHERE id=?",
                                   (str(session.id),))  # fmt: skip
    assert row is not None and row[0] < 64 * 1024
    assert kept.messages[-1].content == "done"


@pytest.mark.asyncio
async def test_an_mcp_clients_arguments_over_the_limit_are_refused(sample_core: Core) -> None:
    """MCP calls arrive as objects, which skipped the size check."""
    big = await sample_core.tools.call("list_clusters", {"pad": "x" * MAX_ARGUMENT_BYTES})
    assert big.is_error and f"over {MAX_ARGUMENT_BYTES:,} bytes" in big.content
    deep: dict[str, Any] = {}
    for _ in range(5000):
        deep = {"a": deep}
    nested = await sample_core.tools.call("list_clusters", deep)
    assert nested.is_error and "not valid" in nested.content
    small = await sample_core.tools.call("list_clusters", {})
    assert not small.is_error


# -- rounds ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_calls_asked_for_in_the_last_round_are_not_run(sample_core: Core) -> None:
    """The last request offers no tools; a server that still sent calls had them run: six
    rounds, 24 calls, and the turn ended on a tool result."""

    def round_(r: int, text: str = "") -> bytes:
        calls = [call(i, f"c{r}{i}", "list_clusters", "{}") for i in range(MAX_CALLS_PER_ROUND)]
        return sse(*([said(text)] if text else []), *calls, finish("tool_calls"), b"[DONE]")

    server = Scripted([*(round_(r) for r in range(MAX_TOOL_ROUNDS)),
                       round_(MAX_TOOL_ROUNDS, "ran-hub is the only cluster.")])  # fmt: skip
    chat = chat_over(sample_core, server)
    session = chat.new_session()
    await chat.ask(session, "list the clusters")
    assert len(server.requests) == MAX_TOOL_ROUNDS + 1 and "tools" not in server.requests[-1]
    results = [m.tool_result for m in session.messages if m.tool_result is not None]
    ran = [r for r in results if not r.is_error]
    assert len(ran) == MAX_TOOL_ROUNDS * MAX_CALLS_PER_ROUND
    spent = results[len(ran) :]
    assert [r.content for r in spent] == ["not run: this turn's tool rounds are spent"] * 4
    assert all(r.is_error for r in spent)
    last_reply = session.messages[-1 - len(spent)]
    assert last_reply.content == "ran-hub is the only cluster." and len(last_reply.tool_calls) == 4
    kept = await chat.load(session.id)
    assert kept.messages == session.messages
    # the next turn sends every call with its result (a strict server refuses one without)
    await chat.ask(session, "and now?")
    wire = server.requests[-1]["messages"]
    asked = [c["id"] for m in wire if m.get("tool_calls") for c in m["tool_calls"]]
    assert asked == [m["tool_call_id"] for m in wire if m["role"] == "tool"]
