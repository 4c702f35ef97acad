"""Review fix: the newest turn is trimmed too. One tool-heavy question (4 calls a round, each
result up to 16 KiB, 5 rounds) sent ~320 KiB to a model that refuses ~23k tokens: now its
earlier rounds' results are left out first, and a round too large alone is cut, result by
result, with a note; every call still gets its result."""

from __future__ import annotations

import json
import re
from typing import Any

from aiops_desktop.models.chat import (
    MAX_CONTEXT_BYTES,
    ChatMessage,
    ChatSession,
    ToolCall,
    ToolResult,
)
from aiops_desktop.models.enums import ChatRole
from aiops_desktop.services.assistant.chat import LEFT_OUT, wire_messages
from aiops_desktop.services.assistant.toolbox import MAX_RESULT_BYTES

CUT_NOTE = re.compile(r" \[cut to keep the request small: the first ([\d,]+) of ([\d,]+) "
                      r"characters\]$")  # fmt: skip


def one_round(session: ChatSession, n: int, sizes: list[int]) -> list[str]:
    calls = [ToolCall(id=f"c{n}-{i}", name="query_logs", arguments={"logql": '{app="ptp"}'})
             for i in range(len(sizes))]  # fmt: skip
    session.messages.append(ChatMessage(role=ChatRole.ASSISTANT, tool_calls=calls))
    for c, size in zip(calls, sizes, strict=True):
        result = ToolResult(call_id=c.id, name=c.name, content=c.id[-1] * size)
        session.messages.append(ChatMessage(role=ChatRole.TOOL, tool_result=result))
    return [c.id for c in calls]


def answered(wire: list[dict[str, Any]]) -> None:
    """Every call the request sends is followed by its result (the OpenAI chat schema)."""
    for i, m in enumerate(wire):
        if m.get("tool_calls"):
            ids = [c["id"] for c in m["tool_calls"]]
            after = wire[i + 1 : i + 1 + len(ids)]
            assert [r["role"] for r in after] == ["tool"] * len(ids)
            assert [r["tool_call_id"] for r in after] == ids


def test_a_tool_heavy_turn_stays_within_the_budget_round_after_round() -> None:
    session = ChatSession()
    session.messages.append(ChatMessage(role=ChatRole.USER, content="why is PTP in holdover?"))
    for n in range(5):
        current = one_round(session, n, [MAX_RESULT_BYTES - 100] * 4)
        wire = wire_messages(session, "system prompt")
        assert len(json.dumps(wire)) <= MAX_CONTEXT_BYTES, n
        answered(wire)
        assert wire[1] == {"role": "user", "content": "why is PTP in holdover?"}
        results = {m["tool_call_id"]: m["content"] for m in wire if m["role"] == "tool"}
        # earlier rounds' results are left out; the current round's are cut evenly, each
        # its start and a note that says how much was kept
        assert all(results[c] == LEFT_OUT for c in results if c not in current)
        kept = []
        for c in current:
            note = CUT_NOTE.search(results[c])
            assert note is not None, results[c][-100:]
            text = results[c][: note.start()]
            assert text == c[-1] * len(text) and len(text) > 3000
            assert note[1] == f"{len(text):,}" and note[2] == f"{MAX_RESULT_BYTES - 100:,}"
            kept.append(len(text))
        assert max(kept) - min(kept) <= 1
    # the session keeps every result whole: only the request is cut
    assert all(len(m.tool_result.content) == MAX_RESULT_BYTES - 100
               for m in session.messages if m.tool_result is not None)  # fmt: skip


def test_earlier_rounds_go_first_and_only_as_many_as_needed() -> None:
    session = ChatSession()
    session.messages.append(ChatMessage(role=ChatRole.USER, content="older question"))
    session.messages.append(ChatMessage(role=ChatRole.ASSISTANT, content="older answer"))
    session.messages.append(ChatMessage(role=ChatRole.USER, content="GPU and PTP health?"))
    for n in range(4):
        current = one_round(session, n, [3000] * 2)
    wire = wire_messages(session, "system prompt")
    assert len(json.dumps(wire)) <= MAX_CONTEXT_BYTES
    answered(wire)
    results = [(m["tool_call_id"], m["content"]) for m in wire if m["role"] == "tool"]
    # the current round whole; of the earlier ones the oldest left out, the newest kept
    assert [r for c, r in results if c in current] == ["0" * 3000, "1" * 3000]  # c3-0, c3-1
    assert results[0][1] == LEFT_OUT and results[-3][1] != LEFT_OUT
    assert wire[1]["content"] == "GPU and PTP health?"  # the older turn went before them


def test_a_small_result_of_a_round_too_large_stays_whole() -> None:
    session = ChatSession()
    session.messages.append(ChatMessage(role=ChatRole.USER, content="which GPUs are hot?"))
    current = one_round(session, 0, [200, MAX_CONTEXT_BYTES * 2, MAX_CONTEXT_BYTES])
    wire = wire_messages(session, "system prompt")
    assert len(json.dumps(wire)) <= MAX_CONTEXT_BYTES
    answered(wire)
    results = {m["tool_call_id"]: m["content"] for m in wire if m["role"] == "tool"}
    assert results[current[0]] == "0" * 200  # it needs less than its share: kept whole
    cut = [CUT_NOTE.search(results[c]) for c in current[1:]]
    assert all(cut)
    # the two large ones share what is left evenly, not in proportion to their size
    assert abs(cut[0].start() - cut[1].start()) <= 1  # type: ignore[union-attr]
    assert len(json.dumps(wire)) > MAX_CONTEXT_BYTES - 200  # and the budget is used
