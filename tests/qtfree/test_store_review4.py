"""The store review's fourth round: one damaged timestamp costs its table no retention; a
damaged cache moved aside keeps what still reads in it (the clusters, their keyring records,
the incidents); it is never moved from under another window that has it open; a newer
release's cache is refused untouched even where this SQLite cannot parse its schema; and the
writer's queue is bounded."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import numpy as np
import pytest

from aiops_desktop.models import Cluster, EndpointKind, utcnow
from aiops_desktop.models.credentials import CredentialKind, CredentialRef
from aiops_desktop.models.incidents import Incident, IncidentStatus
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.secrets import NoSecrets
from aiops_desktop.services.core import Core
from aiops_desktop.services.runtime.maintenance import maintain_once
from aiops_desktop.settings import resolve_paths
from aiops_desktop.store.anomalies import AnomalyRepository
from aiops_desktop.store.clusters import ClusterRepository
from aiops_desktop.store.credential_keys import CredentialKeyRepository
from aiops_desktop.store.database import Database
from aiops_desktop.store.errors import (
    StoreBusyError,
    StoreForeignError,
    StoreTooNewError,
    StoreWriteError,
)
from aiops_desktop.store.incidents import IncidentRepository
from aiops_desktop.store.migrations import APPLICATION_ID, SCHEMA_VERSION
from aiops_desktop.store.series import SeriesBatch, SeriesStore


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _backups(folder: Path) -> list[Path]:
    return [p for p in folder.glob("*.corrupt-*") if not p.name.endswith(("-wal", "-shm"))]


def _one(db: Database, sql: str) -> object:
    row = db.fetch_one(sql)
    assert row is not None
    return row[0]


def _keyring_records(db: Database) -> set[tuple[str, str]]:
    rows = db.fetch_all("SELECT service, key FROM credential_keys")
    return {(str(r[0]), str(r[1])) for r in rows}


def _checkpoint(path: Path) -> tuple[int, dict[str, int]]:
    """Everything in the main file; its page size and each table's root page."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = int(conn.execute("PRAGMA page_size").fetchone()[0])
        roots = dict(conn.execute("SELECT name, rootpage FROM sqlite_master WHERE type='table'"))
        return page, roots
    finally:
        conn.close()


def _smash(path: Path, page_size: int, page_no: int) -> None:
    """One page's header overwritten, as a disk error would (the file written in place)."""
    with open(path, "r+b") as f:
        f.seek((page_no - 1) * page_size)
        f.write(b"\xee" * 64)


# -- 1. a damaged timestamp ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_damaged_timestamp_costs_its_table_no_retention(tmp_path: Path) -> None:
    """MAX() of a damaged row ('r026-…' sorts above every year; text sorts above every REAL;
    a REAL past year 9999) stopped the health and anomaly steps on every pass, for good."""
    core = Core.open(resolve_paths(tmp_path / "home"), secrets=NoSecrets())
    try:
        await core.registry.add(ClusterSpec(name="c-1", api_server_url="https://a:6443"))
        now = utcnow()
        for days in (30, 20, 10, 0):
            await core.registry.apply_check("c-1", {EndpointKind.API_SERVER: True},
                                            at=now - timedelta(days=days))  # fmt: skip
        db = core.db

        def damage(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE health_history SET checked_at = 'r' || substr(checked_at, 2) "
                "WHERE checked_at = (SELECT MIN(checked_at) FROM health_history)"
            )
            old = (now - timedelta(days=90)).timestamp()
            rows = [
                ("old", old, f'{{"last_at": "{(now - timedelta(days=90)).isoformat()}"}}'),
                ("new", now.timestamp(), f'{{"last_at": "{now.isoformat()}"}}'),
                ("text", "1.7e9x", "{}"),
                ("huge", 1e300, "{}"),
            ]
            conn.executemany(
                "INSERT INTO anomalies VALUES (?, 'c-1', 'm', 'warning', 'spike', ?, 1.0, ?)",
                rows,
            )
            conn.executemany(
                "INSERT INTO incidents VALUES (?, 'RESOLVED', 'WARNING', ?, ?, '{}')",
                [("i-old", old, old), ("i-new", now.timestamp(), now.timestamp()),
                 ("i-text", old, "2x")],
            )  # fmt: skip

        db.write(damage).result()
        report = await maintain_once(core.registry, core.series, core.alert_events,
                                     anomalies=AnomalyRepository(db),
                                     incidents=IncidentRepository(db))  # fmt: skip
        assert report.failed == {}
        assert report.health_pruned == 2  # 20 and 10 days; the damaged row stays, unread
        assert _one(db, "SELECT count(*) FROM health_history") == 2
        left = {r[0] for r in db.fetch_all("SELECT identity FROM anomalies")}
        assert left == {"new", "text", "huge"}
        assert report.retention["anomalies"] == 1
        left = {r[0] for r in db.fetch_all("SELECT id FROM incidents")}
        assert left == {"i-new", "i-text"}
    finally:
        await core.shutdown()


# -- 2. what still reads in a damaged cache is kept -----------------------------------------


def _ref(cluster_id: object) -> CredentialRef:
    return CredentialRef(kind=CredentialKind.BEARER_TOKEN, service="aiops-desktop",
                         key=f"cluster/{cluster_id}/api")  # fmt: skip


def _filled(path: Path) -> tuple[list[str], set[tuple[str, str]]]:
    """A cache with clusters (and one damaged row), their keyring records (and one of a
    cluster gone), an incident and many chunks; the names listed and the records."""
    db = Database(path)
    try:
        repo, keys = ClusterRepository(db), CredentialKeyRepository(db)
        names = [f"site-{i}" for i in range(5)]
        for name in names:
            cluster = repo.save(Cluster(name=name, api_server_url=f"https://{name}:6443")).result()
            keys.record([_ref(cluster.id)], cluster.id).result()
        keys.record([_ref("gone")], uuid4()).result()  # a crash left it: the sweep's to delete
        db.write(lambda c: c.execute("INSERT INTO clusters VALUES ('x', 'broken', '{\"na', 't')")
                 ).result()  # fmt: skip
        db.write(lambda c: c.execute(
            "INSERT INTO incidents VALUES ('inc-1', 'OPEN', 'WARNING', 1.0, 2.0, '{\"id\": 1')"
        )).result()  # fmt: skip
        store = SeriesStore(db)
        ts = 1_700_000_000_000 + np.arange(5_000) * 15_000
        rng = np.random.default_rng(0)
        store.append([SeriesBatch("site-0", "cpu", {"i": str(k)}, ts, rng.random(ts.size))
                      for k in range(20)]).result()  # fmt: skip
        store.flush().result()
        recorded = _keyring_records(db)
    finally:
        db.close()
    return names, recorded


def test_a_damaged_chunk_page_keeps_the_clusters_and_their_keyring_records(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cache.sqlite3"
    names, recorded = _filled(path)
    page, roots = _checkpoint(path)
    _smash(path, page, roots["chunks"])
    before = _digest(path)
    db = Database(path)
    try:
        assert db.recovered is not None
        assert _digest(db.recovered.backup) == before  # the damaged file kept as it was
        assert [c.name for c in ClusterRepository(db).list()] == names
        damaged = ClusterRepository(db).damaged()  # copied as it was: named for repair
        assert len(damaged) == 1 and "'broken'" in damaged[0]
        got = _keyring_records(db)
        assert got == recorded
        assert [k for _, k in CredentialKeyRepository(db).unowned()] == ["cluster/gone/api"]
        assert _one(db, "SELECT count(*) FROM incidents") == 0  # damaged: left out
        assert _one(db, "SELECT count(*) FROM chunks") == 0
        said = str(db.recovered)
        assert "must be added again" not in said
        assert "registered clusters: 6, keyring records: 6, incidents: 0" in said
        assert "damaged rows left out: incidents 1)" in said
        assert str(db.recovered.backup) in said
    finally:
        db.close()


def test_a_table_that_fails_to_read_is_skipped_and_said(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    _names, recorded = _filled(path)
    page, roots = _checkpoint(path)
    _smash(path, page, roots["clusters"])
    db = Database(path)
    try:
        assert db.recovered is not None
        assert ClusterRepository(db).list() == []
        got = _keyring_records(db)
        assert got == recorded  # kept: the sweep deletes the tokens of the clusters lost
        assert len(CredentialKeyRepository(db).unowned()) == 6
        said = str(db.recovered)
        assert "registered clusters could not be read" in said
        assert "must be added again" in said
    finally:
        db.close()


def test_a_damaged_header_still_gives_up_the_keyring_records(tmp_path: Path) -> None:
    """The first 16 bytes zeroed: SQLite reads nothing of the file, and the new cache knew no
    keyring entry of the old one's clusters: their tokens stayed in the keyring for good."""
    path = tmp_path / "cache.sqlite3"
    names, recorded = _filled(path)
    _checkpoint(path)
    with open(path, "r+b") as f:
        f.write(b"\0" * 16)
    before = _digest(path)
    db = Database(path)
    try:
        assert db.recovered is not None
        assert _digest(db.recovered.backup) == before
        got = _keyring_records(db)
        assert got == recorded
        assert [c.name for c in ClusterRepository(db).list()] == names
        assert [p.name for p in tmp_path.iterdir() if "salvage" in p.name] == []  # cleaned up
    finally:
        db.close()


def test_a_file_that_is_no_database_at_all_says_nothing_was_kept(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    path.write_bytes(b"this is not a database at all " * 200)
    db = Database(path)
    try:
        assert db.recovered is not None
        said = str(db.recovered)
        assert "nothing in it could be read" in said and "must be added again" in said
    finally:
        db.close()


# -- 3. never moved from under a window that has it open -----------------------------------


def test_a_damaged_cache_open_elsewhere_is_not_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    names, _ = _filled(path)
    running = Database(path)  # the window (its own connections: the writer, readers)
    try:
        page, roots = _checkpoint(path)
        _smash(path, page, roots["chunks"])
        with pytest.raises(StoreBusyError, match=r"damaged.*open in another"):
            Database(path, lock_timeout_s=0.2)
        assert _backups(tmp_path) == []
        running.write(lambda c: c.execute("INSERT INTO app_meta VALUES ('by-a', 'kept')")).result()
    finally:
        running.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT value FROM app_meta WHERE key = 'by-a'").fetchall() == [
            ("kept",)
        ]
    finally:
        conn.close()
    db = Database(path)  # once closed there, the next open moves it aside
    try:
        assert db.recovered is not None and len(_backups(tmp_path)) == 1
        assert [c.name for c in ClusterRepository(db).list()] == names
    finally:
        db.close()


# -- 4. a newer release's cache, with a schema this SQLite cannot parse --------------------


def _newer(path: Path, app_id: int) -> None:
    Database(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO app_meta VALUES ('mine', 'precious')")
    conn.commit()
    conn.execute("PRAGMA writable_schema=ON")
    # syntax no SQLite parses: what a newer SQLite's may be to this one
    conn.execute(
        "INSERT INTO sqlite_master VALUES ('view', 'v', 'v', 0, "
        "'CREATE VIEW v AS SELECT key FROM app_meta WINDOWED BY SOMETHING NEW')"
    )
    conn.execute("PRAGMA writable_schema=OFF")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.execute(f"PRAGMA application_id = {app_id}")
    conn.commit()
    conn.close()


def test_a_newer_cache_whose_schema_this_sqlite_cannot_parse_is_refused_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cache.sqlite3"
    _newer(path, APPLICATION_ID)
    before = _digest(path)
    with pytest.raises(StoreTooNewError, match="newer than this app supports"):
        Database(path)
    assert _digest(path) == before
    assert _backups(tmp_path) == []


def test_another_applications_file_it_cannot_parse_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    _newer(path, 1234)
    before = _digest(path)
    with pytest.raises(StoreForeignError):
        Database(path)
    assert _digest(path) == before
    assert _backups(tmp_path) == []


# -- 5. the writer's queue is bounded ------------------------------------------------------


@pytest.fixture
def stalled(tmp_path: Path) -> Iterator[tuple[Database, threading.Event]]:
    """A cache whose writer is held in one write (as a lock held elsewhere holds it)."""
    db = Database(tmp_path / "cache.sqlite3", max_queued_writes=20)
    release = threading.Event()
    started = threading.Event()

    def hold(conn: sqlite3.Connection) -> None:
        started.set()
        release.wait(10)

    db.write(hold)
    assert started.wait(5)
    try:
        yield db, release
    finally:
        release.set()
        db.close()


def test_writes_past_the_bound_fail_at_once_and_the_rest_commit(
    stalled: tuple[Database, threading.Event],
) -> None:
    db, release = stalled

    def put(i: int) -> Future[object]:
        return db.write(
            lambda c: c.execute("INSERT INTO app_meta VALUES (?, 'v')", (f"k{i}",)), bulk=True
        )

    t0 = time.monotonic()
    futures = [put(i) for i in range(50)]
    assert time.monotonic() - t0 < 1.0  # never waits: the caller may be the UI thread
    refused = [f for f in futures if f.done()]
    assert len(refused) == 30
    for f in refused:
        with pytest.raises(StoreWriteError, match="writes are waiting"):
            f.result()
    release.set()
    for f in futures[:20]:
        f.result(timeout=10)
    assert _one(db, "SELECT count(*) FROM app_meta WHERE key LIKE 'k%'") == 20
    put(99).result(timeout=10)  # drained: accepted again


# -- review 5: regressions of the fourth round ----------------------------------------------


def test_a_damaged_cluster_row_keeps_its_keyring_token_through_a_salvage(tmp_path: Path) -> None:
    """The live cache keeps a damaged cluster row (``damaged`` names it for repair) and its
    keyring entry; a salvage left the row out but copied its keyring record, and the orphan
    sweep then deleted the token of a cluster left for repair."""
    path = tmp_path / "cache.sqlite3"
    later = utcnow() + timedelta(hours=1)  # the sweep's cutoff once its grace has passed
    db = Database(path)
    try:
        repo, keys = ClusterRepository(db), CredentialKeyRepository(db)
        for name in ("good", "prod"):
            cluster = repo.save(Cluster(name=name, api_server_url=f"https://{name}:6443")).result()
            keys.record([_ref(cluster.id)], cluster.id).result()
        db.write(lambda c: c.execute(
            "UPDATE clusters SET doc = substr(doc, 1, 40) WHERE name = 'prod'"
        )).result()  # fmt: skip
        ts = 1_700_000_000_000 + np.arange(5_000) * 15_000
        store = SeriesStore(db)
        store.append([SeriesBatch("good", "cpu", {"i": str(k)}, ts, np.ones(ts.size))
                      for k in range(20)]).result()  # fmt: skip
        store.flush().result()
        assert len(repo.damaged()) == 1 and keys.unowned(later) == []
        recorded = _keyring_records(db)
    finally:
        db.close()
    page, roots = _checkpoint(path)
    _smash(path, page, roots["chunks"])
    db = Database(path)
    try:
        assert db.recovered is not None
        repo, keys = ClusterRepository(db), CredentialKeyRepository(db)
        assert [c.name for c in repo.list()] == ["good"]
        damaged = repo.damaged()
        assert len(damaged) == 1 and "'prod'" in damaged[0]
        assert _keyring_records(db) == recorded
        assert keys.unowned(later) == []  # the sweep leaves prod's token alone
        said = str(db.recovered)
        assert "registered clusters: 2, keyring records: 2" in said
        assert "left out" not in said
    finally:
        db.close()


def test_the_persons_writes_are_never_refused_behind_a_full_queue(
    stalled: tuple[Database, threading.Event],
) -> None:
    """The poller's appends fill the queue while another program holds the lock: the bound
    refuses them, never an acknowledgement (or a setting, an incident) queued behind them."""
    db, release = stalled
    now = utcnow()
    incidents = IncidentRepository(db)
    saved = incidents.save([Incident(id="inc-1", title="x", severity="CRITICAL", opened_at=now,
                                     updated_at=now)])  # fmt: skip
    ts = 1_700_000_000_000 + np.arange(10) * 15_000
    series = SeriesStore(db)
    appends = [series.append([SeriesBatch("c", "cpu", {"i": str(k)}, ts, np.ones(ts.size))])
               for k in range(40)]  # fmt: skip
    refused = [f for f in appends if f.done()]
    assert len(refused) == 40 - 19  # the save holds one of the 20 places
    with pytest.raises(StoreWriteError, match="writes are waiting"):
        refused[0].result()
    ack = incidents.acknowledge("inc-1", now)
    meta = db.write(lambda c: c.execute("INSERT INTO app_meta VALUES ('setting', 'v')"))
    assert not ack.done() and not meta.done()  # queued, not refused
    release.set()
    saved.result(timeout=10)
    done = ack.result(timeout=10)
    assert done is not None and done.state is IncidentStatus.ACKNOWLEDGED
    meta.result(timeout=10)
    assert _one(db, "SELECT value FROM app_meta WHERE key = 'setting'") == "v"


def test_a_damaged_first_page_with_its_magic_intact_is_moved_aside(tmp_path: Path) -> None:
    """Bytes 56-119 overwritten (the header's version and id, sqlite_master's page header),
    the magic intact: the header's garbage id read as another application's file, and the
    app refused to start for good; it is damage, moved aside like any other."""
    path = tmp_path / "cache.sqlite3"
    db = Database(path)
    try:
        ClusterRepository(db).save(Cluster(name="site-0", api_server_url="https://a:6443")
                                   ).result()  # fmt: skip
    finally:
        db.close()
    _checkpoint(path)
    with open(path, "r+b") as f:
        f.seek(56)
        f.write(b"\xee" * 64)
    before = _digest(path)
    db = Database(path)
    try:
        assert db.recovered is not None
        assert _digest(db.recovered.backup) == before
        assert _backups(tmp_path) == [db.recovered.backup]
    finally:
        db.close()


def test_each_alerts_polls_history_is_bounded_as_samples_are(
    stalled: tuple[Database, threading.Event],
) -> None:
    """An alerts poll's firing list is written every poll and brought again by the next: it
    is refused past the bound as samples are (it queued without end behind a held lock)."""
    from aiops_desktop.store.alert_events import AlertEventRepository

    db, release = stalled
    events = AlertEventRepository(db)
    written = [events.record(f"c{k}", [], utcnow()) for k in range(40)]
    assert [f for f in written if f.done()]  # refused at once past the bound
    release.set()
