"""The cache opened by several processes at once, and by one while another holds its lock:
migrations run once, a busy or unopenable file is refused untouched, never moved aside."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
import traceback
from pathlib import Path

import pytest

from aiops_desktop.store.database import Database
from aiops_desktop.store.errors import StoreBusyError, StoreUnavailableError
from aiops_desktop.store.migrations import SCHEMA_VERSION, migrate
from aiops_desktop.store.writer import connect

# fork: the children start with everything imported, so they reach the open together
_FORK = multiprocessing.get_context("fork")


def _open_in_child(path: str, start: object, report: str) -> None:
    start.wait()  # type: ignore[attr-defined]
    try:
        Database(Path(path)).close()
    except BaseException:
        Path(report).write_text(traceback.format_exc())
        os._exit(1)
    os._exit(0)


def _version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def _old_cache(path: Path, version: int) -> None:
    conn = connect(path)
    try:
        migrate(conn, target=version)
        conn.execute("INSERT INTO app_meta VALUES ('kept', 'yes')")
    finally:
        conn.close()


@pytest.mark.parametrize("start_version", [0, 5])
def test_processes_opening_the_cache_together_succeed(tmp_path: Path, start_version: int) -> None:
    """Each opener re-reads the version under the write lock: no step runs twice."""
    for trial in range(6):
        folder = tmp_path / f"trial{trial}"
        folder.mkdir()
        path = folder / "cache.sqlite3"
        if start_version:
            _old_cache(path, start_version)
        start = _FORK.Event()
        children = [
            _FORK.Process(target=_open_in_child, args=(str(path), start, str(folder / f"err{i}")))
            for i in range(3)
        ]
        for child in children:
            child.start()
        start.set()
        for child in children:
            child.join(20)
        errors = [p.read_text() for p in sorted(folder.glob("err*"))]
        assert not errors, errors[0]
        assert [c.exitcode for c in children] == [0, 0, 0]
        assert _version(path) == SCHEMA_VERSION
        assert not list(folder.glob("*.corrupt-*"))


def test_a_write_lock_held_past_the_timeout_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    _old_cache(path, 5)
    holder = connect(path)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreBusyError, match="in use") as raised:
            Database(path, lock_timeout_s=0.3)
        assert raised.value.path == path
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _version(path) == 5  # untouched, and migrated by the next open
    assert not list(tmp_path.glob("*.corrupt-*"))
    database = Database(path)
    try:
        assert database.schema_version == SCHEMA_VERSION
        assert database.fetch_one("SELECT value FROM app_meta WHERE key = 'kept'")[0] == "yes"
    finally:
        database.close()


def _exclusive_holder(path: Path) -> sqlite3.Connection:
    """What the sqlite3 shell or a backup tool does: exclusive locking mode, a write."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("INSERT INTO app_meta VALUES ('held', 'yes')")
    return holder


def test_a_cache_locked_by_another_program_is_refused_not_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    Database(path).close()
    holder = _exclusive_holder(path)
    try:
        with pytest.raises(StoreBusyError, match=r"in use.*not changed"):
            Database(path, lock_timeout_s=0.3)
        assert path.exists()
        assert not list(tmp_path.glob("*.corrupt-*"))
    finally:
        holder.close()
    database = Database(path)
    try:
        assert database.recovered is None
        assert database.fetch_one("SELECT value FROM app_meta WHERE key = 'held'")[0] == "yes"
    finally:
        database.close()


def test_a_lock_released_within_the_timeout_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    Database(path).close()
    holder = _exclusive_holder(path)
    release = threading.Timer(0.3, holder.close)
    release.start()
    try:
        database = Database(path, lock_timeout_s=5.0)
    finally:
        release.join()
    try:
        assert database.recovered is None
        assert database.fetch_one("SELECT value FROM app_meta WHERE key = 'held'")[0] == "yes"
    finally:
        database.close()
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_a_cache_that_cannot_be_opened_is_refused_not_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    path.mkdir()  # SQLite cannot open it ("unable to open database file"); nothing is damaged
    (path / "keep").write_text("x")
    with pytest.raises(StoreUnavailableError, match=r"cannot be opened.*not changed"):
        Database(path)
    assert (path / "keep").read_text() == "x"
    assert not list(tmp_path.glob("*.corrupt-*"))
