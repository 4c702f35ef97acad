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
from tests.servers.llama import RunningLlama, start_llama
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


def platform_series(cluster: str, *, cluster_label: bool = True) -> list[SeriesSpec]:
    """Series behind every panel of the platform catalog, shaped like real exporters' output:
    counters only grow (CPU seconds, bytes, requests, restarts), gauges move smoothly."""
    base = {"east-1": 0.25, "west-2": 0.55, "edge-7": 0.8}[cluster]
    extra = {"cluster": cluster} if cluster_label else {}
    out: list[SeriesSpec] = []
    for node in (0, 1):
        inst = {"instance": f"{cluster}-node-{node}:9100", "job": "node", **extra}

        def util(i: int, n: int = node) -> float:
            return min(0.95, base + 0.1 * n + 0.08 * math.sin(i / 15.0 + n))

        for cpu in range(4):
            for mode in ("idle", "user", "system"):
                share = {"idle": lambda i, u=util: 1 - u(i), "user": lambda i, u=util: u(i) * 0.7,
                         "system": lambda i, u=util: u(i) * 0.3}[mode]  # fmt: skip
                out.append(
                    ("node_cpu_seconds_total", {**inst, "cpu": str(cpu), "mode": mode},
                     lambda i, f=share: round(864000.0 + sum(f(k) * STEP_S for k in range(i + 1)), 2))
                )  # fmt: skip
        total = 64 * 2**30
        out.append(("node_memory_MemTotal_bytes", inst, lambda i, t=total: float(t)))
        out.append(
            ("node_memory_MemAvailable_bytes", inst,
             lambda i, t=total, n=node: float(int(t * (0.7 - base * 0.5 - 0.05 * n + 0.03 * math.cos(i / 30)))))
        )  # fmt: skip
        for direction, rate in (("receive", 12e6), ("transmit", 7e6)):
            out.append(
                (f"node_network_{direction}_bytes_total", {**inst, "device": "eth0"},
                 lambda i, r=rate: float(int(r * 86400 + sum(r * (1 + 0.3 * math.sin(k / 10)) * STEP_S for k in range(i + 1)))))
            )  # fmt: skip
    for ns, pods in (("openshift-monitoring", 12), ("ran-du", 8), ("apps", 20)):
        for phase, n in (("Running", pods), ("Pending", 1 if ns == "apps" else 0), ("Failed", 0)):
            out.append(
                (
                    "kube_pod_status_phase",
                    {"namespace": ns, "phase": phase, **extra},
                    lambda i, v=n: float(v),
                )
            )
        out.append(
            ("kube_pod_container_status_restarts_total", {"namespace": ns, "pod": f"{ns}-0", **extra},
             lambda i, ns=ns: float(17 + i // (40 if ns == "ran-du" else 400)))
        )  # fmt: skip
    for code, rate in (("200", 180.0), ("404", 4.0), ("500", 0.5 * (1 + base))):
        out.append(
            ("apiserver_request_total", {"code": code, **extra},
             lambda i, r=rate: float(int(r * STEP_S * (i + 5760))))
        )  # fmt: skip
    for le, share in (("0.05", 0.7), ("0.1", 0.85), ("0.5", 0.97), ("1", 0.995), ("+Inf", 1.0)):
        out.append(
            ("apiserver_request_duration_seconds_bucket", {"le": le, "verb": "GET", **extra},
             lambda i, s=share: round(150 * STEP_S * (i + 5760) * s, 1))
        )  # fmt: skip
    if cluster != "west-2":
        severity = "critical" if cluster == "edge-7" else "warning"
        out.append(
            ("ALERTS", {"alertname": "NodeHighCPU", "alertstate": "firing", "severity": severity, **extra},
             lambda i: 1.0)
        )  # fmt: skip
    return out


HISTORY = 40  # platform series start 10 min before the window, as real ones long predate it


def backfill_text(dataset: Dataset, fleet: list[SeriesSpec], platform: list[SeriesSpec]) -> str:
    """One OpenMetrics text: fleet series over the window, platform series with history (so
    rate() over the first minutes of the window sees full 5-minute ranges)."""
    head = openmetrics(fleet, dataset.start_s, COUNT, STEP_S).removesuffix("# EOF\n")
    tail = openmetrics(platform, dataset.start_s - HISTORY * STEP_S, COUNT + HISTORY, STEP_S)
    return head + tail


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    return fresh_dataset()


@pytest.fixture(scope="session")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory, dataset: Dataset
) -> Iterator[RunningPrometheus]:
    text = backfill_text(dataset, fleet_series(), [p for c in CLUSTERS for p in platform_series(c)])
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
    yield from members_of(tmp_path_factory, dataset)


def fresh_dataset() -> Dataset:
    """The hour ending one step before now (the session's ``dataset`` ends when the session
    began: an instant query minutes later, past Prometheus' 5-minute lookback, finds none)."""
    end = int(time.time()) // STEP_S * STEP_S - STEP_S
    return Dataset(start_s=end - (COUNT - 1) * STEP_S, end_s=end)


def members_of(
    tmp_path_factory: pytest.TempPathFactory, dataset: Dataset
) -> Iterator[dict[str, RunningPrometheus]]:
    """east-1 and west-2 each with their own Prometheus holding ``dataset``."""
    servers = {}
    try:
        for cluster in ("east-1", "west-2"):
            text = backfill_text(
                dataset,
                fleet_series(cluster, cluster_label=False),
                platform_series(cluster, cluster_label=False),
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


WEB_USER, WEB_PASSWORD = "noc-reader", "correct-horse-battery-staple-7"


@pytest.fixture(scope="session")
def prometheus_tls_basic(
    tmp_path_factory: pytest.TempPathFactory, dataset: Dataset, pki: TestPki
) -> Iterator[RunningPrometheus]:
    """Prometheus serving TLS and basic auth itself (--web.config.file)."""
    from tests.servers.webconfig import write_web_config

    work = tmp_path_factory.mktemp("prom-webconfig")
    config = write_web_config(work, pki, WEB_USER, WEB_PASSWORD)
    text = openmetrics(fleet_series("west-2", cluster_label=False), dataset.start_s, COUNT, STEP_S)
    server = start_prometheus(work, text, extra_args=[f"--web.config.file={config}"])
    try:
        yield server
    finally:
        server.stop()


def backfilled(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    series: list[SeriesSpec],
    count: int,
    step: int,
    *,
    ahead: int = 0,
) -> tuple[RunningPrometheus, int]:
    """A Prometheus backfilled with ``count`` samples per series ending one step before now,
    and ``ahead`` more after it (so that "now" queries of a session fixture see the same fresh
    data however late in the session they run); (server, first sample's time)."""
    start = int(time.time()) // step * step - count * step
    server = start_prometheus(
        tmp_path_factory.mktemp(name), openmetrics(series, start, count + ahead, step)
    )
    server.first_sample_s = start
    return server, start


@pytest.fixture(scope="session")
def gpu_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPrometheus]:
    """A fleet hub Prometheus holding the DCGM series of tests/servers/gpu_fleet.py."""
    from tests.servers.gpu_fleet import STEP_S, gpu_fleet_series

    # 10 minutes to now and 40 ahead: rate(...[5m]) (throttling) is the same whenever asked
    server, _ = backfilled(tmp_path_factory, "prom-gpu", gpu_fleet_series(), 40, STEP_S, ahead=160)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def ptp_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningPrometheus, int]]:
    """A fleet hub Prometheus holding tests/servers/ptp_fleet.py's hour; (server, first stamp)."""
    from tests.servers.ptp_fleet import COUNT, STEP_S, ptp_fleet_series

    server, start = backfilled(tmp_path_factory, "prom-ptp", ptp_fleet_series(), COUNT, STEP_S)
    try:
        yield server, start
    finally:
        server.stop()


@pytest.fixture(scope="session")
def kube_state_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPrometheus]:
    """A fleet hub Prometheus holding tests/servers/kube_state.py's kube-state-metrics."""
    from tests.servers.kube_state import COUNT, STEP_S, kube_state_series

    server, _ = backfilled(
        tmp_path_factory, "prom-ksm", kube_state_series(), COUNT, STEP_S, ahead=160
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sriov_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPrometheus]:
    """A fleet hub Prometheus holding tests/servers/sriov_fleet.py's VF counters."""
    from tests.servers.sriov_fleet import COUNT, STEP_S, sriov_fleet_series

    server, _ = backfilled(
        tmp_path_factory, "prom-sriov", sriov_fleet_series(), COUNT, STEP_S, ahead=160
    )  # ahead: rate(...[5m]) is the same whenever the session asks
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLlama]:
    """A real llama.cpp server with SmolLM2-135M (tests/servers/llama.py)."""
    running = start_llama(tmp_path_factory.mktemp("llama"))
    yield running
    running.stop()
