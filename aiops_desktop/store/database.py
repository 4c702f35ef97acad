"""Opening the cache file: integrity and version checks, migrations, the writer, readers."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from aiops_desktop.store.errors import (
    StoreClosedError,
    StoreCorruptError,
    StoreForeignError,
    StoreTooNewError,
)
from aiops_desktop.store.migrations import SCHEMA_VERSION, migrate
from aiops_desktop.store.writer import WriterThread, connect

if TYPE_CHECKING:
    import sqlite_utils

log = logging.getLogger("aiops.store")
T = TypeVar("T")
_SIDE_FILES = ("-wal", "-shm")


def _probe(path: Path) -> tuple[int, str | None]:
    """Return (schema version, problem) of an existing file without changing it; a file of
    another application (tables, no version of ours) is refused untouched."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return 0, str(exc)
    try:
        conn.execute("PRAGMA trusted_schema=OFF")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        rows = conn.execute("PRAGMA quick_check").fetchall()
        problems = [r[0] for r in rows if r[0] != "ok"]
        if not problems and version == 0:
            objects = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if objects:
                raise StoreForeignError(path)
        return version, ("; ".join(problems[:3]) if problems else None)
    except sqlite3.DatabaseError as exc:
        return 0, str(exc)
    finally:
        conn.close()


def owner_only(path: Path) -> None:
    """The cache file readable by its owner only (0600), made so before SQLite opens it (its
    journal files take the main file's permissions)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in _SIDE_FILES:
        side = Path(f"{path}{suffix}")
        if side.exists() and side.stat().st_mode & 0o077:
            side.chmod(0o600)


def _move_aside(path: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    backup = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while backup.exists():
        backup = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    os.replace(path, backup)
    for suffix in _SIDE_FILES:
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.replace(side, Path(f"{backup}{suffix}"))
    return backup


class Database:
    """The open cache: one writer thread, one read connection per reading thread.

    ``recovered`` holds the StoreCorruptError when a damaged file was moved aside on open, so
    the UI and the CLI can tell the user.
    """

    def __init__(
        self, path: Path, *, batch_max_ops: int = 500, batch_max_delay_s: float = 0.05
    ) -> None:
        self.path = Path(path)
        self.recovered: StoreCorruptError | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and self.path.stat().st_size > 0:
            version, problem = _probe(self.path)
            if problem is None and version > SCHEMA_VERSION:
                raise StoreTooNewError(self.path, version, SCHEMA_VERSION)
            if problem is not None:
                backup = _move_aside(self.path)
                self.recovered = StoreCorruptError(self.path, backup, problem)
                log.error("cache file damaged, moved aside", extra={"backup": str(backup)})
        owner_only(self.path)
        conn = connect(self.path)
        try:
            self.schema_version = migrate(conn)
        finally:
            conn.close()
        self._closed = False
        self._readers: list[tuple[sqlite3.Connection, threading.RLock]] = []
        self._readers_lock = threading.Lock()
        self._local = threading.local()
        self.writer = WriterThread(self.path, max_ops=batch_max_ops, max_delay_s=batch_max_delay_s)

    # -- writes ----------------------------------------------------------------------------
    def write(self, op: Callable[[sqlite3.Connection], T]) -> Future[T]:
        """Queue a write on the writer thread; the future resolves once it has committed."""
        return self.writer.submit(op)

    # -- reads -----------------------------------------------------------------------------
    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """This thread's read connection (WAL: never blocked by the writer), held for the
        block: ``close`` on another thread waits for the block to end instead of closing a
        connection under a running statement (which crashes the interpreter)."""
        entry: tuple[sqlite3.Connection, threading.RLock] | None = getattr(
            self._local, "entry", None
        )
        if entry is None:
            with self._readers_lock:
                if self._closed:
                    raise StoreClosedError(f"the cache {self.path} is closed")
                conn = connect(self.path, readonly=True)
                conn.row_factory = sqlite3.Row
                entry = (conn, threading.RLock())  # a read inside a read: no deadlock
                self._readers.append(entry)
            self._local.entry = entry
        conn, lock = entry
        with lock:
            if self._closed:
                raise StoreClosedError(f"the cache {self.path} is closed")
            yield conn

    def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self.reading() as conn:
            return conn.execute(sql, params).fetchall()

    def fetch_one(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
        with self.reading() as conn:
            row: sqlite3.Row | None = conn.execute(sql, params).fetchone()
            return row

    @contextmanager
    def table_view(self) -> Iterator[sqlite_utils.Database]:
        """sqlite-utils over this thread's read connection, for ad-hoc inspection (imported
        here: it loads pandas when it can, a quarter second no command needs)."""
        import sqlite_utils

        with self.reading() as conn:
            yield sqlite_utils.Database(conn)

    def close(self) -> None:
        """Stop the writer (it commits what was queued) and close every reader, each once its
        running read has finished."""
        self._closed = True
        self.writer.close()
        with self._readers_lock:
            entries, self._readers = self._readers, []
        for conn, lock in entries:
            with lock:
                conn.close()
        self._local = threading.local()
