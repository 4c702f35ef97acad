"""Stop pressed while ``generate_report`` writes its file: the chat said "not run: stopped", yet
the worker thread wrote the report a moment later (and a retry wrote a second one). A stop now
waits for the write and the chat keeps what was written; a stop before it still stops."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from aiops_desktop import files
from aiops_desktop.services.assistant.chat import ChatEvent, ChatService, ToolStarted
from aiops_desktop.services.core import Core
from tests.qtfree.test_llm_robust_chat import Scripted, call, chat_over, finish, sse

REPORT_CALL = sse(call(0, "c1", "generate_report", "{}"), finish("tool_calls"), b"[DONE]")


def written(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.stat().st_size)


async def stopped_at(chat: ChatService, started: Callable[[], bool]) -> list[str]:
    """Ask for a report, stop the turn once ``started()``, and say the tool results kept."""
    session = chat.new_session()
    seen = asyncio.Event()

    def on_event(event: ChatEvent) -> None:
        if isinstance(event, ToolStarted):
            seen.set()

    task = asyncio.create_task(chat.ask(session, "write a handover report", on_event))
    await seen.wait()
    while not started():
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    kept = await chat.load(session.id)
    return [m.tool_result.content for m in kept.messages if m.tool_result]


@pytest.mark.asyncio
async def test_a_stop_while_the_report_is_written_keeps_its_path(
    sample_core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    real, writing = files.write_whole, []

    def slow_write(path: Path, write: Callable[[Path], object]) -> None:
        writing.append(path)
        time.sleep(0.5)  # a big report on a slow disk
        real(path, write)

    monkeypatch.setattr(files, "write_whole", slow_write)
    results = await stopped_at(
        chat_over(sample_core, Scripted([REPORT_CALL])), lambda: bool(writing)
    )
    reports = written(sample_core.reports.folder)
    assert len(reports) == 1  # written whole before the stop ended the turn
    assert len(results) == 1 and "not run" not in results[0]
    assert str(reports[0]) in results[0] or reports[0].name in results[0]


@pytest.mark.asyncio
async def test_a_stop_before_the_report_is_written_still_stops(
    sample_core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    making = asyncio.Event()
    real = sample_core.reports.make

    async def slow_make(*args: object, **kwargs: object) -> object:
        making.set()
        await asyncio.sleep(30)
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sample_core.reports, "make", slow_make)
    results = await stopped_at(chat_over(sample_core, Scripted([REPORT_CALL])), making.is_set)
    assert results == ["not run: stopped"]
    assert written(sample_core.reports.folder) == []
