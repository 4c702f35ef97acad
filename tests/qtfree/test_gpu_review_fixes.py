"""Review fixes to the GPU readers: DCGM's "blank" / "not supported" placeholders are no
readings; the pod using a GPU is the workload's (``exported_pod``), never the DCGM exporter's
own; the nvidia-smi fallback finds OpenShift's Driver Toolkit driver pods (and says when it
finds none where GPUs are known); a GPU that stops being reported keeps its finding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.cluster import Cluster, ClusterCapabilities, Endpoint
from aiops_desktop.models.enums import QueryStatus
from aiops_desktop.models.fleet import Domain, FindingSeverity, Health
from aiops_desktop.models.gpu import GpuFleet, GpuReading, GpuState
from aiops_desktop.models.metrics import ClusterOutcome, PromSeries, QueryAnswer, TaggedSeries
from aiops_desktop.services.fleet.findings import gpu_findings
from aiops_desktop.services.fleet.state import FleetState
from aiops_desktop.services.gpu_cnf.gpu import (
    gpu_queries,
    join_readings,
    read_gpu_history,
    xid_table,
)
from aiops_desktop.services.gpu_cnf.gpu_fallback import (
    NodeGpus,
    read_fleet_gpus,
    read_gpus,
)
from analysis.gpu_health import assess
from analysis.rules import apply_rule, is_dcgm_blank, rule_for
from analysis.signals import classify
from collectors.errors import KubeNotFound
from collectors.nvidia_smi import APPS_COMMAND

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

# DCGM's placeholders (dcgm_structs.h), as dcgm-exporter prints them
INT32_BLANK = 0x7FFFFFF0  # 2147483632
INT32_NOT_PERMISSIONED = INT32_BLANK + 3
INT64_NOT_SUPPORTED = 9223372036854775794  # 0x7ffffffffffffff2, in dcgm-exporter's README
FP64_BLANK = 2.0**47
FP64_NOT_SUPPORTED = FP64_BLANK + 2.0


def dcgm(gpu: str, value: float, cluster: str = "east", **extra: str) -> TaggedSeries:
    labels = {"Hostname": "gpu-node-1", "gpu": gpu, "UUID": f"GPU-{gpu}", "modelName": "T4"}
    return TaggedSeries(
        cluster, PromSeries(labels | extra, np.array([1000.0]), np.array([float(value)]))
    )


# 1. DCGM's blanks are no readings


@pytest.mark.parametrize(
    "value",
    [
        INT32_BLANK,
        INT32_BLANK + 1,
        INT32_BLANK + 2,
        INT32_NOT_PERMISSIONED,
        INT64_NOT_SUPPORTED,
        float(0x7FFFFFFFFFFFFFF0),
        FP64_BLANK,
        FP64_BLANK + 1.0,
        FP64_NOT_SUPPORTED,
        FP64_BLANK + 3.0,
    ],
)
def test_dcgm_blanks_are_recognised(value: float) -> None:
    assert is_dcgm_blank(float(value))


@pytest.mark.parametrize("value", [0.0, 41.0, -5.0, INT32_BLANK - 1, 2.0**32, FP64_BLANK - 1.0])
def test_real_values_are_no_blanks(value: float) -> None:
    assert not is_dcgm_blank(float(value))


def test_a_gpu_whose_fields_are_not_supported_is_judged_by_what_it_reports() -> None:
    """A T4 with ECC off (ECC counters and row remapping 'not supported') at 41 C is OK; a GPU
    whose temperature and power are blank has no temperature, not 2147483632 C."""
    answers = {
        "temperature_c": [dcgm("0", 41), dcgm("1", INT32_BLANK)],
        "power_w": [dcgm("0", 70), dcgm("1", FP64_BLANK)],
        "util_pct": [dcgm("0", 35), dcgm("1", 20)],
        "xid": [dcgm("0", 0), dcgm("1", INT32_NOT_PERMISSIONED)],
        "dbe_errors": [dcgm("0", INT64_NOT_SUPPORTED), dcgm("1", 0)],
        "sbe_errors": [dcgm("0", INT64_NOT_SUPPORTED), dcgm("1", 0)],
        "remap_failure": [dcgm("0", INT64_NOT_SUPPORTED), dcgm("1", 0)],
    }
    first, second = join_readings(answers)
    assert first.dbe_errors is None and first.sbe_errors is None and first.remap_failure is None
    assert second.temperature_c is None and second.power_w is None and second.xid is None
    health = [assess(r, xid_table()) for r in (first, second)]
    assert [h.state for h in health] == [GpuState.OK, GpuState.OK]
    fleet = GpuFleet(health, [])
    assert fleet.summary()["avg_temperature_c"] == 41.0
    assert gpu_findings(fleet) == {}


def test_the_anomaly_rules_skip_dcgm_blanks_in_gpu_series() -> None:
    temp = rule_for(classify("DCGM_FI_DEV_GPU_TEMP"), "DCGM_FI_DEV_GPU_TEMP")
    assert temp is not None
    assert apply_rule(temp, np.array([40.0, INT32_BLANK, 41.0])) == [None, None, None]
    xid = rule_for(classify("DCGM_FI_DEV_XID_ERRORS"), "DCGM_FI_DEV_XID_ERRORS")
    assert xid is not None
    assert apply_rule(xid, np.array([0.0, INT32_BLANK, 0.0])) == [None, None, None]
    dbe = rule_for(classify("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL"), "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL")
    assert dbe is not None
    hits = apply_rule(dbe, np.array([0.0, float(INT64_NOT_SUPPORTED), 0.0, 2.0]))
    assert hits[:3] == [None, None, None]  # a blank is no change, nor the 0 after it
    assert hits[3] is not None and hits[3].expected == 0.0
    # a PTP offset is no DCGM value: a clock 2**47 ns off is a breach
    offset = rule_for(classify("openshift_ptp_offset_ns"), "openshift_ptp_offset_ns")
    assert offset is not None
    assert apply_rule(offset, np.array([FP64_BLANK]))[0] is not None


@pytest.mark.asyncio
async def test_a_gpus_history_leaves_blanks_out() -> None:
    reading = GpuReading(cluster="east", node="gpu-node-1", gpu="0", uuid="GPU-0")

    class Queries:
        async def run(self, query: Any, clusters: list[Cluster]) -> QueryAnswer:
            series = PromSeries(
                {"Hostname": "gpu-node-1", "gpu": "0", "UUID": "GPU-0"},
                np.array([0.0, 30.0, 60.0]),
                np.array([40.0, INT32_BLANK, 42.0]),
            )
            return QueryAnswer(
                query,
                QueryStatus.SUCCESS,
                [TaggedSeries("east", series)],
                [ClusterOutcome("east", True, 1.0)],
                1.0,
            )

    history = await read_gpu_history(Queries(), [], reading, end=NOW)  # type: ignore[arg-type]
    _, values = history.series["temperature_c"]
    assert values[0] == 40.0 and np.isnan(values[1]) and values[2] == 42.0


# 2. the pod using a GPU is the workload's, not the exporter's


TARGET = {
    "namespace": "nvidia-gpu-operator",
    "pod": "nvidia-dcgm-exporter-7xk2p",
    "container": "nvidia-dcgm-exporter",
    "service": "nvidia-dcgm-exporter",
    "instance": "10.128.2.15:9400",
    "job": "nvidia-dcgm-exporter",
}


def test_the_workload_is_the_exported_pod_and_the_exporter_is_no_workload() -> None:
    """gpu-operator's ServiceMonitor sets no honorLabels: the exporter's own pod labels are the
    target's, the workload's arrive as exported_*."""
    busy = {
        "exported_pod": "vllm-llama-0",
        "exported_namespace": "llm-serving",
        "exported_container": "vllm",
    }
    answers = {
        "util_pct": [dcgm("0", 97, **TARGET, **busy), dcgm("1", 0, **TARGET)],
        "temperature_c": [dcgm("0", 66, **TARGET, **busy), dcgm("1", 31, **TARGET)],
    }
    used, idle = join_readings(answers)
    assert used.pods == ["llm-serving/vllm-llama-0 (vllm)"]
    assert idle.pods == []


def test_with_honor_labels_the_pod_label_is_the_workloads() -> None:
    """honorLabels: true keeps the exporter's pod mapping as pod/namespace/container; an idle
    GPU still gets the target's (the exporter's) pod, which is no workload: gpu-operator's
    container, or the dcgm-exporter chart's pod named after its Service."""
    workload = TARGET | {"pod": "trainer-0", "namespace": "ml", "container": "train"}
    chart = {
        "namespace": "monitoring",
        "pod": "dcgm-exporter-x2x9z",
        "container": "exporter",
        "service": "dcgm-exporter",
        "job": "dcgm-exporter",
        "instance": "10.0.0.5:9400",
    }
    answers = {
        "util_pct": [dcgm("0", 90, **workload), dcgm("1", 0, **TARGET), dcgm("2", 0, **chart)]
    }
    used, idle, idle_chart = join_readings(answers)
    assert used.pods == ["ml/trainer-0 (train)"]
    assert idle.pods == [] and idle_chart.pods == []


# 3. the nvidia-smi fallback on OpenShift (Driver Toolkit)


def driver_pod(app: str, component: bool = True) -> dict[str, Any]:
    labels = {"app": app} | ({"app.kubernetes.io/component": "nvidia-driver"} if component else {})
    return {
        "metadata": {"name": f"{app}-5xbvq", "labels": labels},
        "spec": {"nodeName": "gpu-node-1"},
        "status": {"phase": "Running"},
    }


class SelectingKube:
    """The API server's equality label selector (k=v[,k=v]) over ``pods``."""

    def __init__(self, pods: list[dict[str, Any]]) -> None:
        self.pods = pods

    async def list(
        self, path: str, *, label_selector: str | None = None, field_selector: str | None = None
    ) -> tuple[list[Any], str]:
        if "nvidia-gpu-operator" not in path:
            raise KubeNotFound("no such namespace")
        want = dict(p.split("=", 1) for p in (label_selector or "").split(",") if p)
        return [
            p
            for p in self.pods
            if all(p["metadata"]["labels"].get(k) == v for k, v in want.items())
        ], "1"

    async def exec_read(self, namespace: str, pod: str, command: Any, **k: Any) -> str:
        if command == APPS_COMMAND:
            return ""  # no process on the GPU
        return "0, GPU-a, NVIDIA A100, 550.54.15, 81920, 10, 81910, 0, 0, 40, 60, 400, [N/A]\n"


@pytest.mark.asyncio
async def test_the_driver_toolkits_driver_pods_are_found() -> None:
    dtk = driver_pod("nvidia-driver-daemonset-418.94.202509100653-0")
    (node,) = await read_fleet_gpus(SelectingKube([dtk]))  # type: ignore[arg-type]
    assert node.node == "gpu-node-1" and node.error is None and len(node.gpus) == 1
    # an older gpu-operator's pods, without the component label
    old = driver_pod("nvidia-driver-daemonset", component=False)
    (node,) = await read_fleet_gpus(SelectingKube([old]))  # type: ignore[arg-type]
    assert node.pod == "nvidia-gpu-operator/nvidia-driver-daemonset-5xbvq"


class NoDcgm:
    async def run(self, query: Any, clusters: list[Cluster]) -> QueryAnswer:
        return QueryAnswer(
            query,
            QueryStatus.SUCCESS,
            [],
            [ClusterOutcome(c.name, True, 1.0) for c in clusters],
            1.0,
        )


def cluster(name: str, *, gpus: int | None = None, api: bool = True) -> Cluster:
    found = (
        ClusterCapabilities()
        if gpus is None
        else ClusterCapabilities(gpu_count=gpus, discovered_at=NOW)
    )
    return Cluster(
        name=name,
        api_server_url=f"https://{name}.invalid:6443" if api else None,
        endpoints=[Endpoint(kind=EndpointKind.PROMETHEUS, url=f"http://{name}.invalid:9090")],
        capabilities=found,
    )


@pytest.mark.asyncio
async def test_no_driver_pods_where_gpus_are_known_is_a_failure() -> None:
    class Kube:
        async def gpus_by_exec(self, name: str) -> list[NodeGpus]:
            return []  # no driver pod matched

    clusters = [cluster("ocp-gpu", gpus=8), cluster("not-discovered")]
    fleet = await read_gpus(NoDcgm(), clusters, Kube())  # type: ignore[arg-type]
    (failed,) = [o for o in fleet.outcomes if not o.ok]
    assert failed.cluster == "ocp-gpu" and "no driver pods found" in (failed.error or "")
    assert "app.kubernetes.io/component=nvidia-driver" in (failed.error or "")


# 4. a GPU that stops being reported


class Gpus:
    """A Prometheus whose DCGM answers are ``now`` (field -> [(gpu, value)]); ``labels``: a
    GPU's own labels (gpu -> label -> value: its UUID, its node); ``fail``: every query of the
    cluster fails."""

    def __init__(self) -> None:
        self.now: dict[str, list[tuple[str, float]]] = {}
        self.labels: dict[str, dict[str, str]] = {}
        self.fail = False
        self.fields = {q: name for name, q in gpu_queries().items()}

    async def run(self, query: Any, clusters: list[Cluster]) -> QueryAnswer:
        if self.fail:
            return QueryAnswer(
                query,
                QueryStatus.ERROR,
                [],
                [
                    ClusterOutcome(c.name, False, 0.0, reason="timed_out", error="timed out")
                    for c in clusters
                ],
                1.0,
            )
        name = self.fields.get(query.promql, "")
        series = [dcgm(gpu, v, **self.labels.get(gpu, {})) for gpu, v in self.now.get(name, [])]
        return QueryAnswer(
            query,
            QueryStatus.SUCCESS,
            series,
            [ClusterOutcome(c.name, True, 1.0) for c in clusters],
            1.0,
        )


class Registry:
    def __init__(self, clusters: list[Cluster]) -> None:
        self._clusters = clusters

    def clusters(self) -> list[Cluster]:
        return self._clusters

    def members(self, cluster: Cluster, seen: Any = ()) -> list[str]:
        return []


class Poller:
    status: dict[Any, Any] = {}  # noqa: RUF012
    alerts: dict[str, Any] = {}  # noqa: RUF012
    member_seen: dict[str, Any] = {}  # noqa: RUF012


class Anomalies:
    async def current(self, within: Any) -> list[Any]:
        return []


class Bus:
    def publish(self, topic: str, payload: Any) -> None:
        pass


@pytest.mark.asyncio
async def test_a_gpu_no_longer_reported_keeps_its_critical_until_it_is_reported_again() -> None:
    queries = Gpus()
    clock = [NOW]
    fakes: Any = (Registry([cluster("east", api=False)]), Poller(), queries, Anomalies(), Bus())
    fleet = FleetState(*fakes, clock=lambda: clock[0])

    async def refresh() -> Any:
        clock[0] += timedelta(minutes=1)
        truth = await fleet.refresh()
        east = truth.get("east")
        assert east is not None
        return east, [f for f in east.findings if f.domain is Domain.GPU]

    queries.now = {"temperature_c": [("0", 40), ("1", 41)], "xid": [("0", 0), ("1", 79)]}
    east, (xid,) = await refresh()
    assert east.state is Health.CRITICAL and xid.subject == "gpu-node-1/gpu1"

    # XID 79: the exporter restarted and DCGM no longer lists the GPU
    queries.now = {"temperature_c": [("0", 40)], "xid": [("0", 0)]}
    east, (gone,) = await refresh()
    assert east.state is Health.CRITICAL
    assert gone.subject == "gpu-node-1/gpu1" and gone.severity is FindingSeverity.CRITICAL
    assert gone.reason.startswith("no longer reported since 12:02 UTC (last: CRITICAL")
    assert "XID 79" in gone.reason and not gone.stale
    east, (still,) = await refresh()  # said until it is reported again
    assert still.reason == gone.reason

    # the cluster's GPU reads fail: the failure path says so (the last finding kept, stale)
    queries.fail = True
    east, (kept,) = await refresh()
    assert kept.stale and kept.reason == gone.reason
    queries.fail = False

    # reported again, and well: nothing to say; gone once more while OK: nothing remembered
    queries.now = {"temperature_c": [("0", 40), ("1", 41)], "xid": [("0", 0), ("1", 0)]}
    east, found = await refresh()
    assert found == [] and east.state is not Health.CRITICAL
    queries.now = {"temperature_c": [("0", 40)], "xid": [("0", 0)]}
    east, found = await refresh()
    assert found == [] and east.state is not Health.CRITICAL


async def _east(fleet: FleetState, clock: list[datetime], after: timedelta) -> Any:
    """The east cluster and its GPU findings, read ``after`` the last read."""
    clock[0] += after
    east = (await fleet.refresh()).get("east")
    assert east is not None
    return east, [f for f in east.findings if f.domain is Domain.GPU]


@pytest.mark.asyncio
@pytest.mark.parametrize("gone_first", [False, True], ids=["at-once", "after-gone"])
async def test_a_gpu_swapped_after_an_xid_79_clears_its_no_longer_reported_at_once(
    gone_first: bool,
) -> None:
    """The usual action after an XID 79 is to replace the GPU: the same slot then reports a
    new UUID, healthy. The slot speaks for itself now: the old GPU's CRITICAL is no more,
    whether the swap shows at the next read or after the old GPU was said gone."""
    queries = Gpus()
    clock = [NOW]
    fakes: Any = (Registry([cluster("east", api=False)]), Poller(), queries, Anomalies(), Bus())
    fleet = FleetState(*fakes, clock=lambda: clock[0])
    minute = timedelta(minutes=1)
    queries.now = {"temperature_c": [("0", 40), ("1", 41)], "xid": [("0", 0), ("1", 79)]}
    east, (xid,) = await _east(fleet, clock, minute)
    assert east.state is Health.CRITICAL and xid.subject == "gpu-node-1/gpu1"
    if gone_first:  # the exporter restarted without the GPU; the node drained, swapped
        queries.now = {"temperature_c": [("0", 40)], "xid": [("0", 0)]}
        east, (gone,) = await _east(fleet, clock, minute)
        assert gone.reason.startswith("no longer reported since 12:02 UTC")
        assert east.state is Health.CRITICAL
    queries.labels = {"1": {"UUID": "GPU-1-replacement"}}
    queries.now = {"temperature_c": [("0", 40), ("1", 38)], "xid": [("0", 0), ("1", 0)]}
    east, found = await _east(fleet, clock, timedelta(hours=2))
    assert found == [] and east.state is not Health.CRITICAL
    east, found = await _east(fleet, clock, minute)
    assert found == [] and east.state is not Health.CRITICAL


@pytest.mark.asyncio
async def test_a_gpu_gone_with_no_replacement_is_said_for_24_hours_then_forgotten() -> None:
    """A node that reports no GPU at all any more (retired, or down): its GPU that was not OK
    is said gone, at its last severity, since when, for 24 h (a shift handover sees it), then
    forgotten; the GPUs of the node that still reports are untouched."""
    queries = Gpus()
    clock = [NOW]
    fakes: Any = (Registry([cluster("east", api=False)]), Poller(), queries, Anomalies(), Bus())
    fleet = FleetState(*fakes, clock=lambda: clock[0])
    queries.labels = {"1": {"Hostname": "gpu-node-2"}}
    queries.now = {"temperature_c": [("0", 40), ("1", 41)], "xid": [("0", 0), ("1", 79)]}
    east, (xid,) = await _east(fleet, clock, timedelta(minutes=1))
    assert xid.subject == "gpu-node-2/gpu1"

    queries.now = {"temperature_c": [("0", 40)], "xid": [("0", 0)]}  # gpu-node-2 is gone
    east, (gone,) = await _east(fleet, clock, timedelta(minutes=14))  # 12:15
    assert gone.subject == "gpu-node-2/gpu1" and gone.severity is FindingSeverity.CRITICAL
    assert gone.reason.startswith("no longer reported since 12:15 UTC (last: CRITICAL: XID 79")
    assert east.state is Health.CRITICAL
    east, (still,) = await _east(fleet, clock, timedelta(hours=23, minutes=59))
    assert still.reason == gone.reason and east.state is Health.CRITICAL
    east, found = await _east(fleet, clock, timedelta(minutes=1))  # 24 h after it went
    assert found == [] and east.state is not Health.CRITICAL
    east, found = await _east(fleet, clock, timedelta(minutes=1))
    assert found == [] and east.state is not Health.CRITICAL


@pytest.mark.asyncio
async def test_a_gpu_gone_whose_index_a_renumbered_neighbour_takes_stays_said() -> None:
    """A GPU off the bus is not enumerated when the node's driver reloads: the next GPU takes
    its index. That GPU was on the node before, so it is no replacement: the lost GPU's
    CRITICAL stays (for 24 h, as any GPU gone), until a new GPU reports in its slot."""
    queries = Gpus()
    clock = [NOW]
    fakes: Any = (Registry([cluster("east", api=False)]), Poller(), queries, Anomalies(), Bus())
    fleet = FleetState(*fakes, clock=lambda: clock[0])
    minute = timedelta(minutes=1)
    three: list[tuple[str, float]] = [("0", 40), ("1", 41), ("2", 42)]
    queries.now = {"temperature_c": three, "xid": [("0", 0), ("1", 79), ("2", 0)]}
    east, (xid,) = await _east(fleet, clock, minute)
    assert xid.subject == "gpu-node-1/gpu1"

    queries.labels = {"1": {"UUID": "GPU-2"}}  # GPU-2 is now index 1; index 2 is not reported
    queries.now = {"temperature_c": [("0", 40), ("1", 42)], "xid": [("0", 0), ("1", 0)]}
    for _ in range(3):
        east, (gone,) = await _east(fleet, clock, minute)
        assert gone.subject == "gpu-node-1/gpu1" and gone.severity is FindingSeverity.CRITICAL
        assert gone.reason.startswith("no longer reported since 12:02 UTC (last: CRITICAL")

    # the board swapped and the node rebooted: a new GPU at index 1, GPU-2 back at 2
    queries.labels = {"1": {"UUID": "GPU-1-replacement"}}
    queries.now = {"temperature_c": three, "xid": [("0", 0), ("1", 0), ("2", 0)]}
    east, found = await _east(fleet, clock, minute)
    assert found == [] and east.state is not Health.CRITICAL


@pytest.mark.asyncio
async def test_a_gpu_renumbered_itself_is_not_said_gone() -> None:
    """The GPU that was not OK is renumbered (a neighbour below it is no longer enumerated):
    it reports under its UUID at another index. It is not gone: what it reports now is what
    is said, not a 'no longer reported' at its old index for 24 h."""
    queries = Gpus()
    clock = [NOW]
    fakes: Any = (Registry([cluster("east", api=False)]), Poller(), queries, Anomalies(), Bus())
    fleet = FleetState(*fakes, clock=lambda: clock[0])
    minute = timedelta(minutes=1)
    three: list[tuple[str, float]] = [("0", 40), ("1", 41), ("2", 42)]
    queries.now = {"temperature_c": three, "xid": [("0", 0), ("1", 79), ("2", 0)]}
    east, (xid,) = await _east(fleet, clock, minute)
    assert xid.subject == "gpu-node-1/gpu1"

    # GPU-0 is not enumerated: GPU-1 is index 0 now, GPU-2 index 1; GPU-1 recovered
    queries.labels = {"0": {"UUID": "GPU-1"}, "1": {"UUID": "GPU-2"}}
    queries.now = {"temperature_c": [("0", 41), ("1", 42)], "xid": [("0", 0), ("1", 0)]}
    east, found = await _east(fleet, clock, minute)
    assert found == [] and east.state is not Health.CRITICAL
