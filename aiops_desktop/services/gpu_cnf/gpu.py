"""GPU readers over PromQL (DCGM exporter series) and the fleet's GPU health.

One instant query per field (``resources/gpu/queries.json``) runs over every chosen cluster in
parallel (fleet hubs split by their ``cluster`` label); the series are joined per GPU by the
exporter's own labels (``Hostname``, ``gpu``, ``UUID``, ``GPU_I_ID``), with the pod mapping
(``pod``, ``namespace``, ``container``) and MIG profile where exported. Health per GPU comes
from ``analysis.gpu_health`` with the XID table in ``resources/gpu/xid.json``.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from functools import cache
from string import Template

from aiops_desktop.models import Cluster, QueryType, utcnow
from aiops_desktop.models.gpu import GpuFleet, GpuHealth, GpuHistory, GpuReading, XidInfo
from aiops_desktop.models.metrics import MetricQuery, TaggedSeries
from aiops_desktop.services.polling.catalog import field_queries
from aiops_desktop.services.queries.field_reads import last_value, read_fields, unique_failures
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from aiops_desktop.settings import resources_dir
from aiops_desktop.store.series import SeriesStore
from analysis.gpu_health import assess, load_xids, worst_first

#: reading field -> the ``queries.json`` key (numbers), in the order the table shows them
NUMERIC_FIELDS = (
    "util_pct",
    "mem_used_mib",
    "mem_free_mib",
    "mem_reserved_mib",
    "temperature_c",
    "power_w",
    "sm_clock_mhz",
    "mem_clock_mhz",
    "tensor_active",
    "xid",
    "pcie_replays_1h",
    "remapped_uncorrectable",
    "remapped_correctable",
    "remap_failure",
    "dbe_errors",
    "sbe_errors",
    "throttle_power_pct",
    "throttle_thermal_pct",
    "throttle_reliability_pct",
    "nvlink_crc_1h",
    "nvlink_recovery_1h",
)


def gpu_queries() -> dict[str, str]:
    return field_queries("gpu")


@cache
def xid_table() -> dict[int, XidInfo]:
    return load_xids(json.loads((resources_dir() / "gpu" / "xid.json").read_text()))


def _key(cluster: str, labels: dict[str, str]) -> tuple[str, str, str, str]:
    node = labels.get("Hostname") or labels.get("instance", "")
    return cluster, node, labels.get("gpu", ""), labels.get("GPU_I_ID", "")


def join_readings(answers: dict[str, list[TaggedSeries]]) -> list[GpuReading]:
    """One reading per GPU / MIG instance from each field's series."""
    readings: dict[tuple[str, str, str, str], GpuReading] = {}
    mem_reserved: dict[tuple[str, str, str, str], float] = {}
    for fieldname in NUMERIC_FIELDS:
        for tagged in answers.get(fieldname, []):
            labels = tagged.series.labels
            key = _key(tagged.cluster, labels)
            reading = readings.get(key)
            if reading is None:
                reading = readings[key] = GpuReading(
                    cluster=key[0],
                    node=key[1],
                    gpu=key[2],
                    uuid=labels.get("UUID", ""),
                    model=labels.get("modelName", ""),
                    driver=labels.get("DCGM_FI_DRIVER_VERSION"),
                    mig_profile=labels.get("GPU_I_PROFILE"),
                    mig_id=labels.get("GPU_I_ID") or None,
                )
            if labels.get("pod"):
                pod = f"{labels.get('namespace', '')}/{labels['pod']}"
                if labels.get("container"):
                    pod += f" ({labels['container']})"
                if pod not in reading.pods:
                    reading.pods.append(pod)
            value = last_value(tagged)
            if value is None:
                continue
            if fieldname == "mem_reserved_mib":
                mem_reserved[key] = value
            elif fieldname == "xid":
                reading.xid = int(value)
            else:
                setattr(reading, fieldname, value)
    for key, reading in readings.items():
        if reading.mem_used_mib is not None and reading.mem_free_mib is not None:
            reading.mem_total_mib = (
                reading.mem_used_mib + reading.mem_free_mib + mem_reserved.get(key, 0.0)
            )
    return sorted(
        readings.values(), key=lambda r: (r.cluster, r.node, int(r.gpu or 0), r.mig_id or "")
    )


async def read_gpu_fleet(
    queries: MultiClusterQuery, clusters: list[Cluster], *, at: datetime | None = None
) -> GpuFleet:
    """Every field over every cluster in parallel (as it was ``at``; now by default), joined
    and assessed."""
    catalog = gpu_queries()

    answers, failures = await read_fields(queries, clusters, catalog, NUMERIC_FIELDS, at=at)
    table = xid_table()

    def assess_all() -> list[GpuHealth]:  # thousands of GPUs: off the UI thread
        return worst_first([assess(r, table) for r in join_readings(answers)])

    return GpuFleet(await asyncio.to_thread(assess_all), failures)


def gpu_matchers(reading: GpuReading) -> str:
    """PromQL label matchers for one GPU (its UUID is unique across a fleet) or MIG instance."""
    labels = {"UUID": reading.uuid}
    if reading.mig_id:
        labels["GPU_I_ID"] = reading.mig_id
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in labels.items())


#: a GPU history query's step (longer for a long range: ``TimeRange.step``)
GPU_HISTORY_STEP = timedelta(seconds=30)


async def read_gpu_history(
    queries: MultiClusterQuery,
    clusters: list[Cluster],
    reading: GpuReading,
    *,
    window: timedelta = timedelta(hours=1),
    step: timedelta = GPU_HISTORY_STEP,
    end: datetime | None = None,
) -> GpuHistory:
    """One GPU's last ``window`` of each history field, from the cluster that reported it."""
    end = end or utcnow()
    matchers = gpu_matchers(reading)
    history = GpuHistory(reading, window)

    async def one(name: str, template: str) -> None:
        query = MetricQuery(
            promql=Template(template).substitute(gpu=matchers),
            query_type=QueryType.RANGE, start=end - window, end=end, step=step,
        )  # fmt: skip
        answer = await queries.run(query, clusters)
        history.outcomes += answer.failures
        for tagged in answer.series:
            if tagged.cluster == reading.cluster and tagged.series.values.size:
                history.series[name] = (tagged.series.timestamps, tagged.series.values)
                break

    await asyncio.gather(*(one(n, t) for n, t in field_queries("gpu", "history").items()))
    history.outcomes = unique_failures(history.outcomes)
    return history


#: history field -> the catalog panel the poller records it under, for every GPU
STORED_HISTORY = {"util_pct": "gpu_util", "temperature_c": "gpu_temperature"}


def stored_gpu_history(
    series: SeriesStore,
    reading: GpuReading,
    end: datetime,
    window: timedelta = timedelta(hours=1),
) -> GpuHistory:
    """One GPU's ``window`` before ``end`` from the series the poller stored (a capture has no
    live source): utilisation and temperature, per physical GPU (a MIG instance shows its
    GPU's). Blocking (SQLite): call from a worker thread."""
    history = GpuHistory(reading, window, note="recorded utilisation and temperature")
    lo, hi = int((end - window).timestamp() * 1000), int(end.timestamp() * 1000)
    for name, panel in STORED_HISTORY.items():
        for stored in series.read(panel, cluster=reading.cluster, start_ms=lo, end_ms=hi):
            if (stored.labels.get("Hostname"), stored.labels.get("gpu")) == (
                reading.node,
                reading.gpu,
            ):
                history.series[name] = (stored.timestamps_ms / 1000.0, stored.values)
                break
    return history
