"""The store review's fifth round, salvage of a damaged cache: a new cache that cannot be made
(a full disk) puts the damaged file back, so the next start salvages it, and says so truly;
the person's saved queries, chat sessions and query history are kept (a damaged row left out
and counted); a file whose first 16 bytes are damaged is read with its -wal."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest

from aiops_desktop.models import Cluster
from aiops_desktop.models.chat import ChatSession
from aiops_desktop.models.metrics import QueryRecord
from aiops_desktop.store import database
from aiops_desktop.store.chats import ChatRepository
from aiops_desktop.store.clusters import ClusterRepository
from aiops_desktop.store.database import Database
from aiops_desktop.store.errors import (
    KEPT_TABLES,
    StoreDamagedUnavailableError,
    StoreUnavailableError,
)
from aiops_desktop.store.queries import QueryRepository
from tests.qtfree.test_store_review4 import _backups, _checkpoint, _digest, _filled, _smash

_OPEN_ON_A_FULL_DISK = """
import resource, signal, sys
from pathlib import Path
from aiops_desktop.store.database import Database
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), resource.RLIM_INFINITY))
try:
    Database(Path(sys.argv[1]))
except Exception as exc:
    print(type(exc).__name__, exc)
"""


def _damaged(tmp_path: Path) -> tuple[Path, list[str]]:
    path = tmp_path / "cache.sqlite3"
    names, _ = _filled(path)
    page, roots = _checkpoint(path)
    _smash(path, page, roots["chunks"])
    return path, names


def _open_on_a_full_disk(path: Path, room: int) -> str:
    """What opening ``path`` says with ``room`` bytes left for any file written."""
    return subprocess.run([sys.executable, "-c", _OPEN_ON_A_FULL_DISK, str(path), str(room)],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip


# -- 1. a new cache that cannot be made puts the damaged file back --------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE: a full disk, on POSIX")
def test_a_full_disk_puts_the_damaged_file_back_for_the_next_start(tmp_path: Path) -> None:
    """The file moved aside, making the new one failed (disk full), the error said 'It was not
    changed', and the next start found the new, partly made file sound: nothing salvaged, the
    clusters gone without a word."""
    path, names = _damaged(tmp_path)
    before = _digest(path)
    said = _open_on_a_full_disk(path, 40_000)
    assert said.startswith("StoreDamagedUnavailableError"), said
    assert "is damaged" in said and "It was left as it was" in said
    assert "not changed" not in said
    assert _digest(path) == before  # put back as it was, no new file beside it
    assert _backups(tmp_path) == []
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    db = Database(path)  # space freed: the damage found again, and what reads in it kept
    try:
        assert db.recovered is not None
        assert [c.name for c in ClusterRepository(db).list()] == names
    finally:
        db.close()


def test_a_failure_after_the_salvage_puts_the_damaged_file_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, names = _damaged(tmp_path)
    before = _digest(path)

    def no_writer(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(database, "WriterThread", no_writer)
    with pytest.raises(StoreDamagedUnavailableError, match="It was left as it was") as caught:
        Database(path)
    assert caught.value.left_at == path and "No space left on device" in str(caught.value)
    assert _digest(path) == before and _backups(tmp_path) == []
    monkeypatch.undo()
    db = Database(path)
    try:
        assert db.recovered is not None
        assert [c.name for c in ClusterRepository(db).list()] == names
    finally:
        db.close()


def test_a_damaged_file_that_cannot_be_put_back_says_where_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _names = _damaged(tmp_path)

    def no_migration(self: Database, *_args: object) -> int:
        raise StoreUnavailableError(self.path, "database or disk is full [SQLITE_FULL]")

    real_replace = os.replace

    def no_way_back(src: str | Path, dst: str | Path) -> None:
        if ".corrupt-" in str(src):
            raise PermissionError(13, "Permission denied")
        real_replace(src, dst)

    monkeypatch.setattr(Database, "_migrate", no_migration)
    monkeypatch.setattr(database.os, "replace", no_way_back)
    with pytest.raises(StoreDamagedUnavailableError) as caught:
        Database(path)
    (backup,) = _backups(tmp_path)
    said = str(caught.value)
    assert caught.value.left_at == backup
    assert f"It was moved to {backup}" in said and "could not be put back" in said
    assert "left as it was" not in said and "not changed" not in said


# -- 2. the person's saved queries, chats and query history are kept ----------------------------


def test_saved_queries_chats_and_query_history_are_kept_and_said(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    db = Database(path)
    try:
        ClusterRepository(db).save(Cluster(name="site-0", api_server_url="https://a:6443"))
        queries = QueryRepository(db)
        for name in ("p99-latency", "error-rate"):
            queries.save(QueryRecord(name=name, promql=f"{name}_total", clusters=["site-0"],
                                     query_type="range", range_s=3600, step_s=60,
                                     aggregation="none"))  # fmt: skip
        for k in range(3):
            queries.record(QueryRecord(promql=f"up{{job='j{k}'}}", clusters=["site-0"],
                                       query_type="instant", range_s=None, step_s=None,
                                       aggregation="sum", status="ok", series=k))  # fmt: skip
        session = ChatSession(title="outage RCA", cluster_context=["site-0"])
        ChatRepository(db).save(session).result()

        def damage(conn: sqlite3.Connection) -> None:
            """A damaged row in each (a disk error, a hand edit)."""
            conn.execute("INSERT INTO chat_sessions VALUES ('not-a-uuid', 't', 'default', 1.0, "
                         "'{}')")  # fmt: skip
            conn.execute("INSERT INTO chat_sessions VALUES (?, 't', 'default', 1.0, "
                         "'{\"messages\": 1')", (str(uuid4()),))  # fmt: skip
            conn.execute("INSERT INTO saved_queries VALUES ('bad', 'up', '[\"x', 'range', 1, 1, "
                         "'none', 't')")  # fmt: skip
            conn.execute("INSERT INTO query_history (run_at, promql, clusters, query_type, "
                         "aggregation, status, series) VALUES ('t', 'up', '{}', 'instant', "
                         "'none', 'ok', 0)")  # fmt: skip

        db.write(damage).result()
    finally:
        db.close()
    page, roots = _checkpoint(path)
    _smash(path, page, roots["chunks"])
    db = Database(path)
    try:
        assert db.recovered is not None
        queries = QueryRepository(db)
        assert [q.name for q in queries.saved()] == ["error-rate", "p99-latency"]
        assert [q.promql for q in queries.history()] == [f"up{{job='j{k}'}}" for k in (2, 1, 0)]
        (listed,) = ChatRepository(db).listed()
        assert listed[0] == session.id
        kept = ChatRepository(db).get(session.id)
        assert kept is not None and kept.title == "outage RCA"
        said = str(db.recovered)
        assert "saved queries: 2, chat sessions: 1, query history entries: 3" in said
        assert "saved queries 1, chat sessions 2, query history entries 1" in said
    finally:
        db.close()


# -- 3. a damaged header: read with the -wal ----------------------------------------------------

_CRASH_AFTER_WRITES = """
import os, sys
from pathlib import Path
from aiops_desktop.models import Cluster
from aiops_desktop.store.database import Database
from aiops_desktop.store.clusters import ClusterRepository
db = Database(Path(sys.argv[1]))
for i in range(3):
    ClusterRepository(db).save(Cluster(name=f"site-{i}", api_server_url=f"https://s{i}:6443")
                               ).result()
os._exit(0)  # a crash: never checkpointed, the clusters are in the -wal only
"""


def test_a_damaged_header_is_read_with_its_wal(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    subprocess.run([sys.executable, "-c", _CRASH_AFTER_WRITES, str(path)], check=True)
    assert Path(f"{path}-wal").stat().st_size > 0
    with open(path, "r+b") as f:
        f.write(b"\0" * 16)
    db = Database(path)
    try:
        assert db.recovered is not None
        assert [c.name for c in ClusterRepository(db).list()] == ["site-0", "site-1", "site-2"]
        assert "registered clusters: 3" in str(db.recovered)
        assert [p.name for p in tmp_path.iterdir() if "salvage" in p.name] == []  # cleaned up
    finally:
        db.close()


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE: a full disk, on POSIX")
def test_a_damaged_header_on_a_full_disk_puts_the_file_back(tmp_path: Path) -> None:
    """Read through a copy (its magic put back) that the disk had no room for, the file was
    taken as one nothing of reads: a new, empty cache said so, and was found sound by the next
    start; the clusters gone for good."""
    path = tmp_path / "cache.sqlite3"
    names, _ = _filled(path)
    _checkpoint(path)
    with open(path, "r+b") as f:
        f.write(b"\0" * 16)
    before = _digest(path)
    said = _open_on_a_full_disk(path, path.stat().st_size // 2)  # a new cache fits, no copy
    assert said.startswith("StoreDamagedUnavailableError"), said
    assert "It was left as it was" in said and "copy" in said
    assert "nothing in it could be read" not in said
    assert _digest(path) == before and _backups(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir() if "salvage" in p.name] == []  # cleaned up
    db = Database(path)  # space freed: read through the copy, the clusters kept
    try:
        assert db.recovered is not None
        assert [c.name for c in ClusterRepository(db).list()] == names
    finally:
        db.close()


def test_the_salvaged_tables_are_those_the_notice_names() -> None:
    assert set(database._SALVAGED) == set(KEPT_TABLES)  # each copied table named to the person
