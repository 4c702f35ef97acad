"""A damaged cluster or chat row (a hand edit, a disk error inside the JSON, a field a newer
version added) must not stop every list holding it: the good rows are read, the damaged one
is skipped, named in the log and to the person, and left in place for repair."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from aiops_desktop.models import Cluster
from aiops_desktop.models.chat import ChatSession
from aiops_desktop.settings import resolve_paths
from aiops_desktop.store.bodies import DamagedRowError
from aiops_desktop.store.chats import ChatRepository
from aiops_desktop.store.clusters import ClusterRepository
from aiops_desktop.store.database import Database
from tests.qtfree.cli_runner import call_main

#: what a damaged row holds must never reach the log or the person (it may hold anything)
PRIVATE = "hunter2-in-the-row"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "cache.sqlite3")
    yield database
    database.close()


def _set(db: Database, sql: str, *params: object) -> None:
    db.write(lambda c: c.execute(sql, params)).result()


def _doc(db: Database, name: str) -> str:
    row = db.fetch_one("SELECT doc FROM clusters WHERE name = ?", (name,))
    assert row is not None
    return str(row[0])


def test_a_damaged_cluster_row_is_skipped_named_and_left(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    repo = ClusterRepository(db)
    east, west, north = (Cluster(name=n, api_server_url="https://a:6443")
                         for n in ("prod-east-1", "prod-west-2", "prod-north-3"))  # fmt: skip
    for cluster in (east, west, north):
        repo.save(cluster).result()
    # a field a newer version added; and JSON cut short by a disk error
    _set(db, "UPDATE clusters SET doc = json_set(doc, '$.site_code', ?) WHERE name = ?",
         PRIVATE, "prod-west-2")  # fmt: skip
    _set(db, "UPDATE clusters SET doc = ? WHERE name = ?", '{"name": "' + PRIVATE, "prod-north-3")
    west_doc, north_doc = _doc(db, "prod-west-2"), _doc(db, "prod-north-3")

    assert [c.name for c in repo.list()] == ["prod-east-1"]
    assert "prod-west-2" in caplog.text and "prod-north-3" in caplog.text
    assert str(west.id) in caplog.text
    assert PRIVATE not in caplog.text
    notices = repo.damaged()
    assert len(notices) == 2 and "prod-west-2" in notices[1] and "prod-north-3" in notices[0]
    assert all(PRIVATE not in n for n in notices)
    with pytest.raises(DamagedRowError, match="prod-west-2"):
        repo.get(west.id)
    with pytest.raises(DamagedRowError, match="prod-north-3"):
        repo.by_name("prod-north-3")
    assert repo.get(east.id) == east
    # a new cluster taking a damaged row's name: a clear error, the row as it was
    with pytest.raises(DamagedRowError, match="prod-west-2"):
        repo.save(Cluster(name="prod-west-2", api_server_url="https://b:6443")).result()
    # one loaded before the row was damaged: its save and its health check write nothing
    with pytest.raises(DamagedRowError, match="prod-west-2"):
        repo.save(west).result()
    for loaded in (west, north):
        with pytest.raises(DamagedRowError, match=loaded.name):
            repo.save_status(loaded).result()
    assert (_doc(db, "prod-west-2"), _doc(db, "prod-north-3")) == (west_doc, north_doc)
    # a good cluster's health check is saved as before
    assert repo.save_status(east).result() == east


def test_a_damaged_chat_row_is_a_clear_error(db: Database) -> None:
    repo = ChatRepository(db)
    good, bad = ChatSession(title="good"), ChatSession(title="bad")
    repo.save(good).result()
    repo.save(bad).result()
    _set(db, "UPDATE chat_sessions SET body = ? WHERE id = ?", "{" + PRIVATE, str(bad.id))
    assert {title for _, title, _, _ in repo.listed()} == {"good", "bad"}
    with pytest.raises(DamagedRowError, match=str(bad.id)) as raised:
        repo.get(bad.id)
    assert PRIVATE not in str(raised.value)
    found = repo.get(good.id)
    assert found is not None and found.title == "good"


def test_clusters_list_on_the_command_line_skips_a_damaged_row(tmp_path: Path) -> None:
    for name, url in (("prod-east-1", "https://prom.example:9091"),
                      ("prod-west-2", "https://prom2.example:9091")):  # fmt: skip
        code, _, err = call_main(tmp_path, "clusters", "add", name, "--prometheus-url", url)
        assert code == 0, err
    path = resolve_paths(tmp_path).db_path
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE clusters SET doc = json_set(doc, '$.site_code', ?) "
                     "WHERE name = 'prod-west-2'", (PRIVATE,))  # fmt: skip
        conn.commit()

    code, out, err = call_main(tmp_path, "clusters", "list")
    assert code == 0, err
    assert "prod-east-1" in out and "prod-west-2" not in out
    assert "prod-west-2" in err and "cannot be read" in err
    assert "Traceback" not in err and PRIVATE not in err + out

    # the damaged row's name again: a clear error, the row kept for repair
    code, out, err = call_main(tmp_path, "clusters", "add", "prod-west-2",
                               "--prometheus-url", "https://prom3.example:9091")  # fmt: skip
    assert code != 0
    assert "prod-west-2" in err and "damaged" in err and "Traceback" not in err
    with closing(sqlite3.connect(path)) as conn:
        (doc,) = conn.execute("SELECT doc FROM clusters WHERE name = 'prod-west-2'").fetchone()
    assert PRIVATE in doc and "prom2.example" in doc


@pytest.mark.asyncio
async def test_removing_a_hub_keeps_the_data_of_a_damaged_member_still_registered(
    tmp_path: Path, secret_service
) -> None:  # type: ignore[no-untyped-def]
    """A damaged row is in no cluster list, but still registered: removing a hub that named
    it as a member deleted its series (the removal took it for a member nobody registered)."""
    import asyncio

    import numpy as np

    from aiops_desktop.models import ClusterKind
    from aiops_desktop.models.cluster import ClusterStatus
    from aiops_desktop.secrets import SecretStore
    from aiops_desktop.services.core import Core
    from aiops_desktop.store.series import SeriesBatch

    paths = resolve_paths(tmp_path / "home")
    core = Core.open(paths, secrets=SecretStore(secret_service.backend()))
    repo = ClusterRepository(core.db)
    repo.save(Cluster(name="ran-east", api_server_url="https://a.invalid:6443")).result()
    repo.save(Cluster(name="hub", kind=ClusterKind.FLEET, api_server_url="https://h.invalid:6443",
                      status=ClusterStatus(members=["ran-east", "ran-west"]))).result()  # fmt: skip
    ts = np.arange(10, dtype=np.int64) * 15_000 + 1_700_000_000_000
    for member in ("ran-east", "ran-west"):
        batch = SeriesBatch(member, "cpu", {"node": "n1"}, ts, np.ones(10))
        core.series.append([batch]).result()
    core.series.flush().result()
    await core.shutdown()
    with closing(sqlite3.connect(paths.db_path)) as conn:
        conn.execute("UPDATE clusters SET doc = json_set(doc, '$.future', 1) WHERE name = ?",
                     ("ran-east",))  # fmt: skip
        conn.commit()
    core = Core.open(paths, secrets=SecretStore(secret_service.backend()))
    try:
        await core.registry.load()
        await core.registry.remove("hub")
        for _ in range(100):  # the removal's deletes go through the writer thread
            await asyncio.sleep(0.02)
            core.db.write(lambda c: None).result()
            if not core.series.read("cpu", cluster="ran-west"):
                break
        assert not core.series.read("cpu", cluster="ran-west")  # nobody's: gone with the hub
        assert len(core.series.read("cpu", cluster="ran-east")) == 1  # its own, kept
    finally:
        await core.shutdown()
