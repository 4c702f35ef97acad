"""The startup review's sixth round, the cache file: a newer release's cache whose migration is
still in its -wal is refused untouched (never moved aside as damaged), and closing leaves the
main file current; salvage keeps every row that still reads (one damaged row, a truncated
file); a full disk is said to be full."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from aiops_desktop.models import Cluster
from aiops_desktop.store import database
from aiops_desktop.store.clusters import ClusterRepository
from aiops_desktop.store.database import Database
from aiops_desktop.store.errors import StoreTooNewError, StoreUnavailableError
from aiops_desktop.store.migrations import SCHEMA_VERSION
from tests.qtfree.test_store_review4 import _backups, _checkpoint, _digest, _filled

# -- 1. a newer release's migration still in the -wal ---------------------------------------------


def _header_version(path: Path) -> int:
    with open(path, "rb") as f:
        return int.from_bytes(f.read(100)[60:64], "big")


def test_closing_leaves_the_main_file_current(tmp_path: Path) -> None:
    """The writer closed first and a read-only reader last: SQLite's checkpoint on close never
    ran, and each session's last writes stayed in the -wal."""
    path = tmp_path / "cache.sqlite3"
    db = Database(path)
    ClusterRepository(db).save(Cluster(name="east-1", api_server_url="https://e:6443")).result()
    assert ClusterRepository(db).list()  # a reader open
    db.close()
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert _header_version(path) == SCHEMA_VERSION


def test_a_newer_release_migration_in_the_wal_is_refused_untouched(tmp_path: Path) -> None:
    """The header (older than the -wal) said this version, quick_check ran before the version
    was looked at, and the newer schema this SQLite cannot parse read as damage: the whole
    cache moved aside."""
    path = tmp_path / "cache.sqlite3"
    db = Database(path)
    ClusterRepository(db).save(Cluster(name="east-1", api_server_url="https://e:6443")).result()
    db.close()
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    reader.execute("SELECT 1 FROM clusters").fetchall()
    newer = sqlite3.connect(path, isolation_level=None)
    newer.execute("BEGIN IMMEDIATE")
    newer.execute("CREATE TABLE future_table (a INT)")
    newer.execute("PRAGMA writable_schema=ON")  # stands for a newer SQLite's syntax
    newer.execute("UPDATE sqlite_master SET sql='CREATE TABLE future_table (a INT) NEWER_OPTION' "
                  "WHERE name='future_table'")  # fmt: skip
    newer.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    newer.execute("COMMIT")
    newer.close()
    reader.close()  # the last to close, read only: no checkpoint
    assert _header_version(path) == SCHEMA_VERSION
    before = _digest(path)
    with pytest.raises(StoreTooNewError):
        Database(path)
    assert _backups(tmp_path) == []
    assert _digest(path) == before


# -- 2. salvage keeps the rows that still read ----------------------------------------------------


def _damage_the_record_of(path: Path, cluster_id: str) -> None:
    """The serial type of one cluster row's name bumped (a flipped bit in its record header):
    that row no longer reads; its neighbours do."""
    data = bytearray(path.read_bytes())
    start = data.index(cluster_id.encode())
    size = next(h for h in range(2, 12) if data[start - h] == h)  # the header before the id
    data[start - size + 2] += 2
    path.write_bytes(bytes(data))


def test_one_damaged_cluster_row_costs_only_that_row(tmp_path: Path) -> None:
    """The table was read whole or not at all: one damaged row dropped every registered
    cluster."""
    path = tmp_path / "cache.sqlite3"
    db = Database(path)
    repo = ClusterRepository(db)
    saved = [repo.save(Cluster(name=f"east-{i}", api_server_url=f"https://e{i}:6443")).result()
             for i in range(1, 4)]  # fmt: skip
    db.close()
    _checkpoint(path)
    _damage_the_record_of(path, str(saved[0].id))
    db = Database(path)
    try:
        assert db.recovered is not None
        assert [c.name for c in ClusterRepository(db).list()] == ["east-2", "east-3"]
        said = str(db.recovered)
        assert "registered clusters: 2" in said
        assert "damaged rows left out: registered clusters 1" in said
        assert "must be added again" not in said
    finally:
        db.close()


def test_a_truncated_cache_keeps_the_clusters_in_the_half_that_is_left(tmp_path: Path) -> None:
    """The schema named pages past the end of the file: every table failed to read."""
    path = tmp_path / "cache.sqlite3"
    names, recorded = _filled(path)
    _checkpoint(path)
    os.truncate(path, path.stat().st_size // 2)
    db = Database(path)
    try:
        assert db.recovered is not None
        assert [c.name for c in ClusterRepository(db).list()] == names
        got = {(str(r[0]), str(r[1])) for r in db.fetch_all("SELECT service, key FROM "
                                                            "credential_keys")}  # fmt: skip
        assert got == recorded
    finally:
        db.close()


# -- 8. a full disk ----------------------------------------------------------------------------

_OPEN_WITH_NO_ROOM = """
import resource, signal, sys
from pathlib import Path
from aiops_desktop.store import database
from aiops_desktop.store.database import Database
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (16_000, resource.RLIM_INFINITY))
try:
    Database(Path(sys.argv[1]))
except Exception as exc:
    print(type(exc).__name__, exc)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE: a full disk, on POSIX")
def test_a_full_disk_is_said_to_be_full(tmp_path: Path) -> None:
    """A sound cache whose -shm could not be made (SQLITE_IOERR_SHMSIZE) was said to be a
    failing disk."""
    path = tmp_path / "cache.sqlite3"
    Database(path).close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    said = subprocess.run([sys.executable, "-c", _OPEN_WITH_NO_ROOM, str(path)],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert said.startswith("StoreUnavailableError"), said
    assert "disk is full" in said and "free some space" in said
    assert _backups(tmp_path) == []


def test_no_room_for_a_file_beside_the_cache_is_said_to_be_a_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_room(path: Path) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(database, "owner_only", no_room)
    with pytest.raises(StoreUnavailableError, match="disk is full: free some space"):
        Database(tmp_path / "cache.sqlite3")
