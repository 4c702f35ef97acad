"""Chat sessions (title, persona, cluster context, messages with their tool calls and results,
tokens, latency): one row each, the ChatSession model as JSON. Every text was redacted before
it got here (services/assistant/chat.py): a secret never lands in the cache."""

from __future__ import annotations

import sqlite3
from concurrent.futures import Future
from datetime import timedelta
from uuid import UUID

from aiops_desktop.models.chat import ChatSession
from aiops_desktop.store.bodies import read_one, read_rows
from aiops_desktop.store.database import Database

#: the sessions the chat list shows, newest first; maintenance deletes the rest once not
#: updated for CHAT_KEPT (``prune``)
LIST_LIMIT = 200
#: how long a session past the list's LIST_LIMIT is kept after its last update. ``aiops-desktop
#: chat --session ID`` goes on with any session kept, not only those listed: a cron'd ``chat``
#: saving one a minute pushed a session someone was going on with past the list within hours,
#: and it was deleted (one open in the window too). Kept while in use, and the file bounded by
#: what 30 days of sessions make.
CHAT_KEPT = timedelta(days=30)
#: a session's messages kept in the cache (the model only ever sees the last 50)
KEEP_MESSAGES = 1000
#: the list's order, and what maintenance keeps (ties by id: the same sessions in both)
_NEWEST_FIRST = "ORDER BY updated_at DESC, id DESC"


class ChatRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        #: the sessions deleted in this run: a turn still answering in one saves it at each
        #: step, which would bring it back
        self._deleted: set[UUID] = set()

    def save(self, session: ChatSession) -> Future[None]:
        """Keep ``session`` as it is now; a deleted one stays deleted. Encoded on the writer
        thread: a long session's JSON takes tens of ms, and a turn saves at each step from the
        event loop (the Qt thread). What it holds is copied here (a shallow copy and the list
        of its messages: a turn appends to them, never changes one)."""
        kept = session.model_copy(update={"messages": session.messages[-KEEP_MESSAGES:]})

        def op(conn: sqlite3.Connection) -> None:
            if kept.id not in self._deleted:  # read on the writer thread, after any delete
                conn.execute(
                    "INSERT OR REPLACE INTO chat_sessions VALUES (?,?,?,?,?)",
                    (str(kept.id), kept.title, kept.persona.value,
                     kept.updated_at.timestamp(), kept.model_dump_json()),
                )  # fmt: skip

        return self._db.write(op)

    def delete(self, session_id: UUID) -> Future[None]:
        self._deleted.add(session_id)

        def op(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM chat_sessions WHERE id = ?", (str(session_id),))

        return self._db.write(op)

    def prune(self, before: float) -> Future[int]:
        """Delete the sessions past the newest LIST_LIMIT (those the list shows) not updated
        since ``before`` (unix s; maintenance's: CHAT_KEPT ago), as maintenance does each pass.
        How many. Kept for good, those past the list piled up (sessions of tens of MB each,
        with their tool results); deleted by count alone, one still in use went too. Rows
        told apart by rowid, never NULL: one damaged row with a NULL id made ``id NOT IN``
        NULL for every row, and nothing was deleted again."""

        def op(conn: sqlite3.Connection) -> int:
            return conn.execute(
                f"DELETE FROM chat_sessions WHERE rowid NOT IN (SELECT rowid FROM chat_sessions "  # noqa: S608
                f"{_NEWEST_FIRST} LIMIT ?) AND updated_at < ?",
                (LIST_LIMIT, before),
            ).rowcount

        return self._db.write(op)

    def listed(self, limit: int = LIST_LIMIT) -> list[tuple[UUID, str, str, float]]:
        """(id, title, persona, updated_at unix s), newest first; a damaged row (store/
        bodies.py) is skipped and logged, not the list."""
        rows = self._db.fetch_all(
            f"SELECT id, title, persona, updated_at FROM chat_sessions {_NEWEST_FIRST} LIMIT ?",  # noqa: S608
            (limit,),
        )
        return read_rows(
            rows, lambda r: (UUID(r[0]), str(r[1]), str(r[2]), float(r[3])), "chat session"
        )

    def get(self, session_id: UUID) -> ChatSession | None:
        """The session; a damaged row (store/bodies.py): DamagedRowError naming it."""
        row = self._db.fetch_one("SELECT body FROM chat_sessions WHERE id = ?", (str(session_id),))
        return read_one(ChatSession, row[0], f"chat session {session_id}") if row else None
