"""RCA of a past moment reads only what was known then, and says when it compared nothing:
a signal is read with its last seen as of then, an incident older than raw retention is read
from the rollups (not ranked without series), an anomaly found after the analysis time is
named by its metric and start (not by how long it went on past it), and series read with no
baseline to compare against are no "nothing deviated" all-clear."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from aiops_desktop.cli.args import Io, Printable
from aiops_desktop.cli.incidents import _print
from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.incidents import Incident, IncidentSignal
from aiops_desktop.services.intelligence.rca import RcaService, as_known, nothing_read
from aiops_desktop.store.database import Database
from aiops_desktop.store.series import SeriesBatch, SeriesStore

AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _m(minutes: float) -> datetime:
    return AT + timedelta(minutes=minutes)


class _NoSeries:
    def read(self, *_a: Any, **_k: Any) -> list[Any]:
        return []


def _signal(key: str, entity: str, first: datetime, last: datetime, grouped: datetime, *,
            source: str = "PTP", reason: str = "clock in HOLDOVER",
            severity: FindingSeverity = FindingSeverity.WARNING) -> IncidentSignal:  # fmt: skip
    return IncidentSignal(key=key, source=source, cluster="c1", subject=entity.split(" ", 1)[1],
                          severity=severity, reason=reason, first_seen=first, last_seen=last,
                          entity=entity, grouped_at=grouped)  # fmt: skip


def _incident(*signals: IncidentSignal) -> Incident:
    return Incident(id="INC-1", title="t", severity=signals[0].severity,
                    opened_at=min(s.first_seen for s in signals), updated_at=AT,
                    signals=list(signals))  # fmt: skip


def test_a_signal_is_read_as_it_was_known_at_the_analysis_time() -> None:
    """Its version then and its last seen no later than then, as a report of a past period
    reads it (``as_it_stood``): a signal seen again after the analysis time is not read as
    seen after it."""
    seen = _signal("PTP|a", "c1 du-1/ens1f0", _m(-60), _m(10), _m(-60))
    assert as_known(seen, AT).last_seen == AT
    assert as_known(seen, _m(20)).last_seen == _m(10)
    assert as_known(seen, AT).model_copy(update={"last_seen": _m(10)}) == seen


@pytest.mark.asyncio
async def test_an_incident_past_raw_retention_is_read_from_the_rollups(tmp_path: Path) -> None:
    """Three days on (raw samples are kept 48 h, rollups 30 days; a resolved incident is
    listed for 7), node n1's CPU jump is still ranked from the 5-minute rollups; a rollup
    bucket that ends after the analysis time is not read (its average holds what came
    later)."""
    t0_ms = int(AT.timestamp() * 1000)  # on a 5-minute bucket's edge
    ts = np.arange(t0_ms - 60 * 60_000, t0_ms + 20 * 60_000, 15_000)
    rng = np.random.default_rng(1)
    jumped = 10 + rng.normal(0, 0.5, ts.size)
    jumped[ts >= t0_ms - 60_000] = 95  # a minute before the incident's signal
    late = 10 + rng.normal(0, 0.5, ts.size)
    late[ts >= t0_ms + 270_000] = 95  # after the analysis time, inside a bucket begun before
    db = Database(tmp_path / "c.db", batch_max_delay_s=0)
    try:
        store = SeriesStore(db)
        batches = [SeriesBatch("c1", "node_cpu", {"node": "n1"}, ts, jumped),
                   SeriesBatch("c1", "node_cpu", {"node": "n2"}, ts, late)]  # fmt: skip
        store.append(batches).result()
        store.flush().result()
        store.apply_retention(AT + timedelta(days=3)).result()
        assert store.read("node_cpu", cluster="c1") == []  # the raw samples are gone
        panels = [SimpleNamespace(id="node_cpu", rca_kind="resource", counted=False)]
        signal = IncidentSignal(key="alert|c1|x", source="alert", cluster="c1",
                                subject="KubePodNotReady", severity=FindingSeverity.WARNING,
                                reason="pod not ready", first_seen=AT, last_seen=_m(20),
                                alert_name="KubePodNotReady",
                                entity="c1 pod app/web-1")  # fmt: skip
        rca = RcaService(store, panels)  # type: ignore[arg-type]
        result = await rca.for_incident(_incident(signal), at=_m(4))
    finally:
        db.close()
    assert result.signals_read == 3
    causes = {c.entity: c for c in result.causes}
    n1 = causes["c1 node n1"]
    assert n1.evidence[0].signal.startswith("node_cpu") and n1.evidence[0].z > 3
    assert n1.evidence[0].peak > 20
    # n2 rose 4.5 min after the incident's signal, after the analysis time (4 min): unread
    assert all(e.peak < 15 for e in causes["c1 node n2"].evidence)
    for series in result.charts.values():
        for stamps, _values in series.values():
            assert stamps.max() <= result.window.end_s


class _NewSeries:
    """A pod whose series began 2 minutes before the analysis time: nothing before it to
    compare with."""

    def read(self, metric: str, *, cluster: str | None = None, start_ms: int = 0,
             end_ms: int = 2**62, resolution_s: int = 0) -> list[Any]:  # fmt: skip
        if resolution_s:
            return []
        ts = np.arange(int(_m(-2).timestamp() * 1000), end_ms + 1, 15_000)
        return [SimpleNamespace(labels={"namespace": "ran", "pod": "du-0"}, timestamps_ms=ts,
                                values=np.full(ts.size, 1e9))]  # fmt: skip

    def rollup_resolutions(self, *_a: Any, **_k: Any) -> list[int]:
        return []


@pytest.mark.asyncio
async def test_series_with_no_baseline_are_no_all_clear() -> None:
    """Read, but none with a baseline (a new pod, a panel added, a poller gap): what the CLI,
    the RCA page and the assistant's tool say is that nothing could be compared, not that
    nothing deviated."""
    panels = [SimpleNamespace(id="pod_memory", rca_kind="resource", counted=False)]
    rca = RcaService(_NewSeries(), panels)  # type: ignore[arg-type]
    result = await rca.for_cluster("c1", ["c1"], AT)
    assert result.signals_read == 1 and result.causes == []
    said = nothing_read(result)
    assert said is not None and "no signal had a baseline to compare against" in said, said
    out = io.StringIO()
    _print(result, Io(out=Printable(out), stdin=io.StringIO(), err=Printable(io.StringIO())))
    assert "nothing deviated" not in out.getvalue()
    assert "no signal had a baseline to compare against" in out.getvalue()
    # one with a baseline that did not move is compared: ranked (confidence 0), no refusal
    flat = _NewSeries()
    flat.read = lambda *_a, **k: [SimpleNamespace(  # type: ignore[method-assign]
        labels={"pod": "du-0"}, timestamps_ms=(t := np.arange(
            int(_m(-40).timestamp() * 1000), k["end_ms"] + 1, 15_000)),
        values=np.full(t.size, 5.0))] if not k.get("resolution_s") else []  # fmt: skip
    result = await RcaService(flat, panels).for_cluster("c1", ["c1"], AT)  # type: ignore[arg-type]
    assert [c.confidence for c in result.causes] == [0.0]
    assert nothing_read(result) is None


FUTURE = "PTP clock FREERUN, not LOCKED; lasted 40 points from 11:59:00; still open at the end of the data"  # noqa: E501


@pytest.mark.asyncio
async def test_an_anomaly_found_after_the_analysis_time_is_named_by_its_start_only() -> None:
    """The sample capture's anomalies are found at its end (11:32:55) from the data since
    11:13; analysed as of 11:14 they are ranked (their onset is in the data by then), named
    by their metric and start, not by how long they went on and that they were still open at
    the end of the data. A finding grouped later keeps its words (the state it names held
    from its first seen): its runbook check stays."""
    anomaly = _signal("anomaly|c1|ptp_clock_state", "c1 du-2/ens1f0", _m(-1), _m(20), _m(20),
                      source="anomaly", reason=FUTURE,
                      severity=FindingSeverity.CRITICAL)  # fmt: skip
    anomaly = anomaly.model_copy(update={"subject": "ptp_clock_state"})
    xid = _signal("GPU|c1|gpu", "c1 w1/gpu0", _m(-1), _m(20), _m(20), source="GPU",
                  reason="XID 79 GPU has fallen off the bus",
                  severity=FindingSeverity.CRITICAL)  # fmt: skip
    rca = RcaService(_NoSeries(), [])  # type: ignore[arg-type]
    result = await rca.for_incident(_incident(anomaly, xid), at=AT)
    named = [e.signal for c in result.causes for e in c.evidence]
    assert not [n for n in named if "lasted" in n or "still open" in n or "FREERUN" in n], named
    assert "anomaly: ptp_clock_state from 2026-01-05 11:59:00 UTC" in named, named
    assert [e.key for e in result.checks["c1 w1/gpu0"]] == ["XID 79"]
    # analysed once it was found, it is named by its whole explanation
    result = await rca.for_incident(_incident(anomaly, xid), at=_m(20))
    assert f"anomaly: {FUTURE}" in [e.signal for c in result.causes for e in c.evidence]


def test_a_window_across_raw_retention_has_one_sample_a_time(tmp_path: Path) -> None:
    """Where raw samples begin inside a rollup bucket, that bucket (its average holds samples
    also read raw) is not read: it was stamped at the first raw sample's time, two samples at
    one time counting twice in the baseline."""
    import numpy as np

    from aiops_desktop.services.intelligence.rca import window_series
    from aiops_desktop.store.database import Database
    from aiops_desktop.store.series import SeriesBatch, SeriesStore

    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    now_ms = int(now.timestamp() * 1000)
    ts = np.arange(now_ms - 50 * 3600_000 + 157_000, now_ms, 15_000)  # chunks end off edges
    values = 10 + np.random.default_rng(1).normal(0, 0.5, ts.size)
    db = Database(tmp_path / "c.db", batch_max_delay_s=0)
    try:
        store = SeriesStore(db)
        store.append([SeriesBatch("c1", "node_cpu", {"node": "n1"}, ts, values)]).result()
        store.flush().result()
        store.apply_retention(now).result()
        first_raw = int(store.read("node_cpu", cluster="c1")[0].timestamps_ms[0])
        (data,) = window_series(store, "node_cpu", "c1", first_raw - 30 * 60_000,
                                first_raw + 5 * 60_000)  # fmt: skip
        stamps = data.timestamps_ms
        assert np.all(np.diff(stamps) > 0)  # ascending, each time once
        assert stamps[0] < first_raw - 20 * 60_000  # the rollups before it are read
    finally:
        db.close()
