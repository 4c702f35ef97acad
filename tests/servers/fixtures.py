"""Session fixtures: real Prometheus (backfilled), Alertmanager, nginx fronts, a test PKI.

The data: three clusters with a ``cluster`` label, two nodes each, one hour at 15 s ending
now, so queries over the last hour see all of it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.servers.alertmanager import RunningAlertmanager, start_alertmanager
from tests.servers.nginx import RunningNginx, start_nginx
from tests.servers.prometheus import RunningPrometheus, SeriesSpec, openmetrics, start_prometheus
from tests.servers.tls import TestPki, make_pki
from tests.servers.victoria import RunningVictoria, start_victoria

CLUSTERS = ("east-1", "west-2", "edge-7")
STEP_S = 15
COUNT = 240  # one hour
FRONT_TOKEN = "sha256~front-door-token-for-tests-0123456789"


@dataclass
class Dataset:
    start_s: int
    end_s: int

    @staticmethod
    def load(cluster: str, node: int, i: int) -> float:
        """node_load1 of a node at sample i: a known shape the tests can recompute."""
        base = {"east-1": 1.0, "west-2": 2.0, "edge-7": 4.0}[cluster] + node * 0.5
        return round(base + math.sin(i / 20.0), 3)


def fleet_series(only: str | None = None, *, cluster_label: bool = True) -> list[SeriesSpec]:
    """The fleet's series; ``only`` one cluster's, without the label as its own Prometheus has."""
    series: list[SeriesSpec] = []
    for cluster in CLUSTERS:
        if only is not None and cluster != only:
            continue
        for node in (0, 1):
            labels = {"instance": f"{cluster}-node-{node}:9100", "job": "node"}
            if cluster_label:
                labels["cluster"] = cluster
            series.append(
                ("node_load1", labels, lambda i, c=cluster, n=node: Dataset.load(c, n, i))
            )
            series.append(("up", labels, lambda i: 1.0))
    return series


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    end = int(time.time()) // STEP_S * STEP_S - STEP_S
    return Dataset(start_s=end - (COUNT - 1) * STEP_S, end_s=end)


@pytest.fixture(scope="session")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory, dataset: Dataset
) -> Iterator[RunningPrometheus]:
    text = openmetrics(fleet_series(), dataset.start_s, COUNT, STEP_S)
    server = start_prometheus(tmp_path_factory.mktemp("prometheus"), text)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAlertmanager]:
    server = start_alertmanager(tmp_path_factory.mktemp("alertmanager"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def nginx_front(
    tmp_path_factory: pytest.TempPathFactory, prometheus: RunningPrometheus, pki: TestPki
) -> Iterator[RunningNginx]:
    server = start_nginx(tmp_path_factory.mktemp("nginx"), prometheus.url, FRONT_TOKEN, pki)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def member_prometheus(
    tmp_path_factory: pytest.TempPathFactory, dataset: Dataset
) -> Iterator[dict[str, RunningPrometheus]]:
    """east-1 and west-2 each with their own Prometheus (no cluster label in the data)."""
    servers = {}
    try:
        for cluster in ("east-1", "west-2"):
            text = openmetrics(
                fleet_series(cluster, cluster_label=False), dataset.start_s, COUNT, STEP_S
            )
            servers[cluster] = start_prometheus(tmp_path_factory.mktemp(f"prom-{cluster}"), text)
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="session")
def victoria(
    tmp_path_factory: pytest.TempPathFactory, dataset: Dataset
) -> Iterator[RunningVictoria]:
    server = start_victoria(tmp_path_factory.mktemp("victoria"))
    try:
        lines = []
        for metric, labels, fn in fleet_series():
            label_text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
            lines += [
                f"{metric}{{{label_text}}} {fn(i)!r} {(dataset.start_s + i * STEP_S) * 1000}"
                for i in range(COUNT)
            ]
        server.import_prometheus_text("\n".join(lines) + "\n")
        yield server
    finally:
        server.stop()
