"""Chat and alert-history store review: a chat save encoded the whole session on the caller's
thread (the Qt thread, up to 27 times a turn); one damaged row stopped every read of the alert
history or of the chat list; chat sessions past the newest the list shows were kept for good,
never to be seen again."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import pytest

from aiops_desktop.models.chat import ChatMessage, ChatSession
from aiops_desktop.models.enums import ChatRole
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.runtime.maintenance import maintain_once
from aiops_desktop.store.alert_events import AlertEventRepository
from aiops_desktop.store.chats import CHAT_KEPT, LIST_LIMIT, ChatRepository
from aiops_desktop.store.database import Database
from aiops_desktop.store.migrations import _V9_CHATS
from aiops_desktop.store.series import SeriesStore

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "cache.sqlite3")
    yield database
    database.close()


# -- defect 1: a chat save encoded on the caller's thread -----------------------------------------


class _HeldWriter:
    """A writer thread that has not got to the op yet: it runs when the test says."""

    def __init__(self) -> None:
        self.ops: list[Callable[[sqlite3.Connection], Any]] = []

    def write(self, op: Callable[[sqlite3.Connection], Any]) -> Future[None]:
        self.ops.append(op)
        return Future()


def test_a_chat_save_encodes_the_session_on_the_writer_thread(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded_on: list[threading.Thread] = []
    encode = ChatSession.model_dump_json

    def spy(self: ChatSession, **kwargs: Any) -> str:
        encoded_on.append(threading.current_thread())
        return encode(self, **kwargs)

    monkeypatch.setattr(ChatSession, "model_dump_json", spy)
    session = ChatSession(messages=[ChatMessage(role=ChatRole.USER, content="which GPUs are hot?")])
    ChatRepository(db).save(session).result()
    assert encoded_on and threading.current_thread() not in encoded_on
    saved = ChatRepository(db).get(session.id)
    assert saved is not None and saved.messages[0].content == "which GPUs are hot?"


def test_a_chat_save_keeps_the_session_as_it_was_when_saved() -> None:
    """The turn goes on (a reply appended, the title set) before the writer gets to the save:
    what is written is the session as it was, the newest KEEP_MESSAGES of it."""
    writer = _HeldWriter()
    session = ChatSession(messages=[ChatMessage(role=ChatRole.USER, content="ptp state?")])
    ChatRepository(cast(Database, writer)).save(session)
    session.messages.append(ChatMessage(role=ChatRole.ASSISTANT, content="LOCKED on ran-east"))
    session.title = "ptp state?"
    conn = sqlite3.connect(":memory:")
    conn.executescript(_V9_CHATS)
    [op] = writer.ops
    op(conn)
    title, body = conn.execute("SELECT title, body FROM chat_sessions").fetchone()
    saved = ChatSession.model_validate_json(body)
    assert title == saved.title == "New chat"
    assert [m.content for m in saved.messages] == ["ptp state?"]


# -- defect 2: one damaged row stopped every read --------------------------------------------------


def _insert(db: Database, sql: str, rows: list[tuple[object, ...]]) -> None:
    db.write(lambda c: c.executemany(sql, rows)).result()


def test_a_damaged_alert_event_is_skipped_not_the_history(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    def firing(n: int, starts: object, resolved: object) -> tuple[object, ...]:
        return ("ran-east", f"fp{n}", starts, f"Alert{n}", "critical", "node down",
                NOW.isoformat(), resolved)  # fmt: skip

    good = (NOW - timedelta(hours=3)).isoformat()
    _insert(db, "INSERT INTO alert_events VALUES (?,?,?,?,?,?,?,?)", [
        firing(0, good, None),
        firing(1, (NOW - timedelta(hours=2)).isoformat(), "2024-13-45T99:00:00+00:00"),
        firing(2, (NOW - timedelta(hours=1)).isoformat(), NOW.isoformat()),
    ])  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="aiops.store"):
        events = AlertEventRepository(db).between(["ran-east"], NOW - timedelta(days=1), NOW)
    assert [e.name for e in events] == ["Alert0", "Alert2"]
    assert events[1].resolved_at == NOW
    assert "1 damaged alert event rows" in caplog.text


def test_a_damaged_chat_row_is_skipped_not_the_chat_list(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    good = "00000000-0000-0000-0000-000000000001"
    _insert(db, "INSERT INTO chat_sessions VALUES (?,?,?,?,?)", [
        (good, "gpu temps", "default", 2.0, "{}"),
        ("not-a-uuid", "damaged id", "default", 1.0, "{}"),
        ("00000000-0000-0000-0000-000000000002", "damaged time", "default", "yesterday", "{}"),
    ])  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="aiops.store"):
        listed = ChatRepository(db).listed()
    assert listed == [(UUID(good), "gpu temps", "default", 2.0)]
    assert "2 damaged chat session rows" in caplog.text


# -- defect 3: chat sessions kept past the list, for good --------------------------------------


class _NoHealth:
    async def prune_history(self, now: datetime, keep: timedelta) -> int:
        return 0

    async def sweep_orphans(self) -> int:
        return 0


@pytest.mark.asyncio
async def test_maintenance_keeps_only_the_chat_sessions_the_list_shows(db: Database) -> None:
    chats = ChatRepository(db)
    past = CHAT_KEPT + timedelta(days=1)  # the sessions past the list: that long not updated
    sessions = [ChatSession(title=f"shift {n}", updated_at=NOW - timedelta(minutes=n)
                            - (past if n >= LIST_LIMIT else timedelta(0)))
                for n in range(LIST_LIMIT + 3)]  # fmt: skip
    for session in sessions:
        chats.save(session).result()
    report = await maintain_once(cast(ClusterRegistry, _NoHealth()), SeriesStore(db), chats=chats)
    assert report.retention["chat_sessions"] == 3 and not report.failed
    stored = db.fetch_one("SELECT count(*) FROM chat_sessions")
    assert stored is not None and stored[0] == LIST_LIMIT
    assert [s[0] for s in chats.listed()] == [s.id for s in sessions[:LIST_LIMIT]]
    again = await maintain_once(cast(ClusterRegistry, _NoHealth()), SeriesStore(db), chats=chats)
    assert again.retention["chat_sessions"] == 0


@pytest.mark.asyncio
async def test_maintenance_keeps_a_session_in_use_past_the_list(db: Database) -> None:
    """``chat --session ID`` goes on with a session the list no longer shows: a cron'd ``chat``
    saving one a minute pushed it past the newest LIST_LIMIT within hours, and the next pass
    deleted it. Only those not updated for CHAT_KEPT go."""
    chats = ChatRepository(db)
    kept = ChatSession(title="ptp holdover RCA", updated_at=NOW - timedelta(hours=4))
    chats.save(kept).result()
    for n in range(LIST_LIMIT):  # a cron'd `aiops-desktop chat "..."`, every minute
        chats.save(ChatSession(title=f"cron {n}", updated_at=NOW - timedelta(minutes=n))).result()
    stale = ChatSession(title="last quarter", updated_at=NOW - CHAT_KEPT - timedelta(minutes=1))
    chats.save(stale).result()
    report = await maintain_once(cast(ClusterRegistry, _NoHealth()), SeriesStore(db), chats=chats)
    assert report.retention["chat_sessions"] == 1 and not report.failed
    assert chats.get(kept.id) is not None and chats.get(stale.id) is None


def test_a_chat_row_without_an_id_does_not_stop_pruning(db: Database) -> None:
    """A damaged row with a NULL id among the newest: ``id NOT IN (… NULL …)`` is NULL for
    every row, and nothing was ever deleted again."""
    chats = ChatRepository(db)
    old = NOW - CHAT_KEPT - timedelta(days=1)
    for n in range(LIST_LIMIT + 60):
        chats.save(ChatSession(title=f"shift {n}", updated_at=old - timedelta(minutes=n))).result()
    _insert(db, "INSERT INTO chat_sessions VALUES (?,?,?,?,?)",
            [(None, "damaged", "default", NOW.timestamp(), "{}")])  # fmt: skip
    assert chats.prune((NOW - CHAT_KEPT).timestamp()).result() == 61
    stored = db.fetch_one("SELECT count(*) FROM chat_sessions")
    assert stored is not None and stored[0] == LIST_LIMIT
