"""Whose file the cache is: PRAGMA application_id says so; another application's SQLite file
(whatever its user_version) is refused untouched, and a cache of ours made before the id was
set is recognised by its tables and given the id."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from aiops_desktop.models import Cluster
from aiops_desktop.store.clusters import ClusterRepository
from aiops_desktop.store.database import Database
from aiops_desktop.store.errors import StoreForeignError, StoreTooNewError
from aiops_desktop.store.migrations import APPLICATION_ID, SCHEMA_VERSION, migrate


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pragma(path: Path, name: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"PRAGMA {name}").fetchone()[0])
    finally:
        conn.close()


def _refused_untouched(path: Path) -> None:
    before = _digest(path)
    with pytest.raises(StoreForeignError, match="not an AIOps Desktop cache; it was not changed"):
        Database(path)
    assert _digest(path) == before
    assert not list(path.parent.glob("*.corrupt-*"))  # refused, not taken for damage


@pytest.mark.parametrize("version", [0, 1, 5, SCHEMA_VERSION, SCHEMA_VERSION + 1, -1])
def test_another_applications_file_is_refused_whatever_its_version(
    tmp_path: Path, version: int
) -> None:
    """A version other than 0 was migrated in place (given our tables, our version) and then
    opened with none of its reads working; -1 ran the last migration and failed raw."""
    path = tmp_path / "cache.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    conn.execute("INSERT INTO moz_places (url) VALUES ('https://example.org')")
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()
    _refused_untouched(path)


def test_our_tables_with_another_applications_id_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    conn = sqlite3.connect(path)
    migrate(conn)
    conn.execute("PRAGMA application_id = 1234")
    conn.close()
    _refused_untouched(path)


def test_an_empty_file_of_another_application_is_refused(tmp_path: Path) -> None:
    """No tables yet, but another application's id: its file, not an empty cache."""
    path = tmp_path / "cache.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 1234")
    conn.close()
    assert path.stat().st_size > 0
    _refused_untouched(path)


def test_a_cache_without_the_id_and_a_table_not_ours_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    conn = sqlite3.connect(path)
    migrate(conn, target=5)
    conn.execute("PRAGMA application_id = 0")
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()
    _refused_untouched(path)


def test_a_cache_without_the_id_missing_a_table_of_its_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    conn = sqlite3.connect(path)
    migrate(conn, target=5)
    conn.execute("PRAGMA application_id = 0")
    conn.execute("DROP TABLE anomalies")
    conn.close()
    _refused_untouched(path)


def test_a_new_cache_carries_our_id(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    Database(path).close()
    assert _pragma(path, "application_id") == APPLICATION_ID
    Database(path).close()  # and opens again


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION + 1))
def test_a_cache_made_before_the_id_is_recognised_and_given_it(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "cache.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, target=version)
    conn.execute("PRAGMA application_id = 0")  # as every cache was before
    cluster = Cluster(name="kept-cluster", api_server_url="https://api.kept:6443")
    conn.execute(
        "INSERT INTO clusters VALUES (?, ?, ?, ?)",
        (str(cluster.id), cluster.name, cluster.model_dump_json(), cluster.updated_at.isoformat()),
    )
    conn.close()
    database = Database(path)
    try:
        assert database.schema_version == SCHEMA_VERSION
        assert [c.name for c in ClusterRepository(database).list()] == ["kept-cluster"]
    finally:
        database.close()
    assert _pragma(path, "application_id") == APPLICATION_ID


def test_a_newer_cache_of_ours_is_still_refused_as_newer(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    Database(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.execute("CREATE TABLE made_by_a_later_release (x)")
    conn.close()
    before = _digest(path)
    with pytest.raises(StoreTooNewError, match="newer than this app supports"):
        Database(path)
    assert _digest(path) == before


def test_the_id_is_set_with_the_first_step(tmp_path: Path) -> None:
    """Every state a migration commits carries the id: another process opening the file
    while this one makes it never sees our tables without it."""
    conn = sqlite3.connect(tmp_path / "cache.sqlite3", isolation_level=None)
    try:
        migrate(conn, target=1)
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    finally:
        conn.close()
