"""RCA of an incident: the findings' runbook entries are a domain's own (a node's inlet
temperature is not the GPU's), the window is anchored on the onset of the incident's worst
signals (a days-old warning does not hide the XID that just joined it), and a window outside
the times that can be read (a source's zero time, year 1) is refused in words."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from aiops_desktop.models.errors import UsageError
from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.incidents import RCA_WINDOW_BEFORE, Incident, IncidentSignal
from aiops_desktop.services.intelligence.incidents import event_signals
from aiops_desktop.services.intelligence.rca import RcaService
from aiops_desktop.services.intelligence.rca_topology import RcaTopology
from aiops_desktop.settings import resources_dir
from analysis.incidents import group, place_of
from analysis.rca.runbook import Runbook

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class _NoSeries:
    """A series store that holds nothing: the incident's own signals are all RCA reads."""

    def read(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []


def _rca() -> RcaService:
    return RcaService(_NoSeries(), [])  # type: ignore[arg-type]


def _signal(key: str, source: str, subject: str, reason: str, at: datetime, *,
            severity: FindingSeverity = FindingSeverity.WARNING, alert: str | None = None,
            entity: str | None = None) -> IncidentSignal:  # fmt: skip
    return IncidentSignal(
        key=key, source=source, cluster="c1", subject=subject, severity=severity, reason=reason,
        first_seen=at, last_seen=NOW, topology=place_of(subject), alert_name=alert,
        entity=entity or f"c1 {subject}",
    )  # fmt: skip


def _incident(*signals: IncidentSignal) -> Incident:
    first = min(s.first_seen for s in signals)
    worst = min(signals, key=lambda s: ["CRITICAL", "WARNING", "INFO"].index(s.severity.value))
    return Incident(id="INC-1", title="t", severity=worst.severity, opened_at=first,
                    updated_at=NOW, signals=list(signals))  # fmt: skip


@pytest.fixture(scope="module")
def runbook() -> Runbook:
    base = resources_dir()
    return Runbook(json.loads((base / "rca" / "runbook.json").read_text()),
                   json.loads((base / "gpu" / "xid.json").read_text())["xids"])  # fmt: skip


def test_a_finding_s_entry_is_for_its_own_domain_only(runbook: Runbook) -> None:
    """The GPU's "temperature" and "throttled" are what a GPU finding says; a server's inlet
    temperature alert or a container's CPU throttling is no GPU's (no GPU advice)."""
    for text in ("Server inlet temperature is above 45 C NodeInletTemperatureHigh",
                 "Container api in payments/api-1 is throttled 60% of the time "
                 "ContainerCpuThrottled"):  # fmt: skip
        assert runbook.for_text(text) == [], text
        assert runbook.for_text(text, domain="alert") == [], text
        assert runbook.for_text(text, domain="PTP") == [], text
    gpu = [e.key for e in runbook.for_text("temperature 92 C (critical >= 90 C); throttled "
                                          "(thermal)", domain="GPU")]  # fmt: skip
    assert gpu == ["temperature", "throttled"]
    assert [e.key for e in runbook.for_text("offset 350 ns beyond +/-100 ns", domain="PTP")] == [
        "PTP offset"
    ]
    assert runbook.for_text("offset 350 ns beyond +/-100 ns", domain="GPU") == []
    # the other sections stay what any text names: XID codes, clock classes, pod reasons,
    # alert names
    named = runbook.for_text("XID 79; clock class 248; CrashLoopBackOff; NodeOutOfPtpSync")
    assert [e.key for e in named] == ["XID 79", "clock class 248", "CrashLoopBackOff",
                                      "NodeOutOfPtpSync"]  # fmt: skip
    # every finding entry names the domain whose findings it explains
    document = json.loads((resources_dir() / "rca" / "runbook.json").read_text())
    assert {e["domain"] for e in document["finding"].values()} <= {
        "GPU", "PTP", "SR-IOV", "Kubernetes"
    }  # fmt: skip


@pytest.mark.asyncio
async def test_an_alert_about_a_node_s_temperature_gets_no_gpu_check() -> None:
    hot = _signal("alert|c1|fp1", "alert", "NodeInletTemperatureHigh",
                  "Server inlet temperature is above 45 C", NOW - timedelta(minutes=2),
                  alert="NodeInletTemperatureHigh", entity="c1 node du-1")  # fmt: skip
    result = await _rca().for_incident(_incident(hot), at=NOW)
    assert [c.entity for c in result.causes] == ["c1 node du-1"]
    assert result.checks == {}
    gpu = _signal("GPU|c1|du-1/gpu0|temperature", "GPU", "du-1/gpu0",
                  "temperature 92 C (critical >= 90 C)", NOW - timedelta(minutes=2))  # fmt: skip
    result = await _rca().for_incident(_incident(gpu), at=NOW)
    assert {k: [e.key for e in v] for k, v in result.checks.items()} == {
        "c1 du-1/gpu0": ["temperature"]
    }


@pytest.mark.asyncio
async def test_rca_is_anchored_on_the_onset_of_the_incident_s_worst_signals() -> None:
    """A WARNING alert firing for 3 days, then an XID 79 on the node: the analysis reads the
    half hour before the XID (it ranks, with its check), not 3 days ago."""
    old = _signal("alert|c1|fp1", "alert", "NodeClockSkewDetected", "clock skew",
                  NOW - timedelta(days=3), alert="NodeClockSkewDetected",
                  entity="c1 node w1")  # fmt: skip
    xid = _signal("GPU|c1|w1/gpu0|XID", "GPU", "w1/gpu0", "XID 79 GPU has fallen off the bus",
                  NOW - timedelta(minutes=1), severity=FindingSeverity.CRITICAL)  # fmt: skip
    result = await _rca().for_incident(_incident(old, xid), at=NOW)
    assert result.window.detect_s == xid.first_seen.timestamp()
    assert "c1 w1/gpu0" in [c.entity for c in result.causes]
    assert [e.key for e in result.checks["c1 w1/gpu0"]] == ["XID 79"]
    # a cascade of equals is read from its first (within the window's baseline of the newest)
    first = NOW - timedelta(minutes=20)
    cascade = [_signal(f"anomaly|{n}", "anomaly", f"n{n}", "why", first + timedelta(minutes=n))
               for n in (0, 5, 10)]  # fmt: skip
    result = await _rca().for_incident(_incident(*cascade), at=NOW)
    assert result.window.detect_s == first.timestamp()
    # ...and equals days apart from the newest: the newest's onset
    apart = [old.model_copy(update={"first_seen": NOW - RCA_WINDOW_BEFORE * 2}), cascade[2]]
    result = await _rca().for_incident(_incident(*apart), at=NOW)
    assert result.window.detect_s == cascade[2].first_seen.timestamp()
    # one long-running signal: its first seen, as ever
    result = await _rca().for_incident(_incident(old), at=NOW)
    assert result.window.detect_s == old.first_seen.timestamp()


@pytest.mark.asyncio
async def test_a_window_outside_the_times_that_can_be_read_is_refused_in_words() -> None:
    """An incident whose signal began in year 1 (events' times are bounded as they are read,
    but a stored incident comes from a file: a capture can hold one): its RCA says the time
    it cannot read, not "year 0 is out of range"."""
    event = {"type": "Warning", "reason": "BackOff", "message": "Back-off restarting",
             "firstTimestamp": "2026-01-05T11:50:00Z", "lastTimestamp": "2026-01-05T11:59:00Z",
             "involvedObject": {"kind": "Pod", "namespace": "ran-du", "name": "du-l1-0"},
             "metadata": {"uid": "u1"}}  # fmt: skip
    (signal,) = event_signals("c1", [event], NOW)
    year_one = signal.model_copy(update={"first_seen": datetime(1, 1, 1, tzinfo=UTC)})
    (incident,), _ = group([], [year_one], NOW)
    registry = SimpleNamespace(targets=lambda names: ([SimpleNamespace(name=n) for n in names],
                                                      None))  # fmt: skip
    topology = RcaTopology(None, registry)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"INC-.*1-01-01 00:00 UTC.*cannot be read"):
        await RcaService(_NoSeries(), [], topology=topology).for_incident(  # type: ignore[arg-type]
            incident, at=NOW
        )
    epoch = datetime(1970, 1, 1, 0, 10, tzinfo=UTC)
    with pytest.raises(UsageError, match=r"1970-01-01 00:05 UTC.*cannot be read"):
        await _rca().for_cluster("c1", ["c1"], epoch)
    with pytest.raises(UsageError, match="cannot be read"):
        await _rca().for_cluster("c1", ["c1"], datetime(1, 1, 1, 0, 1, tzinfo=UTC))
