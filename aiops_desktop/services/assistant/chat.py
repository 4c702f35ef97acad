"""Chat with the local model over the app's read-only tools.

One turn (``ChatService.ask``): the person's question joins the session; the model gets the
persona's system prompt, the clusters in focus and the session's last 50 messages (past
``MAX_CONTEXT_BYTES``: older tool results left out, then older turns, then the newest turn's
earlier rounds' results; a round's results too large alone are cut, with a note), and may ask
for tools (only the persona's; several per reply, at most ``MAX_CALLS_PER_ROUND``, for at most
``MAX_TOOL_ROUNDS`` replies, then it must answer: a call it still asks for is not run). Each
call runs through the ``ToolBox`` (validated, bounded, redacted); a malformed call comes back to
the model as a clear error and the turn goes on. Every step is reported as it happens
(``on_event``) and kept in the store: the question at once, each reply and tool result as it
arrives, so a turn that is stopped, times out or loses its server keeps everything said so far
(a stopped reply is marked so).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from aiops_desktop.models.base import utcnow
from aiops_desktop.models.chat import (
    MAX_CONTEXT_BYTES,
    MAX_QUESTION_CHARS,
    ChatMessage,
    ChatSession,
    Persona,
    ToolCall,
    ToolResult,
)
from aiops_desktop.models.enums import ChatRole, PersonaName
from aiops_desktop.models.errors import AppError, NotFoundError, UsageError
from aiops_desktop.models.text import time_text
from aiops_desktop.services.assistant.personas import load_personas
from aiops_desktop.services.assistant.toolbox import (
    MAX_ARGUMENT_BYTES,
    REDACTING_IPS,
    ToolBox,
    Turn,
)
from aiops_desktop.services.runtime.access import Access, Action
from collectors.errors import CollectorBadResponse
from collectors.llm import LlmClient, LlmToolCall, Reply, TextDelta
from collectors.llm_redaction import redact_for_llm
from collectors.shapes import document_without_surrogates

if TYPE_CHECKING:
    from aiops_desktop.store.chats import ChatRepository

log = logging.getLogger("aiops.assistant.chat")
MAX_TOOL_ROUNDS = 5
MAX_CALLS_PER_ROUND = 4
MAX_ARGUMENT_DEPTH = 32  # a tool's arguments nest a few levels; deeper is refused unparsed
MAX_CALL_ID_CHARS = 128  # a call's id, as kept and sent back (servers make ~40)
#: ends the kept text of arguments over ``MAX_ARGUMENT_BYTES``: the call is refused unread
ARGUMENTS_CUT = " [cut: over the size limit]"
ROUNDS_SPENT = "not run: this turn's tool rounds are spent"
STOPPED = " [stopped]"
CUT_OFF = " [cut off]"
TITLE_CHARS = 60
LEFT_OUT = "[older tool result left out to keep the request small: call the tool again if needed]"
#: ends a result of the current round cut to fit the request (the session keeps it whole)
RESULT_CUT = " [cut to keep the request small: the first {kept:,} of {whole:,} characters]"


@dataclass(frozen=True)
class TextChunk:
    text: str


@dataclass(frozen=True)
class ToolStarted:
    call: ToolCall


@dataclass(frozen=True)
class ToolFinished:
    call: ToolCall
    result: ToolResult
    elapsed_ms: float


@dataclass(frozen=True)
class ReplyDone:
    """One model reply is complete (a turn has one per tool round, and the answer)."""

    message: ChatMessage


@dataclass(frozen=True)
class TurnFailed:
    """The turn ended early: the server is gone, too slow, refused; the session is kept."""

    error: str


ChatEvent = TextChunk | ToolStarted | ToolFinished | ReplyDone | TurnFailed
OnEvent = Callable[[ChatEvent], None]


def wire_messages(session: ChatSession, system: str) -> list[dict[str, Any]]:
    """The OpenAI messages of a session: the system prompt and the last 50 messages, never
    starting with a tool result whose call was cut off (servers refuse an orphan), trimmed to
    ``MAX_CONTEXT_BYTES`` (``within_budget``)."""
    window = session.context_window()
    while window and window[0].role is ChatRole.TOOL:
        window = window[1:]
    wire: list[dict[str, Any]] = [{"role": "system", "content": system}]
    unanswered: list[str] = []  # the calls of the last reply that have no result yet

    def answer_the_rest() -> None:  # a call left without a result (a stop, a crash)
        wire.extend({"role": "tool", "tool_call_id": i, "content": "not run"} for i in unanswered)
        unanswered.clear()

    for m in window:
        if m.role is ChatRole.TOOL and m.tool_result is not None:
            wire.append({"role": "tool", "tool_call_id": m.tool_result.call_id,
                         "content": m.tool_result.content})  # fmt: skip
            if m.tool_result.call_id in unanswered:
                unanswered.remove(m.tool_result.call_id)
            continue
        answer_the_rest()
        if m.role is ChatRole.ASSISTANT and m.tool_calls:
            # "" rather than null when it only called tools: llama.cpp's chat templates
            # read every message's content, and its request schema refuses null there
            said: dict[str, Any] = {"role": "assistant", "content": m.content}
            said["tool_calls"] = [{"id": c.id, "type": "function", "function": {
                "name": c.name,
                "arguments": c.raw_arguments if c.raw_arguments is not None
                else json.dumps(c.arguments)}} for c in m.tool_calls]  # fmt: skip
            wire.append(said)
            unanswered.extend(c.id for c in m.tool_calls)
        elif m.role in (ChatRole.USER, ChatRole.ASSISTANT):
            wire.append({"role": m.role.value, "content": m.content})
    answer_the_rest()
    return within_budget(wire, MAX_CONTEXT_BYTES)


def within_budget(wire: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """``wire`` cut to ``budget`` bytes of JSON: every tool result was re-sent with each later
    request (16 KiB each, a follow-up of one tool-heavy turn ~23k tokens: a small local model
    refused it or silently dropped the system prompt). Older tool results go first, each for a
    one-line stub (its call is still answered), then the oldest turns whole, then the newest
    turn's earlier rounds' results (4 calls a round of 16 KiB each sent 64 KiB after one round,
    320 KiB after five: the turn failed before any answer); the current round's results are
    cut last, each to an even share, with a note. The system prompt, the questions, replies
    and calls are never cut: past what they take, the budget holds."""
    sizes = [len(json.dumps(m)) for m in wire]
    total = sum(sizes) + 2 * len(wire)  # as json.dumps(wire) writes it: "[", ", ", "]"
    if total <= budget:
        return wire
    questions = [i for i, m in enumerate(wire) if m["role"] == "user"]
    newest = questions[-1] if questions else 1  # no question in sight: all is the newest turn

    def left_out(i: int) -> None:
        nonlocal total
        if wire[i]["role"] == "tool" and wire[i]["content"] != LEFT_OUT:
            wire[i] = {**wire[i], "content": LEFT_OUT}
            stub = len(json.dumps(wire[i]))
            total, sizes[i] = total - sizes[i] + stub, stub

    wire = list(wire)
    for i in range(1, newest):
        if total <= budget:
            break
        left_out(i)
    # still over: the oldest turn goes whole, up to the next question (a result never
    # outlives its call, a reply never its question)
    starts = [i for i in questions if 1 < i < newest]
    cut = 1
    while total > budget and cut < newest:
        end = starts.pop(0) if starts else newest
        total -= sum(sizes[cut:end]) + 2 * (end - cut)
        cut = end
    wire, sizes = wire[:1] + wire[cut:], sizes[:1] + sizes[cut:]
    # still over: the newest turn itself, its earlier rounds' results first, oldest first
    rounds = [i for i, m in enumerate(wire) if m["role"] == "assistant" and m.get("tool_calls")]
    current = rounds[-1] if rounds else len(wire)
    for i in range(1, current):
        if total <= budget:
            break
        left_out(i)
    if total > budget:
        _cut_results(wire, sizes, [i for i in range(current, len(wire))
                                   if wire[i]["role"] == "tool"], total - budget)  # fmt: skip
    return wire


def _cut_results(wire: list[dict[str, Any]], sizes: list[int], results: list[int],
                 over: int) -> None:  # fmt: skip
    """The current round's ``results`` cut by ``over`` bytes in all (``wire`` changed in
    place, its messages replaced): what is left is shared evenly, a result that needs less
    than its share kept whole (an error line is not cut to make room for a large answer)."""
    need = {i: sizes[i] for i in results}
    room = sum(need.values()) - over
    for n, i in enumerate(sorted(results, key=need.__getitem__)):
        share = room // (len(results) - n)
        if need[i] > share:
            shell = len(json.dumps({**wire[i], "content": ""}))
            wire[i] = {**wire[i], "content": _start_of(wire[i]["content"], share - shell)}
            need[i] = len(json.dumps(wire[i]))
        room -= need[i]


def _start_of(text: str, room: int) -> str:
    """The longest start of ``text`` that, with ``RESULT_CUT`` after it, is at most ``room``
    characters of JSON (escapes counted; only the note when even none of it fits)."""

    def cut(kept: int) -> str:
        return text[:kept] + RESULT_CUT.format(kept=kept, whole=len(text))

    low, high = 0, len(text)
    while low < high:  # the most it keeps that fits
        mid = (low + high + 1) // 2
        if len(json.dumps(cut(mid))) - 2 <= room:
            low = mid
        else:
            high = mid - 1
    return cut(low)


def nesting(text: str) -> int:
    """How deep JSON text nests (brackets outside strings), read without recursion: a model's
    arguments nested 3,000 deep raised RecursionError in the parser, and 300 deep parsed but
    could no longer be stored, so the session failed on every later turn."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _call_of(raw: LlmToolCall) -> ToolCall:
    call_id, name = raw.id[:MAX_CALL_ID_CHARS], raw.name[:100]
    if len(raw.arguments.encode()) > MAX_ARGUMENT_BYTES:
        # measured before parsing: valid JSON of megabytes was kept whole in the session and
        # sent back with every later request; only its start is kept, to show
        cut = raw.arguments.encode()[:MAX_ARGUMENT_BYTES].decode(errors="ignore") + ARGUMENTS_CUT
        return ToolCall(id=call_id, name=name, raw_arguments=cut)
    parsed = None
    if not raw.arguments.strip():
        parsed = {}
    elif nesting(raw.arguments) <= MAX_ARGUMENT_DEPTH:
        with contextlib.suppress(ValueError):
            parsed = json.loads(raw.arguments)
    if isinstance(parsed, dict):
        return ToolCall(id=call_id, name=name, arguments=document_without_surrogates(parsed))
    return ToolCall(id=call_id, name=name, raw_arguments=raw.arguments[:8000])


def _refusal(call: ToolCall) -> str:
    """Why ``call``'s arguments are not even read ("" when they may be)."""
    if call.raw_arguments is None:
        return ""
    if call.raw_arguments.endswith(ARGUMENTS_CUT):
        return f"{call.name}: the arguments are over {MAX_ARGUMENT_BYTES:,} bytes: not run"
    if nesting(call.raw_arguments) > MAX_ARGUMENT_DEPTH:
        return f"{call.name}: the arguments nest deeper than {MAX_ARGUMENT_DEPTH} levels: not run"
    return ""


class ChatService:
    def __init__(
        self,
        toolbox: ToolBox,
        repository: ChatRepository,
        client: Callable[[], Any],
        *,
        clock: Callable[[], datetime] = utcnow,
        personas: dict[PersonaName, Persona] | None = None,
        access: Access | None = None,
    ) -> None:
        """``client``: an async callable that gives a fresh ``LlmClient`` (it raises
        ``LlmNotConfigured`` when there is none)."""
        self.toolbox = toolbox
        self._repo = repository
        self._client = client
        self._clock = clock
        self.personas = personas or load_personas()
        self._access = access or Access()

    # -- sessions ---------------------------------------------------------------------------
    def new_session(
        self, persona: PersonaName = PersonaName.DEFAULT, clusters: list[str] | None = None
    ) -> ChatSession:
        return ChatSession(persona=persona, cluster_context=list(clusters or []))

    async def sessions(self) -> list[tuple[UUID, str, str, float]]:
        return await asyncio.to_thread(self._repo.listed)

    async def load(self, session_id: UUID) -> ChatSession:
        found = await asyncio.to_thread(self._repo.get, session_id)
        if found is None:
            raise NotFoundError(f"no chat session {session_id}")
        return found

    async def delete(self, session_id: UUID) -> None:
        self._access.require(Action.CHAT)
        await asyncio.wrap_future(self._repo.delete(session_id))

    async def _keep(self, session: ChatSession) -> None:
        session.updated_at = utcnow()
        await asyncio.wrap_future(self._repo.save(session))

    def system_prompt(self, session: ChatSession) -> str:
        persona = self.personas[session.persona]
        focus = ", ".join(session.cluster_context) or "every registered cluster"
        return (
            f"{persona.system_prompt}\n\nClusters in focus: {focus}. "
            f"The time now is {time_text(self._clock())}. Tools read the app's data; "
            "numbers you give must come from a tool's result."
        )

    # -- one turn ---------------------------------------------------------------------------
    async def ask(
        self,
        session: ChatSession,
        question: str,
        on_event: OnEvent = lambda _e: None,
        *,
        tool_choice: str | dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> ChatSession:
        """Run one turn; ``session`` is changed in place and kept. ``tool_choice`` applies to
        the first reply only (a script or a test forcing a tool)."""
        self._access.require(Action.CHAT)
        question = question.strip()
        if not question:
            raise UsageError("ask something: the question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise UsageError(f"the question is over {MAX_QUESTION_CHARS:,} characters")
        question = redact_for_llm(question)  # kept and sent: never a secret typed in it
        session.messages.append(ChatMessage(role=ChatRole.USER, content=question))
        if session.title == "New chat":
            session.title = " ".join(question.split())[:TITLE_CHARS]
        await self._keep(session)
        persona = self.personas[session.persona]
        try:
            client: LlmClient = await self._client()
        except AppError as exc:
            on_event(TurnFailed(str(exc)))
            raise
        try:
            await self._rounds(
                session, persona, client, on_event, tool_choice=tool_choice, max_tokens=max_tokens
            )
        except AppError as exc:
            await self._keep(session)
            on_event(TurnFailed(str(exc)))
            raise
        finally:
            await client.aclose()
        return session

    async def _rounds(
        self, session: ChatSession, persona: Persona, client: LlmClient, on_event: OnEvent, *,
        tool_choice: str | dict[str, Any] | None, max_tokens: int | None,
    ) -> None:  # fmt: skip
        tools = self.toolbox.specs(persona.allowed_tools)
        turn = Turn()  # what the turn's tool calls did (one file written a turn at most)
        # the client's IP redaction, for the texts the tools cut too (the tools cut a log line
        # at 500 characters before the client replaces addresses: a split one was sent)
        redacting = REDACTING_IPS.set(client.endpoint.redact_ips)
        try:
            for round_ in range(MAX_TOOL_ROUNDS + 1):
                last = round_ == MAX_TOOL_ROUNDS  # then it must answer: no tools offered
                reply = await self._one_reply(
                    session, client, on_event, tools=None if last else tools,
                    tool_choice=tool_choice if round_ == 0 else None, max_tokens=max_tokens,
                )  # fmt: skip
                if not reply.tool_calls:
                    return
                if last:  # asked for all the same: not run (the turn ends with what it said)
                    await self._answer_unrun(session, reply.tool_calls, on_event)
                    return
                await self._run_calls(session, persona, reply.tool_calls, on_event, turn)
        finally:
            REDACTING_IPS.reset(redacting)

    async def _one_reply(
        self, session: ChatSession, client: LlmClient, on_event: OnEvent, *,
        tools: list[dict[str, Any]] | None, tool_choice: str | dict[str, Any] | None,
        max_tokens: int | None,
    ) -> ChatMessage:  # fmt: skip
        wire = wire_messages(session, self.system_prompt(session))
        text: list[str] = []
        added = False  # the reply is in the session: a stop while it is saved adds no other
        try:
            async for event in client.stream(
                wire, tools=tools or None, tool_choice=tool_choice, max_tokens=max_tokens
            ):
                if isinstance(event, TextDelta):
                    text.append(event.text)
                    on_event(TextChunk(event.text))
                elif isinstance(event, Reply):
                    try:
                        message = self._message_of(event)
                    except (ValueError, TypeError) as exc:  # pydantic's ValidationError too
                        # a reply no message holds: the turn fails as for a malformed one,
                        # keeping its text (below)
                        log.warning("reply not kept", extra={"error": repr(exc)[:300]})
                        raise CollectorBadResponse(
                            f"{client.where} sent a reply that could not be kept", backend="llm"
                        ) from None
                    session.messages.append(message)
                    added = True
                    await self._keep(session)
                    on_event(ReplyDone(message))
                    return message
        except (asyncio.CancelledError, AppError) as exc:
            if text and not added:  # what was said before the stop, the timeout or the lost
                # server stays (once: a stop during the reply's own save kept it twice)
                mark = STOPPED if isinstance(exc, asyncio.CancelledError) else CUT_OFF
                session.messages.append(
                    ChatMessage(role=ChatRole.ASSISTANT, content="".join(text) + mark)
                )
            await asyncio.shield(self._keep(session))
            raise
        raise AppError(f"{client.where} gave no reply")  # pragma: no cover (stream always ends)

    def _message_of(self, reply: Reply) -> ChatMessage:
        """The reply as kept: at most ``MAX_CALLS_PER_ROUND`` of its tool calls (a server sent
        300 a reply, each stored, saved and shown: minutes a turn), the rest said in its text."""
        calls = reply.tool_calls[:MAX_CALLS_PER_ROUND]
        dropped = len(reply.tool_calls) - len(calls)
        said = f" [{dropped} more tool calls not run: at most {MAX_CALLS_PER_ROUND} a reply]"
        return ChatMessage(
            role=ChatRole.ASSISTANT,
            content=reply.text + (said if dropped else ""),
            tool_calls=[_call_of(c) for c in calls],
            tokens_prompt=reply.prompt_tokens,
            tokens_completion=reply.completion_tokens,
            latency_ms=round(reply.total_ms, 1),
        )

    async def _run_calls(
        self,
        session: ChatSession,
        persona: Persona,
        calls: list[ToolCall],
        on_event: OnEvent,
        turn: Turn,
    ) -> None:
        done = 0
        try:
            for call in calls:
                on_event(ToolStarted(call))
                refused = _refusal(call)
                if refused:
                    outcome_text, error, took = refused, True, 0.0
                else:
                    given: str | dict[str, Any] = (
                        call.raw_arguments if call.raw_arguments is not None else call.arguments
                    )
                    outcome = await self.toolbox.call(
                        call.name, given, allowed=persona.allowed_tools, turn=turn
                    )
                    outcome_text, error = outcome.content, outcome.is_error
                    took = outcome.elapsed_ms
                result = ToolResult(call_id=call.id, name=call.name, content=outcome_text,
                                    is_error=error)  # fmt: skip
                session.messages.append(
                    ChatMessage(role=ChatRole.TOOL, tool_result=result, latency_ms=round(took, 1))
                )
                done += 1
                await self._keep(session)
                on_event(ToolFinished(call, result, took))
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # stopped while the call ran, which finished all the same (a report's file
                    # is written whole once begun): its true result is kept above, then the stop
                    raise asyncio.CancelledError
        except asyncio.CancelledError:
            # stopped: every call asked gets a result (the next request is refused by a
            # server that checks the chat schema when one is left unanswered)
            for call in calls[done:]:
                result = ToolResult(call_id=call.id, name=call.name, content="not run: stopped",
                                    is_error=True)  # fmt: skip
                session.messages.append(ChatMessage(role=ChatRole.TOOL, tool_result=result))
            await asyncio.shield(self._keep(session))
            raise

    async def _answer_unrun(
        self, session: ChatSession, calls: list[ToolCall], on_event: OnEvent
    ) -> None:
        """The calls of the last round's reply (no tools were offered; a server sent some
        anyway, and they ran: six rounds, 24 calls), each answered as not run, so the next
        request still answers every call it sends."""
        for call in calls:
            on_event(ToolStarted(call))
            result = ToolResult(call_id=call.id, name=call.name, content=ROUNDS_SPENT,
                                is_error=True)  # fmt: skip
            session.messages.append(ChatMessage(role=ChatRole.TOOL, tool_result=result))
            on_event(ToolFinished(call, result, 0.0))
        await self._keep(session)
