"""Writes that fail, and writers in two processes: a rolled-back write leaves the store as if it
never happened, one process's caches never outlive another's commit, and a failure reaches the
caller (and a person at the CLI) as a StoreError that says what went wrong."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.settings import StoreSettings
from aiops_desktop.store import codec
from aiops_desktop.store.database import Database
from aiops_desktop.store.errors import StoreWriteError
from aiops_desktop.store.migrations import SCHEMA_VERSION, migrate
from aiops_desktop.store.series import SeriesBatch, SeriesStore

T0 = 1_700_000_000_000


def _ts(n: int, off: int = 0) -> list[int]:
    return [T0 + off + i * 15_000 for i in range(n)]


def _by_labels(store: SeriesStore, metric: str) -> dict[str, list[float]]:
    return {str(sorted(s.labels.items())): s.values.tolist() for s in store.read(metric)}


def _fill_disk(db: Database) -> None:
    """The writer's file may not grow past its size now: a full disk, as SQLite sees one."""
    db.write(
        lambda c: c.execute(
            f"PRAGMA max_page_count = {c.execute('PRAGMA page_count').fetchone()[0]}"
        )
    ).result()


def _free_disk(db: Database) -> None:
    db.write(lambda c: c.execute("PRAGMA max_page_count = 1073741823")).result()


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = Database(tmp_path / "cache.sqlite3")
    yield database
    database.close()


# -- 1: a rolled-back write leaves no trace in the caches -------------------------------------
def test_a_write_refused_for_a_full_disk_leaves_no_stale_series_id(db: Database) -> None:
    store = SeriesStore(db)
    store.append([SeriesBatch("site-a", "cpu", {"node": "n1"}, _ts(10), [1.0] * 10)]).result()
    _fill_disk(db)
    refused = store.append([SeriesBatch("site-a", "cpu", {"node": "n2"}, _ts(5000), [7.0] * 5000)])
    with pytest.raises(StoreWriteError, match="is full"):
        refused.result()
    _free_disk(db)
    # the poller re-sends (its rewind), then a new node appears
    store.append([SeriesBatch("site-a", "cpu", {"node": "n2"}, _ts(5000), [7.0] * 5000)]).result()
    store.append([SeriesBatch("site-a", "cpu", {"node": "n3"}, _ts(3, 1), [42.0] * 3)]).result()
    assert _by_labels(store, "cpu") == {
        "[('node', 'n1')]": [1.0] * 10,
        "[('node', 'n2')]": [7.0] * 5000,
        "[('node', 'n3')]": [42.0] * 3,
    }
    orphans = db.fetch_one(
        "SELECT COUNT(*) FROM samples_head WHERE series_id NOT IN (SELECT id FROM series)"
    )
    assert orphans is not None and orphans[0] == 0


def test_a_commit_that_fails_after_a_compaction_loses_no_resent_sample(tmp_path: Path) -> None:
    """COMMIT itself fails (here: a deferred constraint another write of the batch broke; a
    full disk at COMMIT does the same): the compaction is undone, so the re-sent samples must
    be stored, not skipped as already chunked."""
    db = Database(tmp_path / "cache.sqlite3", batch_max_delay_s=0.5)
    try:
        db.write(
            lambda c: c.execute("CREATE TABLE IF NOT EXISTS t_parent (id INTEGER PRIMARY KEY);")
        ).result()
        db.write(
            lambda c: c.execute(
                "CREATE TABLE IF NOT EXISTS t_child (p INTEGER REFERENCES t_parent(id) "
                "DEFERRABLE INITIALLY DEFERRED)"
            )
        ).result()
        store = SeriesStore(db, StoreSettings(chunk_samples=240))
        ts = np.array(_ts(260))
        store.append([SeriesBatch("site-a", "cpu", {}, ts[:230], [1.5] * 230)]).result()
        # one batch: the append compacts 240 samples, the other write breaks the commit
        compacting = store.append([SeriesBatch("site-a", "cpu", {}, ts[230:], [2.5] * 30)])
        breaking: Future[object] = db.write(lambda c: c.execute("INSERT INTO t_child VALUES (7)"))
        with pytest.raises(sqlite3.IntegrityError):
            breaking.result()
        with pytest.raises(sqlite3.IntegrityError):
            compacting.result()
        assert store.stats()["chunks"] == 0
        assert store.append([SeriesBatch("site-a", "cpu", {}, ts[230:], [2.5] * 30)]).result() == 30
        (data,) = store.read("cpu")
        assert data.timestamps_ms.tolist() == ts.tolist()
        assert data.values.tolist() == [1.5] * 230 + [2.5] * 30
    finally:
        db.close()


# -- 2: two processes writing one cache ----------------------------------------------------
def test_two_writers_never_store_a_sample_twice(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    window_db, wall_db = Database(path), Database(path)
    try:
        settings = StoreSettings(chunk_samples=240)
        window, wall = SeriesStore(window_db, settings), SeriesStore(wall_db, settings)
        ts, vals = np.array(_ts(300)), np.arange(300, dtype=float)

        def poll(store: SeriesStore, a: int, b: int) -> None:
            store.append([SeriesBatch("site-a", "cpu", {"n": "1"}, ts[a:b], vals[a:b])]).result()

        poll(window, 0, 10)
        poll(wall, 0, 10)
        poll(window, 10, 240)  # compacted into a chunk by the window
        poll(wall, 10, 250)  # the wall's next poll: the same samples, and ten more
        (data,) = window.read("cpu")
        assert data.timestamps_ms.tolist() == ts[:250].tolist()
        assert data.values.tolist() == vals[:250].tolist()
        chunks = window_db.fetch_all("SELECT start_ms, end_ms FROM chunks")
        assert [tuple(r) for r in chunks] == [(int(ts[0]), int(ts[239]))]
    finally:
        window_db.close()
        wall_db.close()


def test_a_series_another_process_forgot_is_made_afresh(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    window_db, cli_db = Database(path), Database(path)
    try:
        window, cli = SeriesStore(window_db), SeriesStore(cli_db)
        window.append([SeriesBatch("old-site", "gpu_temp", {"gpu": "0"}, [T0], [95.0])]).result()
        assert cli.forget_clusters(["old-site"]).result() == 1
        window.append(
            [SeriesBatch("old-site", "gpu_temp", {"gpu": "0"}, [T0 + 15_000], [96.0])]
        ).result()
        window.append(
            [SeriesBatch("new-site", "gpu_temp", {"gpu": "7"}, [T0 + 30_000], [40.0])]
        ).result()
        assert {s.cluster: s.values.tolist() for s in window.read("gpu_temp")} == {
            "old-site": [96.0],
            "new-site": [40.0],
        }
    finally:
        window_db.close()
        cli_db.close()


def test_a_forgotten_series_id_is_never_given_again(db: Database) -> None:
    store = SeriesStore(db)
    store.append([SeriesBatch("a", "m", {}, [T0], [1.0])]).result()
    store.append([SeriesBatch("b", "m", {}, [T0], [2.0])]).result()
    (last,) = db.fetch_one("SELECT MAX(id) FROM series") or (None,)
    assert store.forget_clusters(["b"]).result() == 1
    store.append([SeriesBatch("c", "m", {}, [T0], [3.0])]).result()
    row = db.fetch_one("SELECT id FROM series WHERE cluster = 'c'")
    assert row is not None and row[0] > last


def test_upgrade_makes_series_ids_never_reused_and_drops_orphaned_samples(
    tmp_path: Path,
) -> None:
    """A file of version 9: its series are kept; samples of a series id no row has
    (left by the old cache bug) go, and no new series is given such an id (a window of the
    previous version still running may write more of them)."""
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=9) == 9  # the version before series ids were never reused
    conn.execute("INSERT INTO series (id, cluster, metric, labels) VALUES (1, 'a', 'm', '{}')")
    conn.execute("INSERT INTO series (id, cluster, metric, labels) VALUES (2, 'b', 'm', '{}')")
    conn.execute("INSERT INTO samples_head VALUES (1, ?, 1.0)", (T0,))
    conn.execute("INSERT INTO samples_head VALUES (2, ?, 2.0)", (T0,))
    conn.execute("INSERT INTO samples_head VALUES (3, ?, 666.0)", (T0,))  # an orphan
    blob = codec.encode(np.array([T0]), [np.array([666.0])])
    conn.execute("INSERT INTO chunks (series_id, resolution_s, start_ms, end_ms, count, data) "
                 "VALUES (4, 0, ?, ?, 1, ?)", (T0, T0, blob))  # fmt: skip
    conn.close()
    db = Database(path)
    try:
        assert db.schema_version == SCHEMA_VERSION
        store = SeriesStore(db)
        for cluster in ("c", "d", "e"):
            store.append([SeriesBatch(cluster, "m", {}, [T0 + 1], [5.0])]).result()
        ids = {r[0]: r[1] for r in db.fetch_all("SELECT cluster, id FROM series")}
        assert (ids["a"], ids["b"]) == (1, 2) and min(ids[c] for c in "cde") > 4
        assert {s.cluster: s.values.tolist() for s in store.read("m")} == {
            "a": [1.0],
            "b": [2.0],
            "c": [5.0],
            "d": [5.0],
            "e": [5.0],
        }
        orphans = db.fetch_one(
            "SELECT (SELECT COUNT(*) FROM samples_head WHERE series_id IN (3, 4)) + "
            "(SELECT COUNT(*) FROM chunks WHERE series_id IN (3, 4))"
        )
        assert orphans is not None and orphans[0] == 0
        index = db.fetch_one("SELECT 1 FROM sqlite_master WHERE name = 'series_by_metric'")
        assert index is not None
    finally:
        db.close()


def test_read_returns_samples_stored_twice_once_and_in_order(db: Database) -> None:
    """A file an older version wrote the same samples into twice (overlapping chunks, a head
    sample also in a chunk): read() and retention still see each sample once, in order."""
    store = SeriesStore(db, StoreSettings(chunk_samples=16, raw_retention=timedelta(hours=1)))
    ts = np.array(_ts(32))
    vals = np.arange(32, dtype=float)
    store.append([SeriesBatch("c", "m", {}, ts, vals)]).result()  # two chunks: 0-15, 16-31

    def damage(conn: sqlite3.Connection) -> None:
        sid = conn.execute("SELECT id FROM series").fetchone()[0]
        conn.execute(
            "INSERT INTO chunks (series_id, resolution_s, start_ms, end_ms, count, data) "
            "VALUES (?, 0, ?, ?, 16, ?)",
            (sid, int(ts[8]) - 1, int(ts[23]), codec.encode(ts[8:24], [vals[8:24]])),
        )
        conn.execute("INSERT INTO samples_head VALUES (?, ?, ?)", (sid, int(ts[31]), 31.0))

    db.write(damage).result()
    (data,) = store.read("m")
    assert data.timestamps_ms.tolist() == ts.tolist()
    assert data.values.tolist() == vals.tolist()
    later = datetime.fromtimestamp(T0 / 1000, UTC) + timedelta(hours=3)
    store.apply_retention(later).result()
    (rolled,) = store.read("m", resolution_s=300)
    assert rolled.counts is not None and rolled.counts.sum() == 32


# -- 3: failures reach callers as StoreErrors ----------------------------------------------
def test_a_full_disk_fails_every_write_of_the_batch_with_a_clear_error(tmp_path: Path) -> None:
    db = Database(tmp_path / "cache.sqlite3", batch_max_delay_s=0.5)
    try:
        store = SeriesStore(db)
        _fill_disk(db)
        big = store.append([SeriesBatch("a", "m", {}, _ts(20_000), [1.0] * 20_000)])
        small = db.write(lambda c: c.execute("INSERT INTO app_meta VALUES ('k', 'v')"))
        for future in (big, small):
            with pytest.raises(StoreWriteError, match=r"is full.*Free some space") as caught:
                future.result()
            assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
        _free_disk(db)
        assert db.fetch_one("SELECT COUNT(*) FROM series")[0] == 0  # type: ignore[index]
        store.append([SeriesBatch("a", "m", {}, _ts(3), [1.0] * 3)]).result()
        assert store.read("m")[0].values.tolist() == [1.0] * 3
    finally:
        db.close()


def test_a_write_lock_held_too_long_is_a_clear_error(db: Database) -> None:
    db.write(lambda c: c.execute("PRAGMA busy_timeout = 100")).result()
    other = sqlite3.connect(db.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        refused = db.write(lambda c: c.execute("INSERT INTO app_meta VALUES ('k', 'v')"))
        with pytest.raises(StoreWriteError, match="locked by another program"):
            refused.result()
        other.execute("ROLLBACK")
    finally:
        other.close()
    db.write(lambda c: c.execute("INSERT INTO app_meta VALUES ('k', 'v')")).result()


def test_an_op_error_of_its_own_still_fails_alone_and_unwrapped(db: Database) -> None:
    db.write(lambda c: c.execute("INSERT INTO app_meta VALUES ('k', 'v')")).result()
    dup = db.write(lambda c: c.execute("INSERT INTO app_meta VALUES ('k', 'w')"))
    fine = db.write(lambda c: c.execute("INSERT INTO app_meta VALUES ('k2', 'w')"))
    with pytest.raises(sqlite3.IntegrityError):
        dup.result()
    fine.result()


#: the CLI run under a file-size limit (set in the child itself: no preexec_fn in a process
#: with threads)
_LIMITED = (
    "import resource, runpy, sys; "
    "resource.setrlimit(resource.RLIMIT_FSIZE, (32768, resource.RLIM_INFINITY)); "
    "sys.argv = ['aiops-desktop', *sys.argv[1:]]; "
    "runpy.run_module('aiops_desktop', run_name='__main__', alter_sys=True)"
)


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE as Linux applies it")
def test_cli_on_a_failing_disk_says_so_without_a_traceback(tmp_path: Path) -> None:
    """The disk refuses writes between two commands: here the OS refuses every write past
    32 KiB (the write-ahead log's second page), a file-size limit (a full tmpfs makes it
    SQLITE_FULL instead; the same path)."""
    home = tmp_path / "home"
    cli = [sys.executable, "-m", "aiops_desktop", "--data-dir", str(home)]
    env = dict(os.environ)
    first = subprocess.run([*cli, "clusters", "list"], capture_output=True, text=True,
                           env=env, timeout=90, check=False)  # fmt: skip
    assert first.returncode == 0, first.stderr
    added = subprocess.run(
        [sys.executable, "-c", _LIMITED, "--data-dir", str(home), "clusters", "add", "abc",
         "--prometheus-url", "https://127.0.0.1:9/"],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
        check=False,
    )  # fmt: skip
    assert added.returncode == 1, added.stderr
    assert "Traceback" not in added.stderr
    assert "aiops-desktop: error: The disk holding the cache file" in added.stderr
    assert "failed to write; the change was not saved" in added.stderr
    listed = subprocess.run([*cli, "clusters", "list", "--json"], capture_output=True,
                            text=True, env=env, timeout=90, check=False)  # fmt: skip
    assert listed.returncode == 0 and "abc" not in listed.stdout


def test_closing_with_writes_still_waiting_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Closing waits for what is queued; when that takes too long it says how many writes
    were still waiting (they are lost if the app exits now), instead of returning as if all
    were kept. The thread goes on and commits them."""
    from aiops_desktop.store.writer import WriterThread

    writer = WriterThread(tmp_path / "w.sqlite3", max_ops=1)
    release = threading.Event()
    writer.submit(lambda conn: release.wait(5))
    later = [writer.submit(lambda conn: conn.execute("SELECT 1")) for _ in range(3)]
    with caplog.at_level("WARNING", logger="aiops.store.writer"):
        assert writer.close(timeout=0.2) is False
    assert "not all committed within 0.2 s of closing (3 still waiting)" in caplog.text
    release.set()
    for future in later:
        future.result(timeout=5)
    assert writer.close() is True
