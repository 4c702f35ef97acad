"""Incidents and their RCA at the edges a review found: a Kubernetes event's or a series'
hostile text (line breaks, escapes, bidi overrides, 200,000 characters) made one short printable
line before it is kept or ranked, with two names alike in what is kept never merged; an
acknowledgement refused in a capture; and an acknowledgement read and written in one write
transaction, never over another process's newer grouping."""

from __future__ import annotations

import contextlib
import re
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.enums import IncidentStatus
from aiops_desktop.models.errors import UsageError
from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.incidents import Incident, IncidentSignal
from aiops_desktop.services.intelligence.incidents import (
    ENTITY_MOST,
    REASON_MOST,
    IncidentService,
    event_signals,
)
from aiops_desktop.services.intelligence.rca import RcaService
from aiops_desktop.store import incidents as store_incidents
from aiops_desktop.store.database import Database
from aiops_desktop.store.incidents import IncidentRepository
from analysis.incidents import group

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
#: what must never reach a stored signal or an RCA name: line breaks, ESC and the other C0/C1
#: controls, the bidi overrides
UNCLEAN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
HOSTILE = "Back-off\nFAKE: all clear\x1b[2J\u202eredlof-kcab"


def _event(uid: str, name: str, *, message: str = HOSTILE, namespace: str = "ran",
           reason: str = "BackOff") -> dict[str, Any]:  # fmt: skip
    return {"type": "Warning", "reason": reason, "message": message,
            "lastTimestamp": (NOW - timedelta(minutes=1)).isoformat(),
            "involvedObject": {"kind": "Pod", "namespace": namespace, "name": name},
            "metadata": {"uid": uid}}  # fmt: skip


# -- 1: hostile text of an event ---------------------------------------------------------------
def test_an_event_s_words_and_names_are_one_short_printable_line() -> None:
    """The message's newline, ESC and RTL override and the object's name's are gone from the
    reason, the subject and the entity; a 200,000-character message and name are cut."""
    huge = "\u202e" + "m\n" * 100_000
    [s] = event_signals("east", [_event("u1", "du-0\u202e0-ud\n" + "x" * 200_000, message=huge,
                                        namespace="ran\x1b[31m", reason="Back\noff" * 1000)],
                        NOW)  # fmt: skip
    for text in (s.reason, s.subject, s.entity, *s.topology):
        assert not UNCLEAN.search(text), repr(text[:80])
    assert len(s.reason) <= REASON_MOST
    assert len(s.subject) <= ENTITY_MOST and len(s.entity) <= ENTITY_MOST
    [plain] = event_signals("east", [_event("u2", "du-0")], NOW)
    assert plain.subject == "pod ran/du-0" and plain.entity == "east pod ran/du-0"  # untouched
    assert plain.reason == "BackOff: Back-off FAKE: all clear[2Jredlof-kcab"


def test_event_names_alike_but_for_what_is_cut_or_cleaned_stay_two_things() -> None:
    """A name cut at its most, or rid of an override, is not another pod's name: two events
    about two pods (alike for the first 400 characters; "du-0<RLO>0-ud" and "du-00-ud") are
    about two entities, ranked as two causes, not one."""
    long_a, long_b = "p" * 500 + "a", "p" * 500 + "b"
    found = event_signals("east", [_event("u1", long_a), _event("u2", long_b),
                                   _event("u3", "du-0\u202e0-ud"), _event("u4", "du-00-ud")],
                          NOW)  # fmt: skip
    entities = {s.key: s.entity for s in found}
    assert len(set(entities.values())) == 4, entities
    assert entities["event|east|u4"] == "east pod ran/du-00-ud"  # the real one, as it is


# -- 1: hostile text of a series' labels and of an incident in the RCA -------------------------
class _Series:
    """Stored series of two services named alike for 200,000 characters and a hostile one;
    each steps up where the window's incident begins."""

    def __init__(self, services: list[str], start_s: float) -> None:
        self._services = services
        self._start_s = start_s

    def read(self, metric: str, **_kw: object) -> list[Any]:
        ts = np.arange(self._start_s, self._start_s + 2400, 60.0)
        out = []
        for n, service in enumerate(self._services):
            values = np.where(ts >= self._start_s + 1800, 50.0 + n, 1.0)
            out.append(_Data({"service": service, "detail": "a\nb\x1bc"}, ts * 1000, values))
        return out


class _Data:
    def __init__(self, labels: dict[str, str], ts_ms: np.ndarray, values: np.ndarray) -> None:
        self.labels, self.timestamps_ms, self.values = labels, ts_ms, values


def _clean_result_names(result: Any) -> list[str]:
    names = [c.entity for c in result.causes]
    for c in result.causes:
        assert not UNCLEAN.search(c.entity) and len(c.entity) <= ENTITY_MOST, repr(c.entity[:80])
        for e in c.evidence:
            assert not UNCLEAN.search(e.signal) and len(e.signal) <= ENTITY_MOST, e.signal[:80]
    for entity, charts in result.charts.items():
        assert entity in names  # each chart still belongs to its cause
        for signal in charts:
            assert not UNCLEAN.search(signal) and len(signal) <= ENTITY_MOST
    return names


@pytest.mark.asyncio
async def test_rca_cause_and_evidence_names_from_labels_are_short_printable_and_apart() -> None:
    at = NOW
    start = at.timestamp() - 35 * 60
    alike = "checkout\u202e" + "x" * 200_000
    series = _Series([alike + "A", alike + "B", "cart\u202etrac"], start)
    panel = Panel(id="error_rate", title="Errors", promql="errors", rca_kind="errors")
    result = await RcaService(series, [panel]).for_cluster("east", ["east"], at)  # type: ignore[arg-type]
    names = _clean_result_names(result)
    assert len(names) == 3 and len(set(names)) == 3, names  # the two alike stay two causes
    assert {n[:20] for n in names} == {"east service checkou", "east service carttra"}
    shown = result.shown()
    assert [r.entity for r in shown.causes] == names
    assert set(shown.charts) <= set(names)
    causes: Any = result.as_json()["causes"]
    assert [c["entity"] for c in causes] == names


@pytest.mark.asyncio
async def test_rca_of_a_hostile_event_names_its_cause_and_evidence_cleanly() -> None:
    incidents, _ = group([], event_signals("east", [_event("u1", "du-0\u202e0-ud")], NOW), NOW,
                         unread=set(), taken=set())  # fmt: skip
    result = await RcaService(_Series([], 0.0), []).for_incident(incidents[0], at=NOW)  # type: ignore[arg-type]
    [cause] = result.causes
    _clean_result_names(result)
    [row] = result.shown().causes
    assert not UNCLEAN.search(row.entity + " ".join(row.evidence)), row
    assert "Kubernetes: BackOff: Back-off FAKE: all clear" in cause.evidence[0].signal


# -- 4: no acknowledgement in a capture --------------------------------------------------------
def _incident(state: IncidentStatus = IncidentStatus.OPEN, **kw: Any) -> Incident:
    s = IncidentSignal(key="offset", source="PTP", cluster="east", subject="du-2/ens1f0",
                       severity=FindingSeverity.WARNING, reason="offset",
                       first_seen=NOW - timedelta(minutes=20),
                       last_seen=NOW - timedelta(minutes=20))  # fmt: skip
    return Incident(id="INC-1", title="t", severity=FindingSeverity.WARNING,
                    opened_at=NOW - timedelta(minutes=20), updated_at=NOW - timedelta(minutes=20),
                    signals=[s], state=state, **kw)  # fmt: skip


class _Bus:
    def __init__(self) -> None:
        self.published: list[object] = []

    def publish(self, _topic: str, payload: object) -> None:
        self.published.append(payload)


def _service(db: Database, **kw: Any) -> IncidentService:
    return IncidentService(IncidentRepository(db), None, None, None, _Bus(),  # type: ignore[arg-type]
                           clock=lambda: NOW, **kw)  # fmt: skip


@pytest.mark.asyncio
async def test_acknowledge_in_a_capture_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    db = Database(tmp_path / "cache.sqlite3")
    try:
        IncidentRepository(db).save([_incident()]).result()
        with pytest.raises(UsageError, match="a capture is read-only"):
            await _service(db, recorded=True).acknowledge("INC-1")
        stored = IncidentRepository(db).get("INC-1")
        assert stored is not None and stored.state is IncidentStatus.OPEN
        done = await _service(db).acknowledge("INC-1")  # the live cache's: acknowledged
        assert done is not None and done.state is IncidentStatus.ACKNOWLEDGED
    finally:
        db.close()


# -- 5: an acknowledgement over another process's grouping -------------------------------------
def _reopened() -> tuple[Incident, Incident]:
    acked = _incident(IncidentStatus.ACKNOWLEDGED, acknowledged_at=NOW - timedelta(minutes=10))
    freerun = acked.signals[0].model_copy(update={
        "key": "FREERUN", "severity": FindingSeverity.CRITICAL, "first_seen": NOW,
        "last_seen": NOW})  # fmt: skip
    reopened = acked.model_copy(update={
        "state": IncidentStatus.OPEN, "severity": FindingSeverity.CRITICAL, "reopened_at": NOW,
        "reopened_because": "FREERUN began after the acknowledgement", "updated_at": NOW,
        "signals": [*acked.signals, freerun]})  # fmt: skip
    return acked, reopened


def _resolved() -> tuple[Incident, Incident]:
    open_ = _incident()
    return open_, open_.model_copy(update={
        "state": IncidentStatus.RESOLVED, "resolved_at": NOW, "updated_at": NOW})  # fmt: skip


@pytest.mark.parametrize("case", [_resolved, _reopened], ids=["resolved", "reopened"])
@pytest.mark.asyncio
async def test_another_process_s_grouping_during_an_acknowledgement_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Any
) -> None:
    """Another process (the wall, the CLI) writes its grouping while the acknowledgement reads
    the incident: it lands before the acknowledgement's read, or waits for its write, never
    between them. Its resolution or its re-opening for a new CRITICAL is what is stored after
    (the stale copy written back revived a resolved incident as ACKNOWLEDGED, or put back the
    WARNING with one signal)."""
    stored, theirs = case()
    path = tmp_path / "cache.sqlite3"
    mine_db, their_db = Database(path), Database(path)
    other = IncidentRepository(their_db)
    real = store_incidents.read_one
    landing: list[Future[int]] = []

    def read_one(*args: Any, **kw: Any) -> Any:
        found = real(*args, **kw)
        if not landing:  # the acknowledgement's read: the other process writes now
            landing.append(other.save([theirs]))
            # it is written at once, or waits for this process's write transaction
            with contextlib.suppress(TimeoutError):
                landing[0].result(timeout=0.5)
        return found

    try:
        IncidentRepository(mine_db).save([stored]).result()
        monkeypatch.setattr(store_incidents, "read_one", read_one)
        done = await _service(mine_db).acknowledge("INC-1")
        assert landing, "the acknowledgement read nothing"
        landing[0].result(timeout=30)
        monkeypatch.undo()
        after = other.get("INC-1")
        assert done is not None and after is not None
        assert (after.state, after.severity, len(after.signals)) == (
            theirs.state, theirs.severity, len(theirs.signals))  # fmt: skip
    finally:
        mine_db.close()
        their_db.close()


@pytest.mark.asyncio
async def test_acknowledge_writes_nothing_unless_open_and_returns_the_state_found(
    tmp_path: Path,
) -> None:
    """Resolved, or acknowledged already (by another process): nothing is written, and the
    incident comes back as stored (its state says what it was); open: acknowledged now, its
    signals and severity as stored (a re-opening's new CRITICAL kept)."""
    db = Database(tmp_path / "cache.sqlite3")
    repo = IncidentRepository(db)
    try:
        for stored in (_resolved()[1], _reopened()[0]):
            repo.save([stored]).result()
            before = db.fetch_one("SELECT rowid, body FROM incidents WHERE id = 'INC-1'")
            done = repo.acknowledge("INC-1", NOW + timedelta(minutes=1)).result()
            assert done == stored  # as stored: RESOLVED, or ACKNOWLEDGED at its own time
            after = db.fetch_one("SELECT rowid, body FROM incidents WHERE id = 'INC-1'")
            assert after is not None and before is not None
            assert tuple(after) == tuple(before)  # not even rewritten
        reopened = _reopened()[1]
        repo.save([reopened]).result()
        done = repo.acknowledge("INC-1", NOW + timedelta(minutes=1)).result()
        assert done is not None and done.state is IncidentStatus.ACKNOWLEDGED
        assert done.acknowledged_at == NOW + timedelta(minutes=1)
        assert done.severity is FindingSeverity.CRITICAL and len(done.signals) == 2
        assert repo.get("INC-1") == done
        assert repo.acknowledge("INC-2", NOW).result() is None  # no such incident
        svc = _service(db)
        again = await svc.acknowledge("INC-1")  # the service says it as the store found it
        assert again == done
    finally:
        db.close()
