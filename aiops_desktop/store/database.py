"""Opening the cache file: integrity and version checks, migrations, the writer, readers."""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import sys
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
    StoreDamagedBusyError,
    StoreDamagedUnavailableError,
    StoreError,
    StoreForeignError,
    StoreTooNewError,
    StoreUnavailableError,
)
from aiops_desktop.store.migrations import APPLICATION_ID, SCHEMA_VERSION, migrate, tables_at
from aiops_desktop.store.writer import MAX_QUEUED_WRITES, WriterThread, connect

if sys.platform != "win32":
    import fcntl

if TYPE_CHECKING:
    import sqlite_utils

log = logging.getLogger("aiops.store")
T = TypeVar("T")
_SIDE_FILES = ("-wal", "-shm")
#: How long opening waits for another connection's lock (another window, a cron'd command).
LOCK_TIMEOUT_S = 5.0
#: How long an opener that found the file damaged waits for the other openers to let go of it
#: (another window opening it at the same moment) before it says it is open elsewhere.
MOVE_WAIT_S = 1.0
#: The first bytes of every SQLite file; the header is the first 100.
_MAGIC = b"SQLite format 3\x00"

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


#: what SQLite says of a disk with no room left: a write refused (SQLITE_FULL, its answer to
#: ENOSPC), or the -shm (its WAL index) that could not be grown to 32 KiB
_DISK_FULL_CODES = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR_SHMSIZE})
_DISK_FULL = "the disk is full: free some space on it and start again"


def _os_reason(exc: OSError) -> str:
    """What the system said of a file operation that failed; a full disk said to be full."""
    said = exc.strerror or str(exc)
    return f"{_DISK_FULL} ({said})" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else said


def _primary_code(exc: sqlite3.Error) -> int | None:
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def _refusal(path: Path, exc: sqlite3.Error, waited_s: float) -> StoreError:
    """The error for a file that may be sound but cannot be used now; it is left as it is."""
    reason = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    reason = f"{exc} [{reason}]"
    if getattr(exc, "sqlite_errorcode", None) in _DISK_FULL_CODES:
        reason = f"{_DISK_FULL}; {reason}"
    if _primary_code(exc) in _BUSY:
        return StoreBusyError(path, waited_s, reason)
    return StoreUnavailableError(path, reason)


def _application_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA application_id").fetchone()[0])


def _ours(conn: sqlite3.Connection, version: int) -> bool:
    """Whether the file read in ``conn`` is a cache of this app: it carries APPLICATION_ID, or
    it is empty, or (made before caches carried the id) it holds exactly the tables of its
    version. Anything else is another application's file, whatever its user_version says."""
    if version < 0:
        return False
    app_id = _application_id(conn)
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


def _header(path: Path) -> tuple[int, int] | None:
    """(user_version, application_id) as the file's header says (bytes 60-63 and 68-71, big
    endian); None where it has no SQLite header (no SQLite file) or one that is not
    consistent (damaged: garbage there is no other application's id). Consistent: the change
    counter (bytes 24-27) equals version-valid-for (92-95), which SQLite writes together with
    it, and bytes 96-99 hold the SQLite version number that wrote it (3,000,000-3,999,999)."""
    try:
        with open(path, "rb") as f:
            head = f.read(100)
    except OSError:
        return None  # the probe's open says why
    if len(head) < 100 or not head.startswith(_MAGIC):
        return None
    if head[24:28] != head[92:96]:
        return None
    if not 3_000_000 <= int.from_bytes(head[96:100], "big") <= 3_999_999:
        return None
    return int.from_bytes(head[60:64], "big", signed=True), int.from_bytes(head[68:72], "big")


def _refuse_by_header(path: Path) -> None:
    """A newer release's cache (StoreTooNewError) or another application's file
    (StoreForeignError), as its consistent header says, before any SQL: SQL parses the schema
    first, and a newer release's, written by a newer SQLite with syntax this one cannot parse,
    reads as SQLITE_CORRUPT: a sound file moved aside as damaged. (The header may be older
    than the file's write-ahead log; what it says of the version and the id never is newer.)
    A header that is not consistent is damage: the probe says so, and the file is moved
    aside (refused, the app would never start again on it)."""
    header = _header(path)
    if header is None:
        return
    version, app_id = header
    if app_id not in (0, APPLICATION_ID):
        raise StoreForeignError(path)
    if version > SCHEMA_VERSION:
        if app_id == APPLICATION_ID:
            raise StoreTooNewError(path, version, SCHEMA_VERSION)
        raise StoreForeignError(path)  # every release newer than this one sets the id


def _probe(path: Path, timeout_s: float = LOCK_TIMEOUT_S) -> str | None:
    """The problem of an existing file, found without changing it (None: none); a problem is
    damage only (SQLITE_CORRUPT, SQLITE_NOTADB, a failed quick_check). A file of another
    application (``_ours``: not ours) is refused untouched, and so is a newer release's
    (StoreTooNewError, as its header or its -wal says), one that is locked past ``timeout_s``
    (StoreBusyError) or cannot be opened (StoreUnavailableError)."""
    _refuse_by_header(path)
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout_s)
    except sqlite3.Error as exc:
        if _primary_code(exc) in _CORRUPT:
            return str(exc)
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
        # before quick_check: a newer release's migration still in the -wal (the header, not
        # checkpointed, says this version) fails it, its schema written by a newer SQLite
        # with syntax this one cannot parse; these two pragmas read page 1 without the schema
        if version > SCHEMA_VERSION and _application_id(conn) == APPLICATION_ID:
            raise StoreTooNewError(path, version, SCHEMA_VERSION)
        rows = conn.execute("PRAGMA quick_check").fetchall()
        problems = [r[0] for r in rows if r[0] != "ok"]
        if not problems and not _ours(conn, version):
            raise StoreForeignError(path)
        return "; ".join(problems[:3]) if problems else None
    except sqlite3.Error as exc:
        if _primary_code(exc) in _CORRUPT:
            return str(exc)
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


def _put_back(path: Path, backup: Path) -> Path:
    """The damaged file moved aside to ``backup`` put back at ``path`` in place of the new
    cache that could not be made (a full disk): left at the backup, the next start would find
    the new, partly made file sound and never salvage it. Where it is now (``backup`` when
    moving it failed too)."""
    try:
        for suffix in _SIDE_FILES:  # the new file's: never to be read as the damaged one's
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.replace(backup, path)
    except OSError:
        log.exception("the damaged cache file could not be put back", extra={"backup": str(backup)})
        return backup
    for suffix in _SIDE_FILES:
        side = Path(f"{backup}{suffix}")
        try:
            if side.exists():
                os.replace(side, Path(f"{path}{suffix}"))
        except OSError:  # the file is back: the -wal's writes are what is lost
            log.exception("a side file of the damaged cache could not be put back",
                          extra={"side_file": str(side)})  # fmt: skip
    log.error("a new cache could not be made: the damaged file was put back")
    return path


# -- what still reads in a damaged cache --------------------------------------------------------
#: what a person made and the clusters cannot give back, copied out of a damaged cache into the
#: new one, each table on its own: the clusters registered (every row that reads, a damaged
#: one too: the cache keeps it, names it for repair, and the orphan sweep leaves its keyring
#: entry alone); the keyring entries written for them (without their record, the orphan sweep
#: never deletes the tokens of the clusters lost); the incidents (acknowledged, resolved); the
#: saved queries, the chat sessions and the query history (the person's own words and work).
#: Samples, health checks, anomalies and alerts come again from the clusters. The columns are
#: those every version holding the table has.
_SALVAGED = {
    "clusters": "id, name, doc, updated_at",
    "credential_keys": "service, key, cluster_id, written_at",
    "incidents": "id, state, severity, opened_at, updated_at, body",
    "saved_queries": "name, promql, clusters, query_type, range_s, step_s, aggregation, saved_at",
    "chat_sessions": "id, title, persona, updated_at, body",
    "query_history": "id, run_at, promql, clusters, query_type, range_s, step_s, aggregation, "
    "status, series, duration_ms",
}
_TEXT, _REAL, _INT = (str,), (int, float), (int,)
_INT_OR_NULL, _REAL_OR_NULL = (int, type(None)), (int, float, type(None))
#: the types each column of ``_SALVAGED`` holds as the app reads it; a row holding another (a
#: disk error, a hand edit) is damaged: left in the moved file, counted
_COLUMN_TYPES: dict[str, tuple[tuple[type, ...], ...]] = {
    "incidents": (_TEXT, _TEXT, _TEXT, _REAL, _REAL, _TEXT),
    "saved_queries": (_TEXT, _TEXT, _TEXT, _TEXT, _INT_OR_NULL, _INT_OR_NULL, _TEXT, _TEXT),
    "chat_sessions": (_TEXT, _TEXT, _TEXT, _REAL, _TEXT),
    "query_history": (_INT, _TEXT, _TEXT, _TEXT, _TEXT, _INT_OR_NULL, _INT_OR_NULL, _TEXT,
                      _TEXT, _INT, _REAL_OR_NULL),
}  # fmt: skip


def _row_reads(table: str, row: tuple[object, ...]) -> bool:
    """Whether ``row`` is copied: an incident, a saved query, a chat session or a query run
    that reads as the app reads it (a damaged one stays in the moved file, for a person to
    repair; the rest of its table is copied), and every other row as SQL read it. A cluster
    row is copied damaged too, as the cache holds it (store/clusters.py names it for repair):
    left out, its keyring record (copied) would read as an orphan's, and the sweep would
    delete the token of a cluster left for repair."""
    from uuid import UUID

    from pydantic import TypeAdapter, ValidationError

    from aiops_desktop.models.chat import ChatSession
    from aiops_desktop.models.incidents import Incident

    types = _COLUMN_TYPES.get(table)
    if types is None:
        return True
    if not all(isinstance(v, t) for v, t in zip(row, types, strict=True)):
        return False
    try:
        if table == "incidents":
            Incident.model_validate_json(str(row[5]))
        elif table == "chat_sessions":
            UUID(str(row[0]))  # the list reads it so
            ChatSession.model_validate_json(str(row[4]))
        else:  # a query: its clusters, a JSON list of names (store/queries.py)
            clusters = _SALVAGED[table].split(", ").index("clusters")
            TypeAdapter(list[str]).validate_json(str(row[clusters]))
    except (ValidationError, ValueError):
        return False
    return True


def _header_restored(backup: Path) -> Path | None:
    """A copy of ``backup`` with SQLite's 16-byte magic put back, where that is what is wrong
    with its header (the rest of it is an SQLite header's), and of its -wal beside it (what
    was not checkpointed: after a crash, often the last clusters added); None otherwise. The
    caller removes both. A copy that cannot be made (a full disk: it is as big as the cache)
    raises StoreUnavailableError, so that the damaged file is put back for a later start: read
    as nothing of it reading, the new cache, empty, would be found sound and never salvage it."""
    try:
        with open(backup, "rb") as f:
            head = f.read(100)
    except OSError:
        return None
    if len(head) < 100 or head.startswith(_MAGIC):
        return None
    page = int.from_bytes(head[16:18], "big")
    if not (page == 1 or (512 <= page <= 32768 and page & (page - 1) == 0)):
        return None
    if head[21:24] != b"\x40\x20\x20":  # the payload fractions, fixed in every SQLite file
        return None
    copy = backup.with_name(f"{backup.name}.salvage")
    wal = Path(f"{backup}-wal")
    try:
        _copy(backup, copy, _MAGIC)
        if wal.exists():
            _copy(wal, Path(f"{copy}-wal"))
    except OSError as exc:
        for suffix in ("", "-wal"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
        why = f"no copy of it could be made to read it through: {_os_reason(exc)}"
        raise StoreUnavailableError(backup, why) from exc
    return copy


def _copy(source: Path, target: Path, head: bytes = b"") -> None:
    """``source`` copied to ``target`` (the owner's only: a cache's copy), its first bytes
    replaced by ``head``."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "wb") as dst, open(source, "rb") as src:
        dst.write(head)
        src.seek(len(head))
        while chunk := src.read(1 << 20):
            dst.write(chunk)


#: (the rows that read, by table; the tables that failed to read, and why; the damaged rows
#: left out, by table)
_Read = tuple[dict[str, list[tuple[object, ...]]], dict[str, str], dict[str, int]]


#: the key each table of ``_SALVAGED`` is read by where it does not read whole: its primary
#: key where it has no rowid
_KEYS = {"saved_queries": "name", "credential_keys": "service, key"}
#: how many rows of a damaged table are read at once: a range that fails is read row by row
_RANGE_ROWS = 256


def _read_tables(source: Path) -> _Read:
    """Each table of ``_SALVAGED`` read from ``source`` (read only): whole, or where that
    fails, every row that still reads (``_read_rows``)."""
    rows: dict[str, list[tuple[object, ...]]] = {}
    unread: dict[str, str] = {}
    left_out: dict[str, int] = {}
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=0.1)
    except sqlite3.Error as exc:
        return {}, {t: str(exc) for t in _SALVAGED}, {}
    try:
        conn.execute("PRAGMA trusted_schema=OFF")
        # a schema entry that fails (a root page past the end of a truncated file, another
        # table's damaged definition) is skipped, not every table refused; read only, nothing
        # of it is written
        conn.execute("PRAGMA writable_schema=ON")
        for table in _SALVAGED:
            try:
                known = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
                ).fetchone()
                if known is None:  # made before this table was
                    continue
                found, lost = _read_rows(conn, table)
            except sqlite3.Error as exc:
                unread[table] = str(exc)
                continue
            rows[table] = [r for r in found if _row_reads(table, r)]
            if lost or len(found) > len(rows[table]):
                left_out[table] = lost + len(found) - len(rows[table])
    finally:
        conn.close()
    return rows, unread, left_out


def _read_rows(conn: sqlite3.Connection, table: str) -> tuple[list[tuple[object, ...]], int]:
    """The rows of ``table`` that read, and how many failed to: the table whole, or where that
    fails, by its keys (those a scan from either end reaches before the damage), a range of
    them at a time, and a range that fails (or reads short) row by row. Raises where no key
    of it reads."""
    columns, key = _SALVAGED[table], _KEYS.get(table, "rowid")
    select = f"SELECT {columns} FROM {table}"  # noqa: S608 (the names: ours)
    try:
        return conn.execute(select).fetchall(), 0
    except sqlite3.DatabaseError:
        pass
    keys, error = _keys(conn, table, key, descending=False)
    if error is not None:  # the rest of them, from the other end
        seen = set(keys)
        after = _keys(conn, table, key, descending=True)[0]
        keys += [k for k in reversed(after) if k not in seen]
        if not keys:
            raise error
    marks = ", ".join("?" * len(key.split(", ")))
    found: list[tuple[object, ...]] = []
    lost = 0
    for start in range(0, len(keys), _RANGE_ROWS):
        some = keys[start : start + _RANGE_ROWS]
        try:
            ranged = conn.execute(f"{select} WHERE ({key}) BETWEEN ({marks}) AND ({marks})",
                                  (*some[0], *some[-1])).fetchall()  # fmt: skip
            if len(ranged) >= len(some):
                found += ranged
                continue
        except sqlite3.DatabaseError:
            pass
        for one in some:
            try:
                found += conn.execute(f"{select} WHERE ({key}) = ({marks})", one).fetchall()
            except sqlite3.DatabaseError:
                lost += 1
    return found, lost


def _keys(
    conn: sqlite3.Connection, table: str, key: str, *, descending: bool
) -> tuple[list[tuple[object, ...]], sqlite3.DatabaseError | None]:
    """The keys of ``table`` a scan from one end reads, in its order, and the error that
    ended it (None: it read them all)."""
    order = ", ".join(f"{k} DESC" if descending else k for k in key.split(", "))
    found: list[tuple[object, ...]] = []
    try:
        for row in conn.execute(f"SELECT {key} FROM {table} ORDER BY {order}"):  # noqa: S608
            found.append(tuple(row))
    except sqlite3.DatabaseError as exc:
        return found, exc
    return found, None


def salvage(backup: Path, path: Path, problem: str) -> StoreCorruptError:
    """What still reads in the damaged file moved to ``backup`` copied into the new cache at
    ``path``: each table on its own, a damaged row left out. The error that says what was
    kept. ``backup`` is only read (read only; or a copy, its header put right)."""
    rows, unread, left_out = _read_tables(backup)
    if not rows:  # nothing read: if its header lacks only SQLite's magic, read it with that
        restored = _header_restored(backup)
        if restored is not None:
            try:
                rows, unread, left_out = _read_tables(restored)
            finally:
                for suffix in ("", *_SIDE_FILES):
                    Path(f"{restored}{suffix}").unlink(missing_ok=True)
    if not rows:  # nothing of it reads: the damage said is the reason
        unread = {}
    kept = {table: len(found) for table, found in rows.items()}
    if any(rows.values()):
        conn = None
        try:
            conn = connect(path)
            conn.execute("BEGIN IMMEDIATE")
            for table, found in rows.items():
                if found:
                    marks = ", ".join("?" * len(found[0]))
                    columns = _SALVAGED[table]  # the names: _SALVAGED's own
                    insert = f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
                    before = conn.total_changes
                    conn.executemany(insert, found)
                    # what was copied: a row read twice from a damaged index is one row
                    kept[table] = conn.total_changes - before
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if _primary_code(exc) in _BUSY | _UNAVAILABLE:  # a full disk: put back, tried again
                raise _refusal(path, exc, 0.0) from exc
            log.exception("copying what still read in the damaged cache failed")
            kept, unread = {}, {t: f"not copied: {exc}" for t in rows}
        finally:
            if conn is not None:
                conn.close()  # rolls back what was not committed
    log.info("what still read in the damaged cache was kept",
             extra={"kept": kept, "unread": sorted(unread), "left_out": left_out})  # fmt: skip
    return StoreCorruptError(path, backup, problem, kept=kept, unread=unread, left_out=left_out)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


class _OpenLock:
    """A lock file beside the cache, held shared by every Database for as long as it is open
    and exclusively by one moving a damaged cache aside: never from under another window or
    command that has it open (that one would go on writing into the moved file, and what it
    was told was committed would be missing from the new cache). SQLite's own locks cannot
    tell: a connection between transactions holds none that another one's would wait for.
    On Windows there is nothing to do: a file open elsewhere cannot be moved at all."""

    def __init__(self, path: Path) -> None:
        self._fd: int | None = None
        if sys.platform == "win32":
            return
        lock = path.with_name(f".{path.name}.lock")
        try:
            self._fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StoreUnavailableError(path, f"{lock}: {_os_reason(exc)}") from exc

    def _take(self, fd: int, how: int, wait_s: float) -> bool:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, how | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.02)

    def shared(self, wait_s: float) -> bool:
        """Held shared; False when another held it exclusively past ``wait_s``."""
        return self._fd is None or self._take(self._fd, fcntl.LOCK_SH, wait_s)

    def exclusive(self, wait_s: float) -> bool:
        """Held exclusively; False when another kept it past ``wait_s`` (this one then holds
        none: two openers of one damaged file, each letting go of its shared lock, one wins)."""
        if self._fd is None:
            return True
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        return self._take(self._fd, fcntl.LOCK_EX, wait_s)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # lets go of the lock
            self._fd = None


class Database:
    """The open cache: one writer thread, one read connection per reading thread.

    ``recovered`` holds the StoreCorruptError when a damaged file was moved aside on open, so
    the UI and the CLI can tell the user; what still read in it was copied into the new cache
    (``salvage``). Opening waits up to ``lock_timeout_s`` for another process's lock (it may be
    migrating the same file), then raises StoreBusyError; a file that cannot be opened raises
    StoreUnavailableError; a damaged file that another window or command has open raises
    StoreDamagedBusyError. None of them is moved aside. A bulk write (the poller's samples)
    queued behind ``max_queued_writes`` waiting writes fails at once (StoreWriteError); any
    other write is always queued.
    """

    def __init__(
        self,
        path: Path,
        *,
        batch_max_ops: int = 500,
        batch_max_delay_s: float = 0.05,
        lock_timeout_s: float = LOCK_TIMEOUT_S,
        max_queued_writes: int = MAX_QUEUED_WRITES,
    ) -> None:
        self.path = Path(path)
        self.recovered: StoreCorruptError | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + lock_timeout_s
        self._open_lock = _OpenLock(self.path)
        try:
            # another opener may be moving the damaged file aside and copying what still
            # reads in it: the new cache is used once that is done
            if not self._open_lock.shared(lock_timeout_s):
                raise StoreBusyError(self.path, lock_timeout_s, "another window or command is "
                                     "moving the damaged file aside")  # fmt: skip
            damaged = self._move_aside_if_damaged(lock_timeout_s)
            try:
                self._open_new(deadline, lock_timeout_s, damaged, batch_max_ops=batch_max_ops,
                               batch_max_delay_s=batch_max_delay_s,
                               max_queued_writes=max_queued_writes)  # fmt: skip
            except BaseException as exc:
                if damaged is None:
                    raise
                left_at = _put_back(self.path, damaged[0])
                if not isinstance(exc, Exception):  # an interrupt: as it is
                    raise
                reason = getattr(exc, "reason", None) or f"{exc}"
                raise StoreDamagedUnavailableError(self.path, damaged[1], reason,
                                                   left_at) from exc  # fmt: skip
            if damaged is not None:
                self._open_lock.shared(lock_timeout_s)  # held exclusively: cannot fail
        except BaseException:
            self._open_lock.release()
            raise

    def _open_new(
        self,
        deadline: float,
        lock_timeout_s: float,
        damaged: tuple[Path, str] | None,
        *,
        batch_max_ops: int,
        batch_max_delay_s: float,
        max_queued_writes: int,
    ) -> None:
        """The file made or brought to this app's schema, what still reads in the ``damaged``
        one moved aside copied into it, and the writer started."""
        try:
            owner_only(self.path)
        except OSError as exc:
            raise StoreUnavailableError(self.path, _os_reason(exc)) from exc
        self.schema_version = self._migrate(deadline, lock_timeout_s)
        if damaged is not None:
            backup, problem = damaged
            self.recovered = salvage(backup, self.path, problem)
        self._closed = False
        self._readers: list[tuple[sqlite3.Connection, threading.RLock]] = []
        self._readers_lock = threading.Lock()
        self._local = threading.local()
        try:
            self.writer = WriterThread(self.path, max_ops=batch_max_ops,
                                       max_delay_s=batch_max_delay_s,
                                       max_queued=max_queued_writes)  # fmt: skip
        except sqlite3.Error as exc:
            if _primary_code(exc) in _BUSY | _UNAVAILABLE:
                raise _refusal(self.path, exc, lock_timeout_s) from exc
            raise

    def _move_aside_if_damaged(self, lock_timeout_s: float) -> tuple[Path, str] | None:
        """The file probed; damaged, moved aside under the open lock held exclusively: (where
        to, the damage). Another window or command that has it open: StoreDamagedBusyError,
        the file left where it is."""
        for _attempt in range(3):
            if not self.path.exists() or self.path.stat().st_size == 0:
                return None
            probed = _identity(self.path)
            problem = _probe(self.path, lock_timeout_s)
            if problem is None:
                return None
            wait_s = min(MOVE_WAIT_S, lock_timeout_s)
            if not self._open_lock.exclusive(wait_s):
                raise StoreDamagedBusyError(self.path, wait_s, problem)
            if _identity(self.path) != probed:
                # another opener moved it aside and made a new one meanwhile: probe that one
                self._open_lock.shared(lock_timeout_s)
                continue
            try:
                backup = _move_aside(self.path)
            except OSError as exc:
                if sys.platform == "win32" and isinstance(exc, PermissionError):
                    # a file open elsewhere cannot be moved there
                    raise StoreDamagedBusyError(self.path, 0.0, problem) from exc
                why = f"damaged ({problem}), and it could not be moved aside: {exc.strerror}"
                raise StoreUnavailableError(self.path, why) from exc
            log.error("cache file damaged, moved aside", extra={"backup": str(backup)})
            return backup, problem
        raise StoreDamagedBusyError(self.path, 0.0, "replaced again and again while opened")

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
    def write(self, op: Callable[[sqlite3.Connection], T], *, bulk: bool = False) -> Future[T]:
        """Queue a write on the writer thread; the future resolves once it has committed. A
        ``bulk`` one (samples read again next poll) fails at once when too many writes wait
        already (``max_queued_writes``); any other (the person's) is always queued."""
        return self.writer.submit(op, bulk=bulk)

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
        """Close every reader, each once its running read has finished, then stop the writer
        (it commits what was queued). The writer last: the last connection to close
        checkpoints the -wal into the main file, which a read-only one cannot do; left in the
        -wal, a newer release's migration reads as this version in the file's header."""
        self._closed = True
        with self._readers_lock:
            entries, self._readers = self._readers, []
        for conn, lock in entries:
            with lock:
                conn.close()
        self._local = threading.local()
        self.writer.close()
        self._open_lock.release()
