"""The fleet overview's read model: one tile per cluster (or member of a fleet hub), with its
state, health score, alerts, a sparkline and the age of its data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from aiops_desktop.models.enums import AlertSeverity, FindingSeverity

if TYPE_CHECKING:  # annotations only: no numpy at import
    import numpy as np


@dataclass
class TileModel:
    name: str
    title: str
    state: str
    health_score: int | None
    alerts: dict[AlertSeverity, int]
    spark: tuple[np.ndarray, np.ndarray] | None
    spark_title: str
    freshness: str
    stale: bool
    via_hub: str | None = None
    last_error: str | None = None
    findings: str = ""  # per-domain counts: "GPU 2 ✖, PTP 1 ✖, anomalies 3"
    worst: str = ""  # the worst finding (or what is not known), one line


# -- the fleet's one truth (services/fleet) ----------------------------------------------------
class Domain(StrEnum):
    """Where a finding comes from."""

    ALERTS = "alerts"
    GPU = "GPU"
    PTP = "PTP"
    SRIOV = "SR-IOV"
    KUBERNETES = "Kubernetes"
    ANOMALIES = "anomalies"


SEVERITY_RANK = {FindingSeverity.CRITICAL: 0, FindingSeverity.WARNING: 1, FindingSeverity.INFO: 2}


@dataclass(frozen=True)
class Finding:
    """One thing the app found wrong with a cluster: ``subject`` is what it is about (a GPU,
    a port, an alert), ``reason`` one line, ``since`` when it began (None: not known);
    ``stale``: the last read of its source failed, so this is what was last known (kept, not
    dropped: an unread CRITICAL must not read as OK, nor be told as new once read again);
    ``key``: what tells it from another finding of its domain with the same subject (an
    alert's fingerprint, an anomaly's series), where the subject alone does not ("" where it
    does)."""

    domain: Domain
    severity: FindingSeverity
    subject: str
    reason: str
    since: datetime | None = None
    stale: bool = False
    key: str = ""

    @property
    def identity(self) -> str:
        """The same finding, read again, has the same identity (within its cluster and
        domain); two findings have two."""
        return self.key or self.subject

    def as_json(self) -> dict[str, str | bool | None]:
        return {
            "domain": self.domain.value,
            "severity": self.severity.value,
            "subject": self.subject,
            "reason": self.reason,
            "since": self.since.isoformat() if self.since else None,
            "stale": self.stale,
        }

    def line(self) -> str:
        """The finding in one line, as tiles and the CLI quote it ("last known" when stale)."""
        return f"{self.subject}: {self.reason}" + (" (last known)" if self.stale else "")


class Health(StrEnum):
    """A cluster's state as the fleet shows it. Unknown is never OK: NO DATA, STALE, OFFLINE
    and NOT CONFIGURED are said in their own words (and drawn grey, not green)."""

    CRITICAL = "CRITICAL"
    OFFLINE = "OFFLINE"
    STALE = "STALE"
    DEGRADED = "DEGRADED"
    NO_DATA = "NO DATA"
    NOT_CONFIGURED = "NOT CONFIGURED"
    OK = "OK"


#: the order tiles, the wall and the CLI list clusters in: worst first
HEALTH_RANK = {h: i for i, h in enumerate(Health)}


class Coverage(StrEnum):
    """What is known of one source (metrics, alerts, Kubernetes) of a cluster."""

    READ = "read"
    RECORDED = "recorded"  # a capture's answers
    NOT_CONFIGURED = "not configured"
    NO_DATA = "no data yet"
    STALE = "stale"
    UNREACHABLE = "unreachable"


@dataclass
class ClusterTruth:
    """A registered cluster or a member of a fleet hub (``hub``), as the app knows it now."""

    name: str
    title: str
    hub: str | None
    state: Health
    health_score: int | None
    data_age_s: float | None
    findings: list[Finding]
    coverage: dict[str, Coverage]
    last_error: str | None = None
    #: when the oldest of its unreachable or stale sources was last read (None: never, or
    #: none is lost): what "STALE since 14:05" says
    stale_since: datetime | None = None
    unread: dict[str, str] = field(default_factory=dict)  # source -> why it was not read

    def lost(self) -> list[str]:
        """Its sources that are unreachable or stale: what is shown of them is old."""
        return [k for k, v in self.coverage.items() if v in (Coverage.UNREACHABLE, Coverage.STALE)]

    def unknown(self) -> list[str]:
        """Its sources neither read nor recorded, in words ("alerts not configured"): what
        is not known of it, so "no findings" is not said (the wall's and the Fleet page's)."""
        return [f"{k} {v.value}" for k, v in self.coverage.items()
                if v not in (Coverage.READ, Coverage.RECORDED)]  # fmt: skip

    def counts(self) -> dict[Domain, dict[FindingSeverity, int]]:
        out: dict[Domain, dict[FindingSeverity, int]] = {}
        for f in self.findings:
            per = out.setdefault(f.domain, {})
            per[f.severity] = per.get(f.severity, 0) + 1
        return out

    def worst(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    def summary(self) -> str:
        """Per-domain counts, worst first: "GPU 2 ✖, PTP 1 ✖, anomalies 3"."""
        parts = []
        for domain, per in self.counts().items():
            critical = per.get(FindingSeverity.CRITICAL, 0)
            warning = per.get(FindingSeverity.WARNING, 0)
            info = per.get(FindingSeverity.INFO, 0)
            marks = [f"{critical} ✖"] if critical else []
            marks += [f"{warning} ⚠"] if warning else []
            marks += [f"{info}"] if info and not marks else []
            parts.append(f"{domain.value} {' '.join(marks)}")
        return ", ".join(parts)

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "hub": self.hub,
            "state": self.state.value,
            "health_score": self.health_score,
            "data_age_s": None if self.data_age_s is None else round(self.data_age_s, 1),
            "coverage": {k: v.value for k, v in self.coverage.items()},
            "findings": [f.as_json() for f in self.findings],
            "summary": self.summary(),
            "last_error": self.last_error,
            "stale_since": self.stale_since.isoformat() if self.stale_since else None,
        }


@dataclass
class FleetTruth:
    at: datetime
    clusters: list[ClusterTruth] = field(default_factory=list)

    def get(self, name: str) -> ClusterTruth | None:
        return next((c for c in self.clusters if c.name == name), None)

    def critical(self) -> dict[tuple[str, str, str], str]:
        """Every CRITICAL finding: (cluster, domain, identity) -> "ran-east: gpu-1/gpu3: XID 79
        …" (what a notification says). Keyed by identity, not subject: two pods firing one
        alert, or two ports breaking one rule, are two."""
        return {
            (c.name, f.domain.value, f.identity): f"{c.name}: {f.subject}: {f.reason}"
            for c in self.clusters
            for f in c.findings
            if f.severity is FindingSeverity.CRITICAL
        }


def new_critical(before: FleetTruth | None, now: FleetTruth) -> list[str]:
    """The CRITICAL findings of ``now`` that ``before`` did not have (none the first time:
    what was already wrong when the app opened is on screen, not news)."""
    if before is None:
        return []
    seen = before.critical()
    return [text for key, text in now.critical().items() if key not in seen]
