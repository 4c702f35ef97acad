"""The one writer thread: every SQLite write goes through it, batched into transactions.

Callers submit a function that takes the write connection; they get a ``concurrent.futures``
Future (``asyncio.wrap_future`` makes it awaitable), so no caller, least of all the UI thread,
waits on SQLite. Operations queued together share one transaction; each runs in a SAVEPOINT so
that one failing operation fails alone and the rest of its batch still commits. A future
resolves only after its transaction has committed: a resolved write survives a crash.
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

from aiops_desktop.store.errors import StoreClosedError

log = logging.getLogger("aiops.store.writer")
T = TypeVar("T")
WriteOp = Callable[[sqlite3.Connection], Any]
_STOP = object()
PAGE_SIZE = 16384


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
    def __init__(self, path: Path, *, max_ops: int = 500, max_delay_s: float = 0.05) -> None:
        self._path = path
        self._max_ops = max_ops
        self._max_delay_s = max_delay_s
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = threading.Event()
        self._ready: Future[None] = Future()
        self.batches_committed = 0
        self._thread = threading.Thread(target=self._run, name="aiops-store-writer", daemon=True)
        self._thread.start()
        self._ready.result()

    def submit(self, op: Callable[[sqlite3.Connection], T]) -> Future[T]:
        if self._closed.is_set():
            raise StoreClosedError("the store is closed; the write was not accepted")
        future: Future[T] = Future()
        self._queue.put((op, future))
        return future

    def close(self, timeout: float = 30.0) -> None:
        """Commit what is queued, then stop the thread."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            conn = connect(self._path)
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
                batch = [item]
                deadline = time.monotonic() + self._max_delay_s
                while len(batch) < self._max_ops:
                    try:
                        nxt = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                    except queue.Empty:
                        break
                    if nxt is _STOP:
                        stopping = True
                        break
                    batch.append(nxt)
                self._commit(conn, batch)
        finally:
            conn.close()

    def _commit(self, conn: sqlite3.Connection, batch: list[tuple[WriteOp, Future[Any]]]) -> None:
        outcomes: list[tuple[Future[Any], bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op, future in batch:
                if not future.set_running_or_notify_cancel():
                    continue
                conn.execute("SAVEPOINT op")
                try:
                    result = op(conn)
                except Exception as exc:  # one bad write fails alone
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    outcomes.append((future, False, exc))
                else:
                    conn.execute("RELEASE op")
                    outcomes.append((future, True, result))
            conn.execute("COMMIT")
        except Exception as exc:
            log.exception("store batch of %d writes failed", len(batch))
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for _op, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.batches_committed += 1
        for future, ok, value in outcomes:
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
