"""GPU health from what the DCGM exporter (or nvidia-smi) reports (PRODUCT.md section 3).

A GPU is OK, WARNING or CRITICAL with the reasons, in words a NOC engineer acts on: its last
XID decoded to meaning and action (``resources/gpu/xid.json``), double-bit ECC errors, row
remapping (pending, uncorrectable, failed), PCIe replays and NVLink CRC errors and recoveries
in the last hour, corrected single-bit ECC errors, clock throttling (power, thermal,
reliability) for more than 10 % of the last 5 minutes, temperature (warning 70 C, critical
80 C). Utilisation above 80 % is "high": a fact, not a fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

TEMP_WARNING_C = 70.0
TEMP_CRITICAL_C = 80.0
UTIL_HIGH_PCT = 80.0
THROTTLED_PCT = 10.0  # throttled for more than this share of the last 5 min: WARNING


class GpuState(StrEnum):
    OK = "OK"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


@dataclass(frozen=True)
class XidInfo:
    code: int
    name: str
    meaning: str
    action: str
    severity: GpuState


def load_xids(document: Mapping[str, Any]) -> dict[int, XidInfo]:
    """The XID table as ``resources/gpu/xid.json`` holds it."""
    return {
        int(code): XidInfo(
            int(code), entry["name"], entry["meaning"], entry["action"], GpuState(entry["severity"])
        )
        for code, entry in document["xids"].items()
    }


@dataclass
class GpuReading:
    """One GPU (or MIG instance) as the readers saw it; None is unknown, never 0."""

    cluster: str
    node: str
    gpu: str  # index
    uuid: str
    model: str = ""
    driver: str | None = None
    mig_profile: str | None = None
    mig_id: str | None = None
    pods: list[str] = field(default_factory=list)  # namespace/pod (container)
    util_pct: float | None = None
    mem_used_mib: float | None = None
    mem_free_mib: float | None = None
    mem_total_mib: float | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    sm_clock_mhz: float | None = None
    mem_clock_mhz: float | None = None
    tensor_active: float | None = None  # 0..1 where profiling metrics are exported
    xid: int | None = None  # the last XID seen (0: none)
    pcie_replays_1h: float | None = None
    remapped_uncorrectable: float | None = None
    remapped_correctable: float | None = None
    remap_failure: float | None = None
    dbe_errors: float | None = None
    sbe_errors: float | None = None
    throttle_power_pct: float | None = None  # share of the last 5 min spent throttled
    throttle_thermal_pct: float | None = None
    throttle_reliability_pct: float | None = None
    nvlink_crc_1h: float | None = None  # NVLink flow-control CRC errors in the last hour
    nvlink_recovery_1h: float | None = None

    @property
    def key(self) -> str:
        mig = f"/mig{self.mig_id}" if self.mig_id else ""
        return f"{self.cluster}/{self.node}/gpu{self.gpu}{mig}"


@dataclass
class GpuHealth:
    reading: GpuReading
    state: GpuState
    reasons: list[str]
    high_utilisation: bool


_RANK = {GpuState.OK: 0, GpuState.WARNING: 1, GpuState.CRITICAL: 2}


def _counted(g: GpuReading) -> list[tuple[GpuState, str]]:
    """Error counters: any count is a finding."""
    rules: list[tuple[float | None, GpuState, str]] = [
        (g.dbe_errors, GpuState.CRITICAL, "{:g} double-bit ECC errors"),
        (g.remapped_uncorrectable, GpuState.WARNING, "{:g} rows remapped (uncorrectable errors)"),
        (g.pcie_replays_1h, GpuState.WARNING, "{:g} PCIe replays in the last hour"),
        (g.sbe_errors, GpuState.WARNING, "{:g} single-bit ECC errors (corrected; watch growth)"),
        (g.nvlink_recovery_1h, GpuState.WARNING, "{:.0f} NVLink recoveries in the last hour"),
        (g.nvlink_crc_1h, GpuState.WARNING, "{:.0f} NVLink CRC errors in the last hour"),
    ]
    found = [(state, text.format(value)) for value, state, text in rules if value]
    if g.remap_failure:
        found.append((GpuState.CRITICAL, "row remapping failed: memory errors not contained"))
    return found


def _throttling(g: GpuReading) -> list[tuple[GpuState, str]]:
    limits = (
        ("power", g.throttle_power_pct),
        ("thermal", g.throttle_thermal_pct),
        ("reliability", g.throttle_reliability_pct),
    )
    return [
        (GpuState.WARNING, f"throttled {pct:.0f}% of the last 5 min ({limit} limit)")
        for limit, pct in limits
        if pct is not None and pct > THROTTLED_PCT
    ]


def _temperature(g: GpuReading) -> list[tuple[GpuState, str]]:
    t = g.temperature_c
    if t is not None and t >= TEMP_CRITICAL_C:
        return [(GpuState.CRITICAL, f"temperature {t:g} C (critical >= 80 C)")]
    if t is not None and t >= TEMP_WARNING_C:
        return [(GpuState.WARNING, f"temperature {t:g} C (warning >= 70 C)")]
    return []


def assess(g: GpuReading, xids: Mapping[int, XidInfo]) -> GpuHealth:
    findings: list[tuple[GpuState, str]] = []
    if g.xid:
        info = xids.get(g.xid)
        if info is None:
            findings.append((GpuState.WARNING, f"XID {g.xid} (not in the XID table)"))
        else:
            text = f"XID {g.xid} {info.name}: {info.meaning} Action: {info.action}"
            findings.append((info.severity, text))
    findings += _counted(g) + _throttling(g) + _temperature(g)
    findings.sort(key=lambda f: -_RANK[f[0]])  # stable: same-rank reasons keep their order
    state = findings[0][0] if findings else GpuState.OK
    high = g.util_pct is not None and g.util_pct > UTIL_HIGH_PCT
    return GpuHealth(g, state, [text for _, text in findings], high)


def worst_first(health: list[GpuHealth]) -> list[GpuHealth]:
    return sorted(health, key=lambda h: (-_RANK[h.state], h.reading.key))


@dataclass
class GpuChange:
    """One GPU whose health differs between two moments. ``after`` None: the GPU was reported
    at the first moment and no longer is (off the bus, node down, exporter gone)."""

    key: str
    before: GpuState
    after: GpuState | None
    reasons: list[str]  # at the second moment; at the first where the GPU is gone


def health_changes(before: list[GpuHealth], after: list[GpuHealth]) -> list[GpuChange]:
    """GPUs reported at both moments whose state changed, and GPUs no longer reported; worse
    outcomes first. GPUs new at the second moment are not changes (nothing to compare)."""
    now = {h.reading.key: h for h in after}
    out = []
    for was in before:
        key = was.reading.key
        if key not in now:
            out.append(GpuChange(key, was.state, None, was.reasons))
        elif now[key].state is not was.state:
            out.append(GpuChange(key, was.state, now[key].state, now[key].reasons))

    def rank(c: GpuChange) -> tuple[int, str]:
        return (-(_RANK[c.after] if c.after else 3), c.key)

    return sorted(out, key=rank)
