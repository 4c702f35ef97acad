"""A chat turn writes one file at most: a second file-writing call in the same turn is refused
in words the model reads (text in a tool result may ask for a report of every kind); and a
report never overwrites another one made in the same second."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from aiops_desktop.services.assistant.toolbox import (
    Tool,
    ToolBox,
    ToolError,
    ToolInput,
    Turn,
    bounded_json,
)
from aiops_desktop.services.assistant.tools import all_tools
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.settings import resources_dir

pytestmark = pytest.mark.asyncio
SAMPLE = resources_dir() / "samples" / "sample.aiops"


class Empty(ToolInput):
    pass


def writer_box(written: list[str], *, refuses: bool = False) -> ToolBox:
    async def write(core: Any, args: Empty) -> dict[str, Any]:
        if refuses:
            raise ToolError("no cluster named 'x'")
        written.append("file")
        return {"path": f"/r/{len(written)}"}

    async def read(core: Any, args: Empty) -> dict[str, Any]:
        return {"ok": True}

    return ToolBox(None, [Tool("write", "w", Empty, write, writes_file=True),  # type: ignore[arg-type]
                          Tool("read", "r", Empty, read)])  # fmt: skip


async def test_a_second_file_writing_call_in_a_turn_is_refused() -> None:
    written: list[str] = []
    box, turn = writer_box(written), Turn()
    assert not (await box.call("write", "{}", turn=turn)).is_error
    again = await box.call("write", "{}", turn=turn)
    assert again.is_error and "one file" in again.content
    assert not (await box.call("read", "{}", turn=turn)).is_error  # reading goes on
    assert written == ["file"]
    assert not (await box.call("write", "{}", turn=Turn())).is_error  # the next turn may
    assert written == ["file", "file"]


async def test_a_refused_write_does_not_use_up_the_turn() -> None:
    turn = Turn()
    assert (await writer_box([], refuses=True).call("write", "{}", turn=turn)).is_error
    written: list[str] = []
    assert not (await writer_box(written).call("write", "{}", turn=turn)).is_error
    assert written == ["file"]


@pytest_asyncio.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    core = await asyncio.to_thread(open_capture, SAMPLE, reports_dir=tmp_path / "reports")
    try:
        await core.registry.load()
        yield core
    finally:
        await core.shutdown()


async def test_two_reports_in_the_same_second_are_two_files(
    core: Core, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    same = tmp_path / "reports" / "handover-20240101T000000Z.md"
    monkeypatch.setattr(core.reports, "path_for", lambda report, fmt: same)
    box = ToolBox(core, all_tools())
    paths = []
    for _ in range(2):
        out = await box.call("generate_report", json.dumps({"since_hours": 2}))
        assert not out.is_error, out.content
        paths.append(Path(json.loads(out.content)["result"]["path"]))
    assert paths[0] == same and paths[1] != same
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    assert sorted(p.name for p in same.parent.iterdir()) == sorted(p.name for p in paths)


async def test_half_an_emoji_in_a_tools_answer_is_sent_replaced() -> None:
    """A lone surrogate in a server's text (a label, a log line) made the tool's answer
    unencodable: ToolBox.call raised UnicodeEncodeError instead of answering."""
    text = bounded_json({"line": "gpu-3 is hot \ud83d"})
    assert text.encode() and "gpu-3 is hot \ufffd" in text
