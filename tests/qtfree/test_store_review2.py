"""The store review's second round: one damaged row (a series' labels, a query history row, a
health check's endpoints; text that passes ``PRAGMA quick_check``) costs only itself in every
read that holds it; and no sample far past the wall clock reaches the store, where one would
pin the series (every later sample dropped once it is compacted)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aiops_desktop.models import Cluster, ClusterState, EndpointKind, HealthRecord
from aiops_desktop.models.metrics import QueryRecord
from aiops_desktop.settings import StoreSettings
from aiops_desktop.store import series
from aiops_desktop.store.clusters import ClusterRepository
from aiops_desktop.store.database import Database
from aiops_desktop.store.health import HealthRepository
from aiops_desktop.store.queries import QueryRepository
from aiops_desktop.store.series import SeriesBatch, SeriesStore

#: what a damaged row holds must never reach the log (it may hold anything)
PRIVATE = "hunter2-in-the-row"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "cache.sqlite3")
    yield database
    database.close()


def _one(db: Database, sql: str) -> object:
    row = db.fetch_one(sql)
    assert row is not None
    return row[0]


def _set(db: Database, sql: str, *params: object) -> None:
    db.write(lambda c: c.execute(sql, params)).result()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING]


def test_a_damaged_series_labels_row_costs_only_its_own_series(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    store = SeriesStore(db)
    for name in ("east-1", "west-2", "north-3"):
        store.append([SeriesBatch(name, "node_load", {"instance": "n1"}, [1000, 2000], [1.0, 2.0])]
                     ).result()  # fmt: skip
    # JSON cut short by a disk error; and JSON that is no label set
    _set(db, "UPDATE series SET labels = ? WHERE cluster = 'west-2'", '{"instance":"' + PRIVATE)
    _set(db, "UPDATE series SET labels = ? WHERE cluster = 'north-3'", f'["{PRIVATE}"]')

    for _ in range(2):  # a chart reads every few seconds: warned once a series
        got = store.read("node_load")
        assert [(s.cluster, s.labels, s.values.tolist()) for s in got] == [
            ("east-1", {"instance": "n1"}, [1.0, 2.0])
        ]
    assert store.read("node_load", cluster="west-2") == []
    assert [s.cluster for s in store.read("node_load", cluster="east-1")] == ["east-1"]
    warned = _warnings(caplog)
    assert sorted(str(getattr(r, "cluster", None)) for r in warned) == ["north-3", "west-2"]
    assert PRIVATE not in caplog.text
    # left in place (the person may repair it), and rollups are read the same way
    assert _one(db, "SELECT COUNT(*) FROM series") == 3
    store.apply_retention(datetime(1970, 1, 4, tzinfo=UTC)).result()
    rolled = store.read("node_load", resolution_s=300)
    assert [(s.cluster, s.values.tolist()) for s in rolled] == [("east-1", [1.5])]
    assert len(_warnings(caplog)) == 2


def _query(promql: str, run_at: str) -> QueryRecord:
    return QueryRecord(promql=promql, clusters=["east-1"], query_type="instant", range_s=None,
                       step_s=None, aggregation="none", status="ok", series=1, duration_ms=1.0,
                       run_at=run_at)  # fmt: skip


def test_a_damaged_query_history_row_is_skipped_not_the_history(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    repo = QueryRepository(db)
    for promql, at in (("up", "2024-03-01T12:00:00"), ("up2", "2024-03-01T12:00:01"),
                       ("up3", "2024-03-01T12:00:02")):  # fmt: skip
        repo.record(_query(promql, at)).result()
    _set(db, "UPDATE query_history SET clusters = ? WHERE promql = 'up'", f'["{PRIVATE}"')
    _set(db, "UPDATE query_history SET clusters = ? WHERE promql = 'up3'", f'{{"{PRIVATE}": 1}}')

    got = repo.history()
    assert [(r.promql, r.clusters) for r in got] == [("up2", ["east-1"])]
    assert len(_warnings(caplog)) == 1 and "2 damaged" in caplog.text
    assert PRIVATE not in caplog.text
    assert _one(db, "SELECT COUNT(*) FROM query_history") == 3
    # saved queries are read the same way
    for name in ("a", "b"):
        repo.save(QueryRecord(**{**vars(_query("up", "2024-03-01T12:00:03")), "name": name})
                  ).result()  # fmt: skip
    _set(db, "UPDATE saved_queries SET clusters = ? WHERE name = 'a'", f'["{PRIVATE}"')
    assert [r.name for r in repo.saved()] == ["b"]


def test_a_damaged_health_history_row_is_skipped_not_the_history(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    repo = HealthRepository(db)
    cluster = Cluster(name="east-1", api_server_url="https://a:6443")
    ClusterRepository(db).save(cluster).result()
    cid = cluster.id
    start = datetime(2026, 11, 27, 12, tzinfo=UTC)
    for minutes in range(3):
        check = HealthRecord(cluster_id=cid, checked_at=start + timedelta(minutes=minutes),
                             state=ClusterState.ONLINE, health_score=90 + minutes,
                             endpoint_health={EndpointKind.API_SERVER: True})  # fmt: skip
        repo.record(check).result()
    _set(db, "UPDATE health_history SET endpoint_health = ? WHERE health_score = 90",
         '{"api_server": tr' + PRIVATE)  # fmt: skip
    _set(db, "UPDATE health_history SET endpoint_health = ? WHERE health_score = 92",
         f'{{"{PRIVATE}": true}}')  # fmt: skip

    got = repo.history(cid)
    assert [(r.health_score, r.endpoint_health) for r in got] == [
        (91, {EndpointKind.API_SERVER: True})
    ]
    assert len(_warnings(caplog)) == 1 and "2 damaged" in caplog.text
    assert PRIVATE not in caplog.text


def test_a_sample_far_past_the_clock_is_refused_and_cannot_pin_the_series(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    store = SeriesStore(db, StoreSettings(chunk_samples=16))
    now = int(time.time() * 1000)
    far = now + 10 * 365 * 86_400_000  # a hostile or broken server's point, ten years ahead
    skewed = now + int(series.FUTURE_ALLOWANCE.total_seconds() * 1000) // 2  # a server clock ahead
    first = [now - (20 - i) * 30_000 for i in range(14)]
    batch = SeriesBatch("east-1", "node_load", {"instance": "n1"}, [far, *first, skewed],
                        [9.0] + [1.0] * 15)  # fmt: skip
    store.append([batch]).result()
    # 15 samples kept: not a full chunk yet; two more (one far ahead again) fill it
    store.append([SeriesBatch("east-1", "node_load", {"instance": "n1"}, [skewed + 1, far + 1],
                              [2.0, 9.0])]).result()  # fmt: skip
    until = _one(db, "SELECT chunked_until_ms FROM series")
    assert until == skewed + 1  # compacted, pinned at no future point
    later = skewed + 30_000
    store.append([SeriesBatch("east-1", "node_load", {"instance": "n1"}, [later], [3.0])]
                 ).result()  # fmt: skip

    (s,) = store.read("node_load")
    assert s.timestamps_ms.tolist() == [*first, skewed, skewed + 1, later]
    assert s.values.tolist() == [1.0] * 15 + [2.0, 3.0]
    # refused, said once a series (a server sending it every poll would flood the log)
    warned = _warnings(caplog)
    assert len(warned) == 1 and getattr(warned[0], "cluster", None) == "east-1"
