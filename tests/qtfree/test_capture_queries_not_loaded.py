"""A capture brings in no saved queries nor query history (an export never writes them): a
crafted file's would be someone else's words in the console's lists (review of da25f29)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from aiops_desktop.services.outputs.capture import open_capture
from tests.qtfree.test_cli_commands_review_fixes import SAMPLE


@pytest.mark.asyncio
async def test_a_captures_saved_queries_and_history_are_not_loaded(tmp_path: Path) -> None:
    crafted = tmp_path / "crafted.aiops"
    shutil.copyfile(SAMPLE, crafted)
    conn = sqlite3.connect(crafted)
    try:
        conn.execute(
            "INSERT INTO saved_queries VALUES (?,?,?,?,?,?,?,?)",
            ("x\u202e" + "y" * 200_000, "up", "[]", "INSTANT", None, 60, "MERGE",
             "2026-01-01T00:00:00+00:00"),
        )  # fmt: skip
        conn.commit()
    finally:
        conn.close()
    opened = open_capture(crafted)
    try:
        assert await opened.console.saved() == []
        assert await opened.console.history() == []
    finally:
        await opened.shutdown()
