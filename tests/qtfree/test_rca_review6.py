"""RCA of a past moment reads only what was known then (review 6): an anomaly found after the
analysis time ranks at no severity learned later, an explanation tells the incident as it
stood then, an incident's own signals rise at their first seen (not the next whole minute),
one incident whose window is refused leaves the rest of its report, and an analysis that read
nothing says which sources could not be read."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from aiops_desktop.cli.args import Io
from aiops_desktop.cli.incidents import _rca
from aiops_desktop.models.fleet import FindingSeverity as S
from aiops_desktop.models.incidents import Incident, IncidentSignal
from aiops_desktop.services.assistant.explain import evidence_of
from aiops_desktop.services.intelligence.incidents import alert_signals
from aiops_desktop.services.intelligence.rca import RcaService, as_known
from aiops_desktop.services.intelligence.rca_topology import TopologyRead
from aiops_desktop.services.outputs.reports import _incidents
from analysis.incidents import group, place_of
from analysis.reports.build import rca_section
from collectors.alertmanager import parse_alert

T = datetime(2026, 12, 6, 11, 0, tzinfo=UTC)
END = T + timedelta(minutes=30)  # a capture's end: every anomaly of it found then
AT = T + timedelta(minutes=3)  # rca --incident X --at T+3min
WHOLE = "PTP clock FREERUN, not LOCKED; lasted 40 points from 11:00:00; still open at the end of the data"  # noqa: E501


class _NoSeries:
    def read(self, *_a: Any, **_k: Any) -> list[Any]:
        return []

    def rollup_resolutions(self, *_a: Any, **_k: Any) -> list[int]:
        return []


def _signal(key: str, source: str, entity: str, first: datetime, severity: S, reason: str,
            *, grouped: datetime = END, alert: str | None = None) -> IncidentSignal:  # fmt: skip
    return IncidentSignal(key=key, source=source, cluster="c1", subject=key.rpartition("|")[2],
                          severity=severity, reason=reason, first_seen=first, last_seen=END,
                          topology=place_of(""), entity=entity, grouped_at=grouped,
                          alert_name=alert)  # fmt: skip


def _incident(*signals: IncidentSignal, title: str = "t") -> Incident:
    return Incident(id="INC-1", title=title, severity=min(s.severity for s in signals),
                    opened_at=min(s.first_seen for s in signals), updated_at=END,
                    signals=list(signals))  # fmt: skip


@pytest.mark.asyncio
async def test_an_anomaly_found_later_ranks_at_no_severity_learned_after_the_analysis_time() -> (
    None
):
    """Two anomalies of a capture (found at its end) analysed as of T+3 min: the GPU's went
    CRITICAL after T+3 min or stayed a WARNING, and the same facts up to T+3 min give the same
    window and the same ranking either way (the severity it reached later anchored the window
    on it and weighed it 3 to 1)."""
    shown = []
    for later in (S.WARNING, S.CRITICAL):
        cpu = _signal("anomaly|node_cpu", "anomaly", "c1 node w1", T - timedelta(minutes=20),
                      S.WARNING, "node_cpu: the whole episode")  # fmt: skip
        gpu = _signal("anomaly|gpu_temperature", "anomaly", "c1 w1/gpu0", T, later,
                      "gpu_temperature: the whole episode")  # fmt: skip
        assert as_known(gpu, AT).severity is S.INFO  # the lowest: none learned later
        assert as_known(gpu, END).severity is later  # found by then: as found
        result = await RcaService(_NoSeries(), []).for_incident(_incident(gpu, cpu), at=AT)  # type: ignore[arg-type]
        shown.append((result.window.detect_s,
                      [(c.entity, round(c.confidence, 3)) for c in result.causes]))  # fmt: skip
    assert shown[0] == shown[1], shown


@pytest.mark.asyncio
async def test_an_explanation_of_a_past_moment_tells_the_incident_as_it_stood_then() -> None:
    """`rca --incident X --at PAST --explain`: the model is told the signals known then, each
    as known then (an anomaly found later by its metric and start, at no later severity), and
    the incident's title and severity of then; not the clock's FREERUN found at the end, nor
    "still open at the end of the data"."""
    anomaly = _signal("anomaly|ptp_clock_state", "anomaly", "c1 du-2/ens1f0", T, S.CRITICAL,
                      WHOLE)  # fmt: skip
    finding = _signal("PTP|c1|du-2/ens1f0", "PTP", "c1 du-2/ens1f0", END, S.CRITICAL,
                      "clock in FREERUN (clock class 165)")  # fmt: skip
    incident = _incident(
        anomaly, finding, title="c1: du-2/ens1f0: clock in FREERUN (clock class 165) (+1 signal)"
    )
    result = await RcaService(_NoSeries(), []).for_incident(incident, at=AT)  # type: ignore[arg-type]
    told = {item.id: item.text for item in evidence_of(result, incident) if item.id[0] == "I"}
    text = " ".join(told.values())
    for later in ("FREERUN", "still open", "lasted", "clock class", "11:30"):
        assert later not in text, (later, told)
    assert "severity INFO" in told["I1"] and "1 signals" in told["I1"], told
    assert "ptp_clock_state from 2026-12-06 11:00:00 UTC" in told["I2"], told
    assert set(told) == {"I1", "I2"}, told
    # analysed at the end, it is told as it is
    result = await RcaService(_NoSeries(), []).for_incident(incident, at=END)  # type: ignore[arg-type]
    told = {item.id: item.text for item in evidence_of(result, incident) if item.id[0] == "I"}
    assert "FREERUN" in told["I1"] and "severity CRITICAL" in told["I1"], told


@pytest.mark.asyncio
async def test_an_incidents_own_signals_rise_at_their_first_seen() -> None:
    """An XID at T+10 s and a node down at T+20 s, analysed at T+50 s: the node's signal
    (first seen in the last part-minute) rises and ranks, and each onset is its first seen,
    not the next whole minute after it (up to 59 s late)."""
    xid = _signal("GPU|c1|w1/gpu0", "GPU", "c1 w1/gpu0", T + timedelta(seconds=10), S.CRITICAL,
                  "XID 79 GPU has fallen off the bus")  # fmt: skip
    down = _signal("alert|c1|fp", "alert", "c1 node w1", T + timedelta(seconds=20), S.CRITICAL,
                   "node w1 is not ready", alert="KubeNodeNotReady")  # fmt: skip
    result = await RcaService(_NoSeries(), []).for_incident(  # type: ignore[arg-type]
        _incident(xid, down), at=T + timedelta(seconds=50)
    )
    onsets = {c.entity: (c.confidence, c.onset_s) for c in result.causes}
    assert onsets["c1 node w1"][0] > 0, onsets
    assert onsets["c1 node w1"][1] == down.first_seen.timestamp(), onsets
    assert onsets["c1 w1/gpu0"][1] == xid.first_seen.timestamp(), onsets
    # nothing is sampled after the analysis time
    window = result.window
    assert max(float(s) for c in result.causes for s in [c.onset_s or 0]) <= window.end_s


@pytest.mark.asyncio
async def test_one_incident_whose_window_is_refused_leaves_the_rest_of_the_report() -> None:
    """An Alertmanager says an alert started at 1970-01-01T00:00:10Z: its incident's RCA
    window reaches before 1970 and is refused; the incident report is still made, that
    incident's Root cause section saying why it was not analysed."""
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    alert = parse_alert({"fingerprint": "f1",
                         "labels": {"alertname": "TargetDown", "severity": "critical"},
                         "annotations": {"summary": "target down"},
                         "startsAt": "1970-01-01T00:00:10Z", "status": {"state": "active"}},
                        "c1")  # fmt: skip
    incidents, _ = group([], alert_signals({"c1": [alert]}, now), now)

    async def refresh() -> None:
        return None

    src = SimpleNamespace(now=lambda: now, capture=None, rca=RcaService(_NoSeries(), []),  # type: ignore[arg-type]
                          incidents=SimpleNamespace(refresh=refresh, repo=SimpleNamespace(
                              active=lambda resolved_since: incidents)))  # fmt: skip
    mine, analysed = await _incidents(src, {"c1"}, now - timedelta(hours=12), now, 3)  # type: ignore[arg-type]
    assert [i.id for i in mine] == [incidents[0].id]
    (report,) = analysed
    assert report.subject == incidents[0].id and report.causes == []
    assert "not analysed" in report.window and "before 1970" in report.window, report.window
    section, _ = rca_section(report)
    assert ("Window", report.window) in section.facts
    # its empty table says why, not that the window held nothing (nothing was asked)
    (causes,) = [t for t in section.tables if t.title.startswith("Likely causes")]
    assert causes.rows == []
    assert "not analysed" in causes.empty and "before 1970" in causes.empty, causes.empty
    assert "nothing was read" not in causes.empty


class _FailingReads:
    """Prometheus' PTP and SR-IOV queries and Loki refused."""

    async def read(self, clusters: list[str], window: Any) -> TopologyRead:
        return TopologyRead(unread=["ran-east: Prometheus 503 Service Unavailable",
                                    "ran-east logs: connection\nrefused"])  # fmt: skip


class _Registry:
    def targets(self, names: list[str]) -> tuple[list[Any], None]:
        return [SimpleNamespace(name=n) for n in names], None

    def members(self, _cluster: Any) -> list[str]:
        return []


@pytest.mark.asyncio
async def test_rca_that_read_nothing_says_what_could_not_be_read() -> None:
    """`rca` where nothing was read and the topology, logs and traces could not be read: why
    is said with "nothing was read" (exit 1), each source on one line of its own words."""
    at = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    core = SimpleNamespace(
        rca=RcaService(_NoSeries(), [], topology=_FailingReads()),  # type: ignore[arg-type]
        registry=_Registry(), now=lambda: at, capture=None,
    )  # fmt: skip
    args = argparse.Namespace(incident=None, cluster="ran-east", at=at, json=False, explain=False)
    out, err = io.StringIO(), io.StringIO()
    code = await _rca(core, args, Io(out, io.StringIO(), err))  # type: ignore[arg-type]
    said = err.getvalue()
    assert code == 1 and out.getvalue() == ""
    assert "nothing was read" in said, said
    assert "ran-east: Prometheus 503 Service Unavailable" in said, said
    assert "ran-east logs: connection refused" in said, said
    assert said.count("\n") == 1, said
