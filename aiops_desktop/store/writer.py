"""The one writer thread: every SQLite write goes through it, batched into transactions.

Callers submit a function that takes the write connection; they get a ``concurrent.futures``
Future (``asyncio.wrap_future`` makes it awaitable), so no caller, least of all the UI thread,
waits on SQLite. Operations queued together share one transaction; each runs in a SAVEPOINT so
that one failing operation fails alone and the rest of its batch still commits. A future
resolves only after its transaction has committed: a resolved write survives a crash. A write
the disk or the file refuses (full, read-only, locked, failing) fails as a StoreWriteError.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from aiops_desktop.store.errors import StoreClosedError, StoreWriteError

log = logging.getLogger("aiops.store.writer")
T = TypeVar("T")
WriteOp = Callable[[sqlite3.Connection], Any]
_STOP = object()
PAGE_SIZE = 16384
#: the most writes waiting for the writer that a bulk write (what every poll writes and the
#: next one brings again: samples, each alerts poll's firing list) is queued behind. Past it
#: a bulk write fails at once (StoreWriteError): while another program holds the cache's
#: lock, or its disk is slow, the queue grew without end (each poll's samples held in memory:
#: 270 MiB in 12 s). Nothing waits in ``submit``, which the UI thread calls. Every other write
#: (a person's acknowledgement, a chat, a cluster; a health check's one row, an incident, an
#: anomaly: small, and once a check or a round) is queued whatever waits.
MAX_QUEUED_WRITES = 1000
#: a bulk write waits up to the batch delay for others to share its transaction; any other
#: waits only while more keep coming, at most this far apart (a burst shares one). Each of
#: a health check's two writes, awaited one after the other, had waited the whole delay:
#: 75 checks took 7.5 s
BURST_GAP_S = 0.002
#: SQLite's primary codes for a write the file or its disk refused (the write itself was sound)
_WRITE_REFUSALS = frozenset(
    {
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PERM,
    }
)


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection with the project's pragmas (WAL, NORMAL sync: crash-safe, fast)."""
    if readonly:
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
        )
    else:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # Only takes effect on a new, empty file: 16 KiB pages pack ~1 KB chunk BLOBs tightly.
        conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class WriterThread:
    def __init__(
        self,
        path: Path,
        *,
        max_ops: int = 500,
        max_delay_s: float = 0.05,
        max_queued: int = MAX_QUEUED_WRITES,
    ) -> None:
        self._path = path
        self._max_ops = max_ops
        self._max_delay_s = max_delay_s
        self._max_queued = max_queued
        # not a SimpleQueue: CPython's (3.11) get(timeout=...) can block for good when its
        # deadline passes while it takes the queue's free lock (the next turn waits with a
        # negative, so endless, timeout): under load a write waited in the batch's linger with
        # its future never resolved (tests/qtfree/test_store_writer_queue.py)
        self._queue: queue.Queue[Any] = queue.Queue()
        self._closed = threading.Event()
        # held across submit's check of _closed and its queueing, and across close's setting of
        # it and queueing _STOP: a write is either refused or queued ahead of the stop, never
        # after it (where the writer would never run it, nor fail it)
        self._closing = threading.Lock()
        self._ready: Future[None] = Future()
        self.batches_committed = 0
        self._cache_resets: list[Callable[[], None]] = []
        self._data_version: int | None = None
        self._thread = threading.Thread(target=self._run, name="aiops-store-writer", daemon=True)
        self._thread.start()
        self._ready.result()

    def submit(self, op: Callable[[sqlite3.Connection], T], *, bulk: bool = False) -> Future[T]:
        """Queue ``op``; a ``bulk`` one's future fails at once (StoreWriteError, ``op`` never
        run) when ``max_queued`` writes are waiting already (MAX_QUEUED_WRITES)."""
        future: Future[T] = Future()
        with self._closing:
            if self._closed.is_set():
                raise StoreClosedError("the store is closed; the write was not accepted")
            waiting = self._queue.qsize()
            if not bulk or waiting < self._max_queued:
                self._queue.put((op, future, bulk))
                return future
        if future.set_running_or_notify_cancel():
            future.set_exception(StoreWriteError(
                self._path, f"the cache's writes are behind: {waiting} writes are waiting "
                "already (another program holding its lock, or a slow disk)", None,
            ))  # fmt: skip
        return future

    def on_cache_reset(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` (on the writer thread, between writes) whenever what a cache read
        from the file may no longer be true: a write was rolled back, or another connection
        (another process) committed. Whoever caches rows across writes drops them there."""
        self._cache_resets.append(hook)

    def close(self, timeout: float = 30.0) -> bool:
        """Commit what is queued, then stop the thread. False (and a warning in the log, with
        how many writes were still waiting) when that took longer than ``timeout``: the
        thread goes on committing, but what it has not committed when the process ends is
        lost."""
        with self._closing:
            already = self._closed.is_set()
            self._closed.set()
            if not already:
                self._queue.put(_STOP)
        self._thread.join(timeout)
        if already:
            return not self._thread.is_alive()
        if self._thread.is_alive():
            log.warning("the store's writes were not all committed within %g s of closing "
                        "(%d still waiting); what is not committed when the app exits is "
                        "lost", timeout, max(self._queue.qsize() - 1, 0))  # fmt: skip
            return False
        return True

    def _run(self) -> None:
        try:
            conn = connect(self._path)
            self._data_version = conn.execute("PRAGMA data_version").fetchone()[0]
        except BaseException as exc:
            self._ready.set_exception(exc)
            return
        self._ready.set_result(None)
        try:
            stopping = False
            while not stopping:
                item = self._queue.get()
                if item is _STOP:
                    break
                op, future, bulk = item
                batch = [(op, future)]
                deadline = time.monotonic() + self._max_delay_s
                linger = self._max_delay_s if bulk else min(self._max_delay_s, BURST_GAP_S)
                while len(batch) < self._max_ops:
                    wait = min(linger, deadline - time.monotonic())
                    try:
                        nxt = self._queue.get(timeout=max(0.0, wait))
                    except queue.Empty:
                        break
                    if nxt is _STOP:
                        stopping = True
                        break
                    batch.append(nxt[:2])
                self._commit(conn, batch)
        finally:
            self._refuse_the_rest()
            conn.close()

    def _refuse_the_rest(self) -> None:
        """The writer is done: nothing is accepted any more, and a write still queued (behind
        the stop, or left when the loop ended on an error) fails as StoreClosedError rather
        than leaving whoever awaits it waiting for ever."""
        with self._closing:
            self._closed.set()
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP and item[1].set_running_or_notify_cancel():
                item[1].set_exception(
                    StoreClosedError("the store closed before this write was committed")
                )

    def _commit(self, conn: sqlite3.Connection, batch: list[tuple[WriteOp, Future[Any]]]) -> None:
        outcomes: list[tuple[Future[Any], bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            # under the write lock: whether another connection (another window, the CLI) has
            # committed since our last batch; if so, what the caches hold may be gone or moved
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._data_version:
                self._data_version = version
                self._reset_caches()
            for op, future in batch:
                if not future.set_running_or_notify_cancel():
                    continue
                conn.execute("SAVEPOINT op")
                try:
                    result = op(conn)
                except Exception as exc:  # one bad write fails alone
                    self._reset_caches()  # it may have cached what is now undone
                    if not _undo_op(conn):
                        # SQLite undid the whole transaction itself (SQLITE_FULL, an I/O
                        # error): the writes before this one are gone too, so all fail, with
                        # this first error
                        raise
                    outcomes.append((future, False, _as_store_error(self._path, exc)))
                else:
                    conn.execute("RELEASE op")
                    outcomes.append((future, True, result))
            conn.execute("COMMIT")
        except Exception as exc:
            self._fail_batch(conn, batch, exc)
            return
        self.batches_committed += 1
        for future, ok, value in outcomes:
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _fail_batch(
        self, conn: sqlite3.Connection, batch: list[tuple[WriteOp, Future[Any]]], exc: Exception
    ) -> None:
        """Nothing of the batch was kept: every write of it fails with ``exc``, the first
        error (one that rolling back raises too would hide it)."""
        log.exception("store batch of %d writes failed", len(batch))
        self._reset_caches()
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                log.exception("rolling back the failed batch failed")
        error = _as_store_error(self._path, exc)
        for _op, future in batch:
            if not future.done():
                future.set_exception(error)

    def _reset_caches(self) -> None:
        for hook in tuple(self._cache_resets):
            try:
                hook()
            except Exception:  # a hook's bug must not stop the writer
                log.exception("a store cache reset failed")


def _undo_op(conn: sqlite3.Connection) -> bool:
    """Roll back the failed operation's savepoint; False when that cannot be done (no
    transaction is left, or the rollback itself failed)."""
    if not conn.in_transaction:
        return False
    try:
        conn.execute("ROLLBACK TO op")
        conn.execute("RELEASE op")
    except sqlite3.Error:
        log.exception("rolling back a failed write failed")
        return False
    return True


def _as_store_error(path: Path, exc: Exception) -> Exception:
    """SQLite's refusal of a write for want of space, permission, a lock or a working disk,
    as the StoreWriteError that says so (SQLite's error as its cause); any other error (an
    operation's own, a constraint a caller handles) as it is."""
    if not isinstance(exc, sqlite3.Error):
        return exc
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    if primary not in _WRITE_REFUSALS:
        return exc
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    error = StoreWriteError(path, f"{exc} [{name}]", primary)
    error.__cause__ = exc
    return error
