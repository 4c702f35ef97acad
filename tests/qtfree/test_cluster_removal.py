"""Removing a cluster takes what the app keeps by its name with it (stored series, anomalies,
alert history, live buffers, clients, poll statuses): a cluster added later under that name
starts afresh, and never shows, reports or explains the removed one's history."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

from aiops_desktop.models import AlertSeverity, ClusterKind, EndpointKind
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.anomalies import (
    Anomaly,
    AnomalyFilter,
    AnomalyMethod,
    AnomalySeverity,
    AnomalyType,
)
from aiops_desktop.models.polling import SourceStatus
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.core import Core
from aiops_desktop.services.runtime.bus import CLUSTER_REMOVED
from aiops_desktop.settings import Settings, StoreSettings, resolve_paths
from aiops_desktop.store.anomalies import AnomalyRepository
from aiops_desktop.store.series import SeriesBatch

PROM = {EndpointKind.PROMETHEUS: "https://prom.example"}
AM = {**PROM, EndpointKind.ALERTMANAGER: "https://am.example"}
NOW = datetime.now(UTC)


@pytest_asyncio.fixture
async def core(tmp_path: Path, secret_service) -> AsyncIterator[Core]:  # type: ignore[no-untyped-def]
    opened = Core.open(  # small chunks: a series is kept both compacted and in the head
        resolve_paths(tmp_path / "home"), Settings(store=StoreSettings(chunk_samples=16)),
        secrets=SecretStore(secret_service.backend()),
    )  # fmt: skip
    yield opened
    await opened.shutdown()


async def until(predicate: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def committed(core: Core) -> None:
    """Every write queued so far has committed (the writer keeps their order)."""
    await asyncio.wrap_future(core.db.write(lambda _conn: None))


def anomaly(cluster: str) -> Anomaly:
    return Anomaly(cluster=cluster, metric="node_cpu", labels={"node": "n1"},
                   method=AnomalyMethod.DOMAIN_RULE, timestamp=NOW, score=10, threshold=2.5,
                   severity=AnomalySeverity.CRITICAL, confidence=1,
                   type=AnomalyType.THRESHOLD_BREACH, actual=99,
                   explanation="CPU pegged")  # fmt: skip


def alert(cluster: str) -> Alert:
    return Alert(fingerprint=f"fp-{cluster}", cluster=cluster, name="NodeDown",
                 severity=AlertSeverity.CRITICAL, starts_at=NOW)  # fmt: skip


async def keep_data(core: Core, name: str) -> None:
    """Everything the app keeps of a cluster by its name."""
    now_ms = int(NOW.timestamp() * 1000)
    stamps = [now_ms - 60_000 * i for i in range(20, 0, -1)]
    await asyncio.wrap_future(
        core.series.append([SeriesBatch(name, "node_cpu", {"node": "n1"}, stamps, [97.0] * 20)])
    )
    await asyncio.wrap_future(AnomalyRepository(core.db).save([anomaly(name)]))
    await asyncio.wrap_future(core.alert_events.record(name, [alert(name)], NOW))
    core.live.append(name, "node_cpu", {"node": "n1"}, np.array([NOW.timestamp()]),
                     np.array([99.0]))  # fmt: skip


def kept(core: Core, name: str) -> dict[str, int]:
    """How much of each kind the app holds under ``name``."""
    series_ids = [
        r[0] for r in core.db.fetch_all("SELECT id FROM series WHERE cluster = ?", (name,))
    ]
    marks = ",".join("?" * len(series_ids))
    samples = core.db.fetch_one(
        f"SELECT (SELECT COUNT(*) FROM samples_head WHERE series_id IN ({marks})) + "  # noqa: S608
        f"(SELECT COALESCE(SUM(count), 0) FROM chunks WHERE series_id IN ({marks}))",
        [*series_ids, *series_ids],
    )
    earlier = datetime.fromtimestamp(0, UTC)
    return {
        "series": len(series_ids),
        "samples": samples[0] if samples else 0,
        "read": len(core.series.read("node_cpu", cluster=name)),
        "anomalies": len(AnomalyRepository(core.db).list(AnomalyFilter(clusters=(name,)))),
        "alert_events": len(core.alert_events.between([name], earlier, NOW)),
        "live": len(core.live.snapshot(name, "node_cpu").series),
    }


NOTHING = dict.fromkeys(("series", "samples", "read", "anomalies", "alert_events", "live"), 0)
ALL = {"series": 1, "samples": 20, "read": 1, "anomalies": 1, "alert_events": 1, "live": 1}


@pytest.mark.asyncio
async def test_a_cluster_added_under_a_removed_ones_name_inherits_nothing(core: Core) -> None:
    old = await core.registry.add(ClusterSpec(name="lab-1", endpoint_urls=AM))
    await core.registry.add(ClusterSpec(name="other", endpoint_urls=PROM))
    for name in ("lab-1", "other"):
        await keep_data(core, name)
    assert kept(core, "lab-1") == ALL and kept(core, "other") == ALL
    poller = core.poller
    for source in ("health", "metrics", "alerts"):
        poller.status[("lab-1", source)] = SourceStatus("lab-1", source, 15.0)
    poller.status[("other", "health")] = SourceStatus("other", "health", 15.0)
    poller.unsupported[("lab-1", "traces")] = "no TraceQL metrics"
    client = await core.pool.prometheus(old)
    assert await core.pool.prometheus(old) is client  # kept while the cluster is
    detection = core.anomalies  # its rounds' state, by (cluster, panel)
    for name in ("lab-1", "other"):
        detection.failed[(name, "node_cpu")] = "a round failed"
        detection._open[(name, "node_cpu")] = [anomaly(name)]

    await core.registry.remove("lab-1")  # it publishes CLUSTER_REMOVED once saved
    await committed(core)

    assert kept(core, "lab-1") == NOTHING
    assert kept(core, "other") == ALL  # another cluster's data is left as it was
    assert [k for k in poller.status if k[0] == "lab-1"] == []
    assert ("other", "health") in poller.status
    assert poller.unsupported == {}
    await until(lambda: not any(k[0] == old.id for k in core.pool._clients))
    await until(lambda: ("lab-1", "node_cpu") not in detection.failed)
    assert ("lab-1", "node_cpu") not in detection._open
    assert ("other", "node_cpu") in detection.failed and ("other", "node_cpu") in detection._open
    # the namesake starts afresh: no series, findings or alerts of the one removed before
    new = await core.registry.add(ClusterSpec(name="lab-1", endpoint_urls=PROM))
    assert new.id != old.id and kept(core, "lab-1") == NOTHING
    # the store's writer caches forgot the old series: the namesake's samples are its own
    now_ms = int(NOW.timestamp() * 1000)
    await asyncio.wrap_future(
        core.series.append([SeriesBatch("lab-1", "node_cpu", {"node": "n1"}, [now_ms], [5.0])])
    )
    [fresh] = core.series.read("node_cpu", cluster="lab-1")
    assert fresh.values.tolist() == [5.0] and fresh.timestamps_ms.tolist() == [now_ms]


@pytest.mark.asyncio
async def test_a_removed_hub_takes_its_members_data_but_not_a_registered_clusters(
    core: Core,
) -> None:
    await core.registry.add(ClusterSpec(name="hub", kind=ClusterKind.FLEET, endpoint_urls=PROM))
    await core.registry.add(ClusterSpec(name="east", endpoint_urls=PROM))
    await core.registry.add(ClusterSpec(name="hub-2", kind=ClusterKind.FLEET, endpoint_urls=PROM))
    await core.registry.set_members("hub", ["east", "ran-a", "shared"])
    await core.registry.set_members("hub-2", ["shared"])
    for name in ("hub", "east", "ran-a", "shared"):
        await keep_data(core, name)

    await core.registry.remove("hub")
    await committed(core)

    assert kept(core, "hub") == NOTHING and kept(core, "ran-a") == NOTHING
    assert kept(core, "east") == ALL  # a registered cluster of its own
    assert kept(core, "shared") == ALL  # still a member of another hub


@pytest.mark.asyncio
async def test_a_capture_deletes_nothing(secret_service) -> None:  # type: ignore[no-untyped-def]
    from aiops_desktop.services.outputs.capture import open_capture
    from aiops_desktop.settings import resources_dir

    opened = await asyncio.to_thread(
        open_capture, resources_dir() / "samples" / "sample.aiops",
        SecretStore(secret_service.backend()),
    )  # fmt: skip
    try:
        await opened.registry.load()
        before = opened.series.stats()
        names = opened.series.cluster_names()
        assert before["series"] and names
        for cluster in opened.registry.clusters():
            opened.bus.publish(CLUSTER_REMOVED, cluster)
        await committed(opened)
        assert opened.series.stats() == before and opened.series.cluster_names() == names
    finally:
        await opened.shutdown()
