"""Chat sessions (title, persona, cluster context, messages with their tool calls and results,
tokens, latency): one row each, the ChatSession model as JSON. Every text was redacted before
it got here (services/assistant/chat.py): a secret never lands in the cache."""

from __future__ import annotations

import sqlite3
from concurrent.futures import Future
from uuid import UUID

from aiops_desktop.models.chat import ChatSession
from aiops_desktop.store.bodies import read_one
from aiops_desktop.store.database import Database

LIST_LIMIT = 200
#: a session's messages kept in the cache (the model only ever sees the last 50)
KEEP_MESSAGES = 1000


class ChatRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        #: the sessions deleted in this run: a turn still answering in one saves it at each
        #: step, which would bring it back
        self._deleted: set[UUID] = set()

    def save(self, session: ChatSession) -> Future[None]:
        """Keep ``session``; a deleted one stays deleted."""
        kept = session.model_copy(update={"messages": session.messages[-KEEP_MESSAGES:]})
        row = (str(session.id), session.title, session.persona.value,
               session.updated_at.timestamp(), kept.model_dump_json())  # fmt: skip

        def op(conn: sqlite3.Connection) -> None:
            if session.id not in self._deleted:  # read on the writer thread, after any delete
                conn.execute("INSERT OR REPLACE INTO chat_sessions VALUES (?,?,?,?,?)", row)

        return self._db.write(op)

    def delete(self, session_id: UUID) -> Future[None]:
        self._deleted.add(session_id)

        def op(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM chat_sessions WHERE id = ?", (str(session_id),))

        return self._db.write(op)

    def listed(self, limit: int = LIST_LIMIT) -> list[tuple[UUID, str, str, float]]:
        """(id, title, persona, updated_at unix s), newest first."""
        rows = self._db.fetch_all(
            "SELECT id, title, persona, updated_at FROM chat_sessions "
            "ORDER BY updated_at DESC LIMIT ?",
            (limit,),
        )
        return [(UUID(r[0]), r[1], r[2], r[3]) for r in rows]

    def get(self, session_id: UUID) -> ChatSession | None:
        """The session; a damaged row (store/bodies.py): DamagedRowError naming it."""
        row = self._db.fetch_one("SELECT body FROM chat_sessions WHERE id = ?", (str(session_id),))
        return read_one(ChatSession, row[0], f"chat session {session_id}") if row else None
