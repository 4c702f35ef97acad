"""Opening the cache file: integrity and version checks, migrations, the writer, readers."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from aiops_desktop.store.errors import (
    StoreBusyError,
    StoreClosedError,
    StoreCorruptError,
    StoreError,
    StoreForeignError,
    StoreTooNewError,
    StoreUnavailableError,
)
from aiops_desktop.store.migrations import APPLICATION_ID, SCHEMA_VERSION, migrate, tables_at
from aiops_desktop.store.writer import WriterThread, connect

if TYPE_CHECKING:
    import sqlite_utils

log = logging.getLogger("aiops.store")
T = TypeVar("T")
_SIDE_FILES = ("-wal", "-shm")
#: How long opening waits for another connection's lock (another window, a cron'd command).
LOCK_TIMEOUT_S = 5.0

# primary result codes (the low byte of an extended code such as SQLITE_BUSY_RECOVERY)
_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
#: what a damaged file says; only these (and a failed quick_check) move a file aside
_CORRUPT = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
#: a sound file this process cannot use: permissions, a read-only or failing or full disk
_UNAVAILABLE = frozenset(
    {
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_AUTH,
        sqlite3.SQLITE_FULL,
    }
)


def _primary_code(exc: sqlite3.Error) -> int | None:
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def _refusal(path: Path, exc: sqlite3.Error, waited_s: float) -> StoreError:
    """The error for a file that may be sound but cannot be used now; it is left as it is."""
    reason = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    reason = f"{exc} [{reason}]"
    if _primary_code(exc) in _BUSY:
        return StoreBusyError(path, waited_s, reason)
    return StoreUnavailableError(path, reason)


def _ours(conn: sqlite3.Connection, version: int) -> bool:
    """Whether the file read in ``conn`` is a cache of this app: it carries APPLICATION_ID, or
    it is empty, or (made before caches carried the id) it holds exactly the tables of its
    version. Anything else is another application's file, whatever its user_version says."""
    if version < 0:
        return False
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    if app_id != 0:
        return app_id == APPLICATION_ID
    if version == 0:
        return not conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if version > SCHEMA_VERSION:  # every release newer than this one sets the id
        return False
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    return {r[0] for r in rows} == tables_at(version)


def _probe(path: Path, timeout_s: float = LOCK_TIMEOUT_S) -> tuple[int, str | None]:
    """Return (schema version, problem) of an existing file without changing it; a problem is
    damage only (SQLITE_CORRUPT, SQLITE_NOTADB, a failed quick_check). A file of another
    application (``_ours``: not ours) is refused untouched, and so is one that is
    locked past ``timeout_s`` (StoreBusyError) or cannot be opened (StoreUnavailableError)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout_s)
    except sqlite3.Error as exc:
        if _primary_code(exc) in _CORRUPT:
            return 0, str(exc)
        raise _refusal(path, exc, timeout_s) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
        conn.execute("PRAGMA trusted_schema=OFF")
        # one read snapshot for the version, the id and the objects: read apart, another
        # process's first migration could commit between them (its tables, then "version 0")
        # and a cache being made read as another application's
        conn.isolation_level = None
        conn.execute("BEGIN")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        rows = conn.execute("PRAGMA quick_check").fetchall()
        problems = [r[0] for r in rows if r[0] != "ok"]
        if not problems and not _ours(conn, version):
            raise StoreForeignError(path)
        return version, ("; ".join(problems[:3]) if problems else None)
    except sqlite3.Error as exc:
        if _primary_code(exc) in _CORRUPT:
            return 0, str(exc)
        raise _refusal(path, exc, timeout_s) from exc
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
    the UI and the CLI can tell the user. Opening waits up to ``lock_timeout_s`` for another
    process's lock (it may be migrating the same file), then raises StoreBusyError; a file that
    cannot be opened raises StoreUnavailableError. Neither is moved aside.
    """

    def __init__(
        self,
        path: Path,
        *,
        batch_max_ops: int = 500,
        batch_max_delay_s: float = 0.05,
        lock_timeout_s: float = LOCK_TIMEOUT_S,
    ) -> None:
        self.path = Path(path)
        self.recovered: StoreCorruptError | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + lock_timeout_s
        if self.path.exists() and self.path.stat().st_size > 0:
            version, problem = _probe(self.path, lock_timeout_s)
            if problem is None and version > SCHEMA_VERSION:
                raise StoreTooNewError(self.path, version, SCHEMA_VERSION)
            if problem is not None:
                backup = _move_aside(self.path)
                self.recovered = StoreCorruptError(self.path, backup, problem)
                log.error("cache file damaged, moved aside", extra={"backup": str(backup)})
        try:
            owner_only(self.path)
        except OSError as exc:
            raise StoreUnavailableError(self.path, exc.strerror or str(exc)) from exc
        self.schema_version = self._migrate(deadline, lock_timeout_s)
        self._closed = False
        self._readers: list[tuple[sqlite3.Connection, threading.RLock]] = []
        self._readers_lock = threading.Lock()
        self._local = threading.local()
        try:
            self.writer = WriterThread(
                self.path, max_ops=batch_max_ops, max_delay_s=batch_max_delay_s
            )
        except sqlite3.Error as exc:
            if _primary_code(exc) in _BUSY | _UNAVAILABLE:
                raise _refusal(self.path, exc, lock_timeout_s) from exc
            raise

    def _migrate(self, deadline: float, lock_timeout_s: float) -> int:
        """Bring the file to this app's schema, waiting (until ``deadline``) for a lock that
        another process holds: it may be migrating the same file right now."""
        while True:
            try:
                conn = connect(self.path)
                try:
                    left_ms = max(1, int((deadline - time.monotonic()) * 1000))
                    conn.execute(f"PRAGMA busy_timeout = {left_ms}")
                    return migrate(conn)  # re-reads the version under the write lock
                finally:
                    conn.close()
            except sqlite3.Error as exc:
                code = _primary_code(exc)
                # SQLite answers some contention at once, without waiting (a journal mode
                # switch racing another opener's): try again, from a new connection
                if code in _BUSY and time.monotonic() < deadline:
                    time.sleep(0.02)
                    continue
                if code in _BUSY | _UNAVAILABLE:
                    raise _refusal(self.path, exc, lock_timeout_s) from exc
                raise

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
