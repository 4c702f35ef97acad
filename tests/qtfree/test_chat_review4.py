"""Stop pressed while a finished reply is being saved: the reply was already in the session,
and the stop path added the streamed text again (marked " [stopped]") and saved that too, so
the chat kept two answers and sent both back to the model on the next turn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import Future
from typing import Any

import pytest

from aiops_desktop.models.chat import ChatSession
from aiops_desktop.models.enums import ChatRole
from aiops_desktop.services.assistant.chat import STOPPED, ChatService
from collectors.llm import LlmEndpoint, LlmEvent, Reply, TextDelta

ANSWER = "GPU gpu5 on worker-3 is hot."


class _NoTools:
    def specs(self, allowed: Any = None) -> list[dict[str, Any]]:
        return []


class _HeldRepo:
    """Each save is kept as a copy; the reply's save (the second of the turn) waits until the
    test lets it go, as a busy writer thread does."""

    def __init__(self) -> None:
        self.saved: list[ChatSession] = []
        self.reply_saving = asyncio.Event()
        self.held: Future[None] = Future()

    def save(self, session: ChatSession) -> Future[None]:
        self.saved.append(session.model_copy(deep=True))
        if len(self.saved) == 2:
            self.reply_saving.set()
            return self.held
        done: Future[None] = Future()
        done.set_result(None)
        return done


class _Client:
    where = "fake"
    endpoint = LlmEndpoint("http://127.0.0.1:9/v1", "m")

    async def stream(self, _wire: Any, **_options: Any) -> AsyncIterator[LlmEvent]:
        yield TextDelta(ANSWER)
        yield Reply(ANSWER, [], "stop", 10, 8, 5.0, 20.0)

    async def aclose(self) -> None:
        pass


@pytest.mark.asyncio
async def test_a_stop_while_the_reply_is_saved_keeps_it_once() -> None:
    repo = _HeldRepo()

    async def client() -> _Client:
        return _Client()

    chat = ChatService(_NoTools(), repo, client)  # type: ignore[arg-type]
    session = chat.new_session()
    turn = asyncio.create_task(chat.ask(session, "which GPU is hot?"))
    await asyncio.wait_for(repo.reply_saving.wait(), 5)
    assert [m.content for m in repo.saved[-1].messages][-1] == ANSWER  # being saved now
    turn.cancel()  # the person presses Stop
    with pytest.raises(asyncio.CancelledError):
        await turn
    for kept in (session, repo.saved[-1]):  # as shown, and as the store has it last
        answers = [m.content for m in kept.messages if m.role is ChatRole.ASSISTANT]
        assert answers == [ANSWER]
        assert not any(STOPPED in m.content for m in kept.messages)
    assert len(repo.saved) == 3  # saved again after the stop: the held save may not have run
