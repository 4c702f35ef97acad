"""GPU health from what the DCGM exporter (or nvidia-smi) reports (docs/architecture.md#rules).

A GPU is OK, WARNING or CRITICAL with the reasons, in words a NOC engineer acts on (UNKNOWN
where neither its temperature nor any health counter was reported: no data is not health):
its XIDs (the last, and those seen over the XID window, so a critical XID is not hidden by a
later mild one) decoded to meaning and action (``resources/gpu/xid.json``; a last XID the
gauge has held since before that window, on a GPU that answers again, is a WARNING: DCGM keeps
the code until the exporter restarts), double-bit ECC errors, row remapping (rows remapped
for uncorrectable errors, a remap that failed; whether a remap is pending is not read), PCIe
replays and NVLink CRC errors and recoveries in the last hour, clock throttling (power,
thermal, reliability) for more than 10 % of the last 5 minutes, temperature (warning 70 C,
critical 80 C). Corrected single-bit ECC errors are a note of an OK GPU, not a fault: DCGM's
total counts them since the driver loaded, so one error would mark the GPU (and its cluster)
for days; their growth is the anomaly rules' (``analysis.rules``: MEDIUM), a high rate XID 92.
Utilisation above 80 % is "high": a fact, not a fault. A field DCGM reports as a blank ("not
supported": ECC off, no row remapping before Ampere) was never read
(``analysis.rules.is_dcgm_blank``): no finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiops_desktop.models.gpu import (
    STATE_RANK,
    TEMP_CRITICAL_C,
    TEMP_WARNING_C,
    UTIL_HIGH_PCT,
    XID_WINDOW_TEXT,
    GpuChange,
    GpuHealth,
    GpuReading,
    GpuState,
    XidInfo,
)

THROTTLED_PCT = 10.0  # throttled for more than this share of the last 5 min: WARNING


def load_xids(document: Mapping[str, Any]) -> dict[int, XidInfo]:
    """The XID table as ``resources/gpu/xid.json`` holds it."""
    return {
        int(code): XidInfo(
            int(code), entry["name"], entry["meaning"], entry["action"], GpuState(entry["severity"])
        )
        for code, entry in document["xids"].items()
    }


def _counted(g: GpuReading) -> list[tuple[GpuState, str]]:
    """Error counters: any count is a finding (a corrected one's total a note: ``GpuState.OK``)."""
    rules: list[tuple[float | None, GpuState, str]] = [
        (g.dbe_errors, GpuState.CRITICAL, "{:g} double-bit ECC errors"),
        (g.remapped_uncorrectable, GpuState.WARNING, "{:g} rows remapped (uncorrectable errors)"),
        (g.pcie_replays_1h, GpuState.WARNING, "{:g} PCIe replays in the last hour"),
        # a total since the driver loaded, not its growth (not read here): said, not a fault
        (g.sbe_errors, GpuState.OK, "{:g} single-bit ECC errors (corrected; watch growth)"),
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
        return [(GpuState.CRITICAL, f"temperature {t:g} C (critical >= {TEMP_CRITICAL_C:g} C)")]
    if t is not None and t >= TEMP_WARNING_C:
        return [(GpuState.WARNING, f"temperature {t:g} C (warning >= {TEMP_WARNING_C:g} C)")]
    return []


def _xid(code: int, xids: Mapping[int, XidInfo], when: str = "") -> tuple[GpuState, str]:
    info = xids.get(code)
    if info is None:  # CRITICAL, as the anomaly rule grades it: nothing says it is mild
        return GpuState.CRITICAL, f"XID {code} (not in the XID table){when}"
    return info.severity, f"XID {code} {info.name}: {info.meaning} Action: {info.action}{when}"


#: what a GPU reports while it answers: one of them read means it is up
_LIVE = ("temperature_c", "util_pct", "power_w", "sm_clock_mhz")
BEFORE_WINDOW = (
    f" (held since before {XID_WINDOW_TEXT}: the exporter keeps the last code until it"
    " restarts; the GPU answers again)"
)


def _last_xid(g: GpuReading, xids: Mapping[int, XidInfo]) -> tuple[GpuState, str]:
    """The last XID at its code's severity while it is recent, or while the GPU answers
    nothing else (it may still be off the bus); one the gauge has held since before the XID
    window on a GPU that reports again is history: a WARNING, so a days-old XID no longer
    marks its GPU (and the fleet, the wall, the notifications) CRITICAL. Counters a reset
    clears (double-bit ECC, remap failure) keep their own findings."""
    state, text = _xid(g.xid or 0, xids)
    answering = any(getattr(g, name) is not None for name in _LIVE)
    if not (g.xid_before_window and answering):
        return state, text
    return min(state, GpuState.WARNING, key=STATE_RANK.__getitem__), text + BEFORE_WINDOW


def _xids(g: GpuReading, xids: Mapping[int, XidInfo]) -> list[tuple[GpuState, str]]:
    """The last XID, and each other one seen over the XID window, said as such: the gauge
    holds only the last code, so a 48 (double-bit ECC) followed by a 43 would otherwise read
    as a mild 43 at once."""
    found = [_last_xid(g, xids)] if g.xid else []
    last = f"; the last XID is {g.xid}" if g.xid else ""
    found += [_xid(code, xids, f" (seen in {XID_WINDOW_TEXT}{last})")
              for code in g.recent_xids or () if code and code != g.xid]  # fmt: skip
    return found


#: health counters: one of them (or a temperature) known is something to judge a GPU on.
#: Not the XID gauge: DCGM reads 0 on every GPU that never had one, so its 0 says nothing
#: about the GPU being well (a non-zero XID is a finding of its own)
_EVIDENCE = ("dbe_errors", "sbe_errors", "remapped_uncorrectable", "remap_failure",
             "pcie_replays_1h", "nvlink_crc_1h", "nvlink_recovery_1h")  # fmt: skip


def _unknown(g: GpuReading) -> bool:
    """Neither a temperature nor a health counter (nor an XID): nothing says the GPU is
    well."""
    return (
        g.temperature_c is None
        and not g.xid
        and all(getattr(g, name) is None for name in _EVIDENCE)
    )


def assess(g: GpuReading, xids: Mapping[int, XidInfo]) -> GpuHealth:
    findings = _xids(g, xids) + _counted(g) + _throttling(g) + _temperature(g)
    findings.sort(key=lambda f: -STATE_RANK[f[0]])  # stable: same-rank reasons keep their order
    if not findings and _unknown(g):
        findings = [(GpuState.UNKNOWN, "no temperature and no health counter reported")]
    state = findings[0][0] if findings else GpuState.OK
    high = g.util_pct is not None and g.util_pct > UTIL_HIGH_PCT
    return GpuHealth(g, state, [text for _, text in findings], high, [s for s, _ in findings])


def worst_first(health: list[GpuHealth]) -> list[GpuHealth]:
    return sorted(health, key=lambda h: (-STATE_RANK[h.state], h.reading.key))


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

    gone = max(STATE_RANK.values()) + 1  # a GPU no longer reported first, then the worst

    def rank(c: GpuChange) -> tuple[int, str]:
        return (-(STATE_RANK[c.after] if c.after else gone), c.key)

    return sorted(out, key=rank)
