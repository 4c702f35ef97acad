"""GPU read models (docs/architecture.md#rules): one GPU as the readers saw it, its health, the
fleet's GPUs and one GPU's history. ``None`` is unknown (nvidia-smi ``[N/A]``), never 0.

The temperature and utilisation limits are defined here once: the health rules, the anomaly
rules, the wall and the heatmap all read them from this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from aiops_desktop.models.metrics import ClusterOutcome

if TYPE_CHECKING:  # annotations only: no numpy at import
    import numpy as np

TEMP_WARNING_C = 70.0
TEMP_CRITICAL_C = 80.0
UTIL_HIGH_PCT = 80.0
#: how far back the GPU reader looks for XIDs (``recent_xids`` in resources/gpu/queries.json
#: asks for this hour), in words for the reasons
XID_WINDOW_TEXT = "the last hour"
XID_WINDOW_S = 3600.0  # the same hour in seconds, and the window's step
XID_STEP_S = 15.0
#: GPU indexes a node can have (NVIDIA's own systems hold 8 or 16; 64 leaves room): the
#: heatmap is as wide as the largest index, so a label claiming GPU 200000 must not set it
MAX_GPU_INDEX = 64
_INDEX = re.compile(r"\d{1,3}", re.ASCII)


def gpu_index(label: str) -> int | None:
    """A GPU's index from its ``gpu`` label: a small decimal (0 to ``MAX_GPU_INDEX - 1``),
    else None. Sorting and drawing need a number, and a crafted label ("GPU-0", "-1",
    "200000") from one member must neither raise for the whole fleet nor size the heatmap."""
    if not isinstance(label, str) or not _INDEX.fullmatch(label):
        return None
    index = int(label)
    return index if index < MAX_GPU_INDEX else None


#: the pods (DCGM) or processes (nvidia-smi) shown on one GPU; more are counted ("and 12 more
#: pods"): a member's answer can name thousands for one GPU
PODS_SHOWN = 32


def shown_pods(pods: list[str], noun: str) -> list[str]:
    """The first ``PODS_SHOWN`` of a GPU's ``pods`` ("processes" for nvidia-smi's), and how
    many more there are."""
    if len(pods) <= PODS_SHOWN:
        return pods
    return [*pods[:PODS_SHOWN], f"and {len(pods) - PODS_SHOWN} more {noun}"]


class GpuState(StrEnum):
    """UNKNOWN: neither a temperature nor a health counter was reported: nothing says the
    GPU is well (no data must not read as healthy)."""

    OK = "OK"
    UNKNOWN = "UNKNOWN"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


@dataclass(frozen=True)
class XidInfo:
    code: int
    name: str
    meaning: str
    action: str
    severity: GpuState


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
    util_memory_pct: float | None = None  # memory controller busy (nvidia-smi utilization.memory)
    mem_used_mib: float | None = None
    mem_free_mib: float | None = None
    mem_total_mib: float | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    #: nvidia-smi's power.limit; DCGM's default counters have none, so unknown there
    power_limit_w: float | None = None
    sm_clock_mhz: float | None = None
    mem_clock_mhz: float | None = None
    tensor_active: float | None = None  # 0..1 where profiling metrics are exported
    xid: int | None = None  # the last XID seen (0: none)
    #: the XIDs seen over the XID window (``XID_WINDOW_TEXT``), oldest first: a critical
    #: XID followed by a mild one is not hidden by it; None where the window's query failed
    #: (unknown: not "none seen")
    recent_xids: list[int] | None = field(default_factory=list)
    #: the gauge held the last XID over the whole XID window: the XID happened before it
    #: (DCGM keeps a gauge's last code until the exporter restarts, so a days-old XID reads
    #: as the last one); False where the window was not read
    xid_before_window: bool = False
    #: when the last XID came (unix s: the first step of the gauge's last run of that code in
    #: the XID window); None where it came before the window or the window was not read
    xid_since: float | None = None
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

    @property
    def physical(self) -> tuple[str, str, str, str]:
        """The physical GPU: its MIG instances share it (DCGM repeats the device's fields,
        its temperature, XID and ECC counters, on each of them)."""
        return self.cluster, self.node, self.gpu, self.uuid

    @property
    def index(self) -> int | None:
        """The ``gpu`` label as a small index; None where it is anything else."""
        return gpu_index(self.gpu)


@dataclass
class GpuHealth:
    reading: GpuReading
    state: GpuState
    reasons: list[str]
    high_utilisation: bool
    #: each reason's own state, in order (empty where not known: each is then the GPU's)
    reason_states: list[GpuState] = field(default_factory=list)


#: worse is higher; UNKNOWN above OK (it is not known to be well), under a known fault
STATE_RANK = {GpuState.OK: 0, GpuState.UNKNOWN: 1, GpuState.WARNING: 2, GpuState.CRITICAL: 3}
#: a physical GPU (``GpuReading.physical``)
GpuKey = tuple[str, str, str, str]


def by_physical(gpus: list[GpuHealth]) -> dict[GpuKey, list[GpuHealth]]:
    """Each physical GPU's readings: a GPU split into MIG instances is one GPU, not one per
    instance (every count of GPUs is of these)."""
    found: dict[GpuKey, list[GpuHealth]] = {}
    for health in gpus:
        found.setdefault(health.reading.physical, []).append(health)
    return found


@dataclass
class GpuChange:
    """One GPU whose health differs between two moments. ``after`` None: the GPU was reported
    at the first moment and no longer is (off the bus, node down, exporter gone)."""

    key: str
    before: GpuState
    after: GpuState | None
    reasons: list[str]  # at the second moment; at the first where the GPU is gone


@dataclass
class GpuFleet:
    gpus: list[GpuHealth]  # worst first
    outcomes: list[ClusterOutcome]  # per cluster and field: what could not be read
    #: GPUs an earlier read reported and this one does not (off the bus, node or exporter
    #: gone), as the GPU page's presenter keeps them: a GPU must not simply vanish
    gone: list[GpuChange] = field(default_factory=list)
    #: what was read only in part, said beside the answer (no failure of a cluster)
    notes: list[str] = field(default_factory=list)
    #: of the notes, the answers that may not be all (a Thanos partial response)
    in_part: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Physical GPUs: a GPU split into MIG instances is one GPU (in its worst instance's
        state, at its temperature and utilisation), not one per instance."""
        worst: dict[tuple[str, str, str, str], GpuState] = {}
        for h in self.gpus:
            r = h.reading
            was = worst.get(r.physical)
            if was is None or STATE_RANK[h.state] > STATE_RANK[was]:
                worst[r.physical] = h.state
        by_state: dict[str, int] = {}
        for state in worst.values():
            by_state[state.value] = by_state.get(state.value, 0) + 1
        utils = self._per_physical(lambda r: r.util_pct)
        temps = self._per_physical(lambda r: r.temperature_c)
        total, used, unknown = self._memory()
        return {
            "gpus": len(worst),
            "nodes": len({(h.reading.cluster, h.reading.node) for h in self.gpus}),
            "clusters": len({h.reading.cluster for h in self.gpus}),
            "by_state": by_state,
            "avg_util_pct": round(sum(utils) / len(utils), 1) if utils else None,
            "avg_temperature_c": round(sum(temps) / len(temps), 1) if temps else None,
            "mem_total_mib": total,
            "mem_used_mib": used,
            "mem_unknown_gpus": unknown,
        }

    def _per_physical(self, value: Callable[[GpuReading], float | None]) -> list[float]:
        """Each physical GPU's largest known ``value`` across its MIG instances (none where no
        instance knows it): an instance repeats its device's temperature and utilisation
        (DCGM_FI_DEV_GPU_UTIL), so averaging readings weighed a GPU split in seven seven
        times."""
        found = []
        for gpu in by_physical(self.gpus).values():
            known = [v for h in gpu if (v := value(h.reading)) is not None]
            if known:
                found.append(max(known))
        return found

    def _memory(self) -> tuple[float | None, float | None, int]:
        """The memory (MiB) of the GPUs whose memory is known, total and used (None where no
        GPU's is: unknown, never 0), and how many physical GPUs are left out of them. Each
        physical GPU's memory is counted once: a MIG instance holding its own slice (DCGM
        since 3.1.3; nvidia-smi) adds its slice, equal or not to its neighbours' (four 1g.6gb
        of an A30 each say 6 GB); where every instance reports one total, larger than its
        profile's slice ("3g.40gb": 40 GB), each repeats its device's memory (the bundled
        sample: 81,559 MiB on each of two 3g.40gb) and the device is taken once. A GPU with
        an instance of unknown memory is left out, what its others hold still counted,
        unless they repeat the device's."""
        total = used = 0.0
        known, missing = False, 0
        for gpu in by_physical(self.gpus).values():
            readings = [h.reading for h in gpu]
            told = [
                r for r in readings if r.mem_total_mib is not None and r.mem_used_mib is not None
            ]
            if _repeats_device(told):
                total += max(r.mem_total_mib or 0.0 for r in told)
                used += max(r.mem_used_mib or 0.0 for r in told)
                known = True
                continue
            if len(told) < len(readings):
                missing += 1
            for r in told:
                known = True
                total += r.mem_total_mib or 0.0
                used += r.mem_used_mib or 0.0
        return (total, used, missing) if known else (None, None, missing)


#: a MIG profile's memory ("3g.40gb", "1g.10gb+me", "1c.3g.40gb": GB); the size starts its
#: run of digits and is at most 4 of them: a crafted label of 40 kB of digits is searched in
#: linear time (``\d+`` retried from each digit: quadratic, seconds on the UI thread)
_PROFILE_GB = re.compile(r"(?<!\d)(\d{1,4})gb", re.ASCII | re.IGNORECASE)
#: an instance reporting more than its profile's memory by this much reports its device's: a
#: slice reports a little over its nominal size (3g.40gb: 40,320 MiB), the smallest device
#: split into instances holds at least twice any slice but a whole-device one (7g.80gb)
_SLICE_SLACK = 1.25


def _repeats_device(instances: list[GpuReading]) -> bool:
    """Whether MIG instances of one GPU each report the whole device's memory: all the same
    total, each above what its profile holds. Not where a profile says no size: equal totals
    are then slices of one size (DCGM's MIG memory is per instance since 3.1.3)."""
    if not instances or any(r.mig_id is None for r in instances):
        return False
    if len({r.mem_total_mib for r in instances}) != 1:
        return False
    for r in instances:
        size = _PROFILE_GB.search(r.mig_profile or "")
        if size is None or (r.mem_total_mib or 0.0) <= int(size[1]) * 1024 * _SLICE_SLACK:
            return False
    return True


@dataclass
class GpuHistory:
    reading: GpuReading
    window: timedelta
    #: field (``resources/gpu/history.json``) -> (timestamps s, values); no data: left out
    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    outcomes: list[ClusterOutcome] = field(default_factory=list)
    note: str = ""  # where the history came from, when not the live exporter
