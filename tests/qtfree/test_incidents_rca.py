"""Incidents and root-cause analysis: grouping (one alert on three clusters is one incident,
unrelated anomalies stay apart), the lifecycle, the RCA ranking on a small recorded case
(a Sock Shop run from ../shared/data/rca), causality (data after the analysis time never
changes a ranking) and runbook lookups."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from aiops_desktop.models.enums import IncidentStatus
from aiops_desktop.models.errors import UsageError
from aiops_desktop.models.fleet import (
    ClusterTruth,
    Coverage,
    Domain,
    Finding,
    FindingSeverity,
    FleetTruth,
    Health,
)
from aiops_desktop.models.incidents import Incident, IncidentSignal
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.services.core import Core
from aiops_desktop.services.intelligence.incidents import IncidentService, event_signals
from aiops_desktop.settings import resources_dir
from aiops_desktop.store.capture import read_manifest
from aiops_desktop.store.series import SeriesBatch
from analysis.incidents import (
    RESOLVE_AFTER,
    acknowledge,
    as_it_stood,
    depends_on,
    entity_of,
    group,
    place_of,
)
from analysis.rca.model import Signal, SignalKind, Window
from analysis.rca.runbook import Runbook
from analysis.rca.score import rank
from tests.benchmarks.rca_cases import DEFAULT_RCA_DIR, rcd_cases
from tests.qtfree.cli_runner import run_cli
from tests.servers.kube_api import RunningKubeApi

T0 = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def signal(key: str, cluster: str, *, at: datetime = T0, subject: str = "x", alert: str | None =
           None, topology: list[str] | None = None,
           severity: FindingSeverity = FindingSeverity.WARNING) -> IncidentSignal:  # fmt: skip
    return IncidentSignal(
        key=key, source="alert" if alert else "anomaly", cluster=cluster, subject=subject,
        severity=severity, reason="why", first_seen=at, last_seen=at,
        topology=topology if topology is not None else place_of(subject), alert_name=alert,
    )  # fmt: skip


def test_one_alert_on_three_clusters_is_one_incident() -> None:
    seen = [signal(f"a{n}", c, at=T0 + timedelta(minutes=n), alert="NodeOutOfPtpSync",
                   topology=[f"node:du-{n}"], severity=FindingSeverity.CRITICAL)
            for n, c in enumerate(("east", "west", "north"))]  # fmt: skip
    incidents, changed = group([], seen, T0 + timedelta(minutes=3))
    assert len(incidents) == 1 and changed == {incidents[0].id}
    (incident,) = incidents
    assert incident.clusters == ["east", "north", "west"]
    assert incident.title == "NodeOutOfPtpSync on 3 clusters (+2 signals)"
    assert incident.severity is FindingSeverity.CRITICAL


def test_unrelated_anomalies_stay_apart_and_related_ones_join() -> None:
    seen = [
        signal("gpu", "east", subject="gpu-1/gpu3"),  # node gpu-1
        signal("cpu", "east", subject="node du-1", at=T0 + timedelta(minutes=1)),
        signal("ptp", "west", subject="du-1/ens1f0 (ptp4l)", at=T0 + timedelta(minutes=2)),
        signal("kube", "east", subject="node gpu-1", at=T0 + timedelta(minutes=4)),  # joins gpu
        signal("late", "east", subject="node du-1", at=T0 + timedelta(hours=2)),  # too late
    ]
    incidents, _ = group([], seen[:4], T0 + timedelta(minutes=5))
    by_keys = sorted(sorted(s.key for s in i.signals) for i in incidents)
    assert by_keys == [["cpu"], ["gpu", "kube"], ["ptp"]]  # same node name, other cluster: apart
    later, _ = group(incidents, seen[4:], T0 + timedelta(hours=2))
    late = next(i for i in later if any(s.key == "late" for s in i.signals))
    assert [s.key for s in late.signals] == ["late"]  # the first du-1 incident had ended


def test_a_span_s_service_is_a_place_where_no_pod_is_named() -> None:
    assert place_of("x", {"service": "cart"}) == ["svc:cart"]
    assert entity_of("east", {"service": "cart"}) == "east service cart"
    cart, checkout = place_of("x", {"service": "cart"}), place_of("x", {"service": "checkout"})
    seen = [  # Tempo's failed spans and span latency of a service whose pods are not named
        signal("spans", "east", topology=cart),
        signal("p99", "east", at=T0 + timedelta(minutes=1), topology=cart),
        signal("other", "east", at=T0 + timedelta(minutes=2), topology=checkout),
    ]
    incidents, _ = group([], seen, T0 + timedelta(minutes=3))
    grouped = sorted(sorted(s.key for s in i.signals) for i in incidents)
    assert grouped == [["other"], ["p99", "spans"]]


def test_an_incident_is_resolved_when_its_signals_end_and_ack_holds_till_then() -> None:
    incidents, _ = group([], [signal("a", "east", subject="node du-1")], T0)
    acked = acknowledge(incidents[0], T0 + timedelta(minutes=1))
    assert acked.state is IncidentStatus.ACKNOWLEDGED and acked.acknowledged_at is not None
    seen_again = signal("a", "east", subject="node du-1", at=T0 + timedelta(minutes=5),
                        severity=FindingSeverity.CRITICAL)  # fmt: skip
    still, changed = group([acked], [seen_again], T0 + timedelta(minutes=5))
    assert changed == {acked.id}  # kept: seen later, and worse
    assert still[0].severity is FindingSeverity.CRITICAL
    # the WARNING acknowledged is CRITICAL now: more than was seen, so open again, saying why
    assert still[0].state is IncidentStatus.OPEN and len(still[0].signals) == 1
    assert "it was WARNING, the incident WARNING when acknowledged" in still[0].reopened_because
    rest, _ = group([acknowledge(still[0], T0 + timedelta(minutes=6))], [seen_again],
                    T0 + timedelta(minutes=5))  # fmt: skip
    assert rest[0].state is IncidentStatus.ACKNOWLEDGED  # the CRITICAL acknowledged stays so
    still = rest
    assert still[0].signals[0].last_seen == T0 + timedelta(minutes=5)
    quiet, changed = group(still, [], T0 + timedelta(minutes=5) + RESOLVE_AFTER)
    assert quiet[0].state is IncidentStatus.RESOLVED and changed == {quiet[0].id}
    # the same (ended) signal offered again opens nothing and leaves the resolved one be
    later = T0 + timedelta(minutes=30)
    again, changed = group(quiet, [seen_again], later)
    assert again == quiet and changed == set()
    fresh, _ = group([], [signal("old", "east", at=later - RESOLVE_AFTER)], later)
    assert [i.state for i in fresh] == [IncidentStatus.RESOLVED]  # ended before it was seen


def test_a_signal_back_after_its_incident_resolved_opens_a_new_one() -> None:
    """A clock in FREERUN again, an alert firing again: their keys hold no time, so the
    signal is the resolved incident's; seen alive after the resolution it is news (before, it
    was dropped for the two hours a resolved incident is still grouped with)."""
    freerun = "PTP|east|du-2/ens1f0 (ptp4l)|clock in FREERUN"
    first = signal(freerun, "east", subject="du-2/ens1f0 (ptp4l)")
    ended, _ = group([], [first], T0 + timedelta(minutes=5))
    resolved, _ = group(ended, [], T0 + timedelta(minutes=16))
    assert resolved[0].state is IncidentStatus.RESOLVED
    back_at = T0 + timedelta(minutes=40)
    back = first.model_copy(update={"last_seen": back_at})  # the finding's "since": its first
    grouped, changed = group(resolved, [back], back_at)
    old, new = grouped
    assert old == resolved[0] and old.id not in changed  # the record of the first stays
    assert new.state is IncidentStatus.OPEN and changed == {new.id} and new.id != old.id
    assert new.signals[0].first_seen == old.resolved_at  # news since the resolution
    again, changed = group(grouped, [back.model_copy(update={"last_seen": back_at})], back_at)
    assert len(again) == 2 and changed == set()  # seen again: the new one, nothing opened


@pytest.mark.asyncio
async def test_grouping_reads_every_incident_not_resolved_however_many(core: Core) -> None:
    """The list the page shows stops at LIST_LIMIT; grouping must not (an open incident left
    out would never resolve, and its signals would open it again under its own id)."""
    from aiops_desktop.store.incidents import LIST_LIMIT

    many = [signal(f"k{n}", "east", subject=f"node n{n}", at=T0 + timedelta(seconds=n / 4))
            for n in range(LIST_LIMIT + 20)]  # fmt: skip
    opened, _ = group([], many, T0 + timedelta(minutes=5))  # all still open
    assert all(i.state is IncidentStatus.OPEN for i in opened)
    long_ago = [i.model_copy(update={"state": IncidentStatus.RESOLVED}) for i in opened[:5]]
    await asyncio.wrap_future(core.incidents.repo.save(opened[5:] + long_ago))
    active = core.incidents.repo.active(resolved_since=(T0 + timedelta(days=1)).timestamp())
    assert len(active) == LIST_LIMIT + 15 and all(
        i.state is not IncidentStatus.RESOLVED for i in active)  # fmt: skip
    assert len(core.incidents.repo.list()) == LIST_LIMIT


def _series(entity: str, name: str, kind: SignalKind, jump_at: float | None) -> Signal:
    ts = np.arange(0.0, 3600.0, 60.0)
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    values = 10 + rng.normal(0, 0.5, ts.size)
    if jump_at is not None:
        values[ts >= jump_at] += 20
    return Signal(entity, name, kind, ts, values)


def test_the_earlier_change_ranks_first_and_a_later_one_is_its_symptom() -> None:
    cause = _series("db", "db cpu", SignalKind.RESOURCE, 1800)
    symptom = _series("api", "api cpu", SignalKind.RESOURCE, 1980)
    quiet = _series("web", "web cpu", SignalKind.RESOURCE, None)
    causes = rank([symptom, quiet, cause], Window(1800), calls={"api": {"db"}})
    assert [c.entity for c in causes][:2] == ["db", "api"]
    assert causes[0].onset_s == 1800 and causes[0].evidence[0].signal == "db cpu"
    assert 0 < causes[0].confidence <= 1 and causes[-1].entity == "web"


def test_a_caller_gives_way_to_each_callee_weighed_against_its_own_evidence() -> None:
    """A caller gives way to a callee that changed first only where that callee is at least
    half as strong as the caller's own evidence: after giving way to one, the next callee is
    not weighed against the lowered score (a frontend at z 95 fell below a callee at z 4)."""
    ts = np.arange(0.0, 3600.0, 60.0)

    def step(entity: str, at: float, size: float) -> Signal:
        values = 10 + np.where(np.arange(ts.size) % 2, 0.5, -0.5)  # a MAD of 0.5
        return Signal(entity, f"{entity} cpu", SignalKind.RESOURCE, ts,
                      np.where(ts >= at, values + size, values))  # fmt: skip

    # callees are weighed in name order: the strong one first
    caller, strong, weak = step("web", 1800, 95), step("api", 1740, 40), step("db", 1740, 3)
    causes = {c.entity: c for c in rank([caller, strong, weak], Window(1800),
                                        calls={"web": {"api", "db"}})}  # fmt: skip
    assert causes["web"].score == pytest.approx(0.9 * causes["api"].score)
    assert causes["web"].score > causes["db"].score  # not 0.9 x the weak callee's


def test_a_change_just_before_the_first_signal_is_the_incidents_and_one_error_is_one() -> None:
    """A change is seen after it began: one that began within the lead before the first signal
    is read as the incident's, not as its baseline. And errors are counted: after a quiet
    baseline, one error line is not a deviation as eleven are."""
    ts = np.arange(0.0, 2160.0, 60.0)
    early = np.where(ts >= 1740, 11.0, 0.0)  # began a minute before the first signal (1800)
    one = np.where(ts >= 1800, 1.0, 0.0)
    signals = [Signal("a", "errors", SignalKind.ERRORS, ts, early, resolution=1.0),
               Signal("b", "errors", SignalKind.ERRORS, ts, one, resolution=1.0)]  # fmt: skip
    causes = {c.entity: c for c in rank(signals, Window(1800))}
    assert causes["a"].onset_s == 1740 and causes["a"].evidence[0].z == pytest.approx(11)
    assert causes["b"].onset_s is None and causes["b"].score < causes["a"].score / 5
    # without the lead, the change's first minute is taken as baseline: it is seen late and
    # as less than it is
    late = {c.entity: c for c in rank(signals, Window(1800, lead_s=0.0))}
    assert late["a"].onset_s == 1800 and late["a"].evidence[0].z < 6


def test_a_signal_that_never_left_its_baseline_is_not_boosted_by_its_kind() -> None:
    """A count of restarts one above its baseline (z 1, never past the onset) outranked a PTP
    port whose offset went from 1.5 to 350 ns (z 18): an error count weighs three times a
    signal of another kind, and that weight was given to a move of no size."""
    ts = np.arange(0.0, 2160.0, 60.0)
    restarts = np.where(ts >= 1800, 2.0, 1.0) + np.where(ts % 120 == 0, 0.0, 1.0)
    offset = np.where(ts >= 1800, 350.0, 1.5) + np.where(ts % 120 == 0, -10.0, 10.0)
    port = "ran-east du-2/ens1f0"
    signals = [Signal("ran-east", "pod_restarts", SignalKind.ERRORS, ts, restarts),
               Signal(port, "ptp_offset", SignalKind.OTHER, ts, offset)]  # fmt: skip
    causes = rank(signals, Window(1800))
    assert [c.entity for c in causes] == [port, "ran-east"]
    assert causes[1].onset_s is None and causes[0].onset_s == 1800


@pytest.mark.skipif(not DEFAULT_RCA_DIR.is_dir(), reason="needs ../shared/data/rca")
def test_a_recorded_sock_shop_case_ranks_its_root_cause_first() -> None:
    case = next(c for c in rcd_cases(DEFAULT_RCA_DIR / "rcd-sockshop")
                if c.name == "carts-cpu/1")  # fmt: skip
    causes = rank(case.signals, Window(case.detect_s), calls=case.calls)
    assert causes[0].entity == "carts"
    assert causes[0].evidence[0].signal == "carts_cpu"  # the CPU hog itself


def test_data_after_the_analysis_time_never_changes_the_ranking() -> None:
    cause = _series("db", "db cpu", SignalKind.RESOURCE, 1800)
    other = _series("api", "api cpu", SignalKind.RESOURCE, None)
    window = Window(1800, analysis_s=1900)
    before = [(c.entity, round(c.score, 9)) for c in rank([cause, other], window)]
    # the future: api explodes after the analysis time
    future = Signal("api", "api cpu", SignalKind.RESOURCE, other.timestamps,
                    np.where(other.timestamps > 1900, 1e6, other.values))  # fmt: skip
    after = [(c.entity, round(c.score, 9)) for c in rank([cause, future], window)]
    assert after == before and before[0][0] == "db"


@pytest.fixture(scope="module")
def runbook() -> Runbook:
    base = resources_dir()
    return Runbook(json.loads((base / "rca" / "runbook.json").read_text()),
                   json.loads((base / "gpu" / "xid.json").read_text())["xids"])  # fmt: skip


def test_runbook_lookups(runbook: Runbook) -> None:
    xid = runbook.lookup("xid", 79)
    assert xid is not None and "fallen off the bus" in xid.meaning.lower()
    holdover = runbook.lookup("ptp_clock_class", 7)
    assert holdover is not None and "holdover" in holdover.meaning.lower()
    crash = runbook.lookup("pod_reason", "CrashLoopBackOff")
    assert crash is not None and "--previous" in crash.check
    assert runbook.lookup("alert", "NoSuchAlert") is None
    found = [
        e.key
        for e in runbook.for_text(
            "XID 79 GPU has fallen off the bus on gpu-1/gpu3; clock class 248; NodeOutOfPtpSync"
        )
    ]
    assert found == ["XID 79", "clock class 248", "NodeOutOfPtpSync"]
    # a word inside another is not a match ("NotReadyish" is not NotReady)
    assert runbook.for_text("pod NotReadyish") == []
    every = [
        runbook.lookup(s, k)
        for s in ("ptp_clock_class", "pod_reason", "alert", "finding")
        for k in json.loads((resources_dir() / "rca" / "runbook.json").read_text())[s]
    ]
    assert all(e is not None and e.meaning and e.check and e.safe_action for e in every)
    # no entry sends the engineer elsewhere ("As CrashLoopBackOff."), and an XID's check is
    # not its action again
    assert not [e for e in every if e and (e.check.startswith("As ") or
                                           e.safe_action.startswith("As "))]  # fmt: skip
    looping = runbook.lookup("alert", "KubePodCrashLooping")
    assert looping is not None and looping.check == crash.check
    assert xid.check != xid.safe_action and "Drain" in xid.safe_action
    # one entry a key, whichever sections name it
    assert [e.key for e in runbook.for_text("pod x: CrashLoopBackOff")] == ["CrashLoopBackOff"]
    # what the app's findings and the API server's events say has a check
    # (a finding's words for its own domain: the PTP findings' for PTP's)
    for said, domain in (("offset 350 ns beyond +/-100 ns", "PTP"), ("ptp4l is down", "PTP"),
                         ("clock class 140", None),
                         ("BackOff: Back-off restarting failed container", "Kubernetes"),
                         ("NodeNotReady: Node is not ready", "Kubernetes"),
                         ("OOMKilling: Memory cgroup out of memory", "Kubernetes")):  # fmt: skip
        assert runbook.for_text(said, domain), said
    # ...and what only shares a word with them, none (a Kafka offset, Redis down)
    for unrelated in ("consumer offset lag 5000", "Redis is down", "offset 3 of 7"):
        assert runbook.for_text(unrelated, "PTP") == [], unrelated


SAMPLE = resources_dir() / "samples" / "sample.aiops"


@pytest.mark.integration
def test_incidents_rca_and_the_incident_report_from_the_sample_capture(
    tmp_path: Path, secret_service
) -> None:  # type: ignore[no-untyped-def]
    """Offline, from the bundled capture: `incidents --json`, `rca --incident ID --json` (the
    FREERUN port first, with its evidence and the runbook's check) and an incident report
    with its Root cause sections."""
    env, home = dict(secret_service.env), tmp_path / "home"
    listed = run_cli(home, env, "--capture", str(SAMPLE), "incidents", "--json")
    assert listed.returncode == 0, listed.stderr
    incidents = json.loads(listed.stdout)
    freerun = next(i for i in incidents if "clock in FREERUN" in i["title"])
    assert freerun["severity"] == "CRITICAL" and freerun["state"] == "OPEN"
    assert [i["severity"] for i in incidents][:3] == ["CRITICAL"] * 3
    # the GPU hot for the capture's whole span: its anomaly, still open at the end of the
    # data though its worst point is more than an hour before it, opens the incident
    hot = next(i for i in incidents if "temperature 84 C" in i["title"])
    assert [s["source"] for s in hot["signals"]].count("anomaly") == 1
    assert hot["opened_at"] == min(s["first_seen"] for s in hot["signals"])
    assert hot["opened_at"] < incidents[0]["updated_at"]

    done = run_cli(home, env, "--capture", str(SAMPLE), "rca", "--incident", freerun["id"],
                   "--json")  # fmt: skip
    # the capture holds what RCA reads beside the series (PTP roles, VFs) over its span
    assert done.returncode == 0, done.stderr
    assert "unread" not in done.stderr
    result = json.loads(done.stdout)
    assert result["topology_unread"] == []
    top = result["causes"][0]
    assert top["entity"] == "ran-east du-2/ens1f0" and top["confidence"] > 0.5
    assert 0.99 <= sum(c["confidence"] for c in result["causes"]) <= 1.01  # shares of those kept
    assert any(e["signal"].startswith("ptp_offset") for e in top["evidence"])
    assert [c["key"] for c in top["next_checks"]] == [
        "clock in FREERUN",
        "clock class 165",
        "PTP offset",
    ]  # the worst signal's first
    text = run_cli(home, env, "--capture", str(SAMPLE), "rca", "--incident", freerun["id"])
    lines = text.stdout.splitlines()  # the window and each cause with their times
    opened, until = freerun["opened_at"], read_manifest(SAMPLE).until
    end = result["window"]["end"]  # 5 min after its worst signals' newest onset: not the end
    assert opened < end < until  # of the capture, which the text said it read up to
    assert lines[1].endswith(f"min after {opened[:10]} {opened[11:19]} UTC, read up to "
                             f"{end[:10]} {end[11:19]} UTC")  # fmt: skip
    assert lines[2].startswith(" 1. ran-east du-2/ens1f0  confidence ")
    assert "first changed" in lines[2]
    missing = run_cli(home, env, "--capture", str(SAMPLE), "rca", "--incident", "INC-nope")
    assert missing.returncode == 4 and "no incident 'INC-nope'" in missing.stderr
    bad = run_cli(home, env, "--capture", str(SAMPLE), "rca", "--cluster", "ran-east")
    assert bad.returncode == 2 and "--at" in bad.stderr
    for odd, said in (
        (["--incident", ""], "needs an id"),
        (["--cluster", "ran-east", "--at", "2099-01-01T00:00:00Z"], "after now"),
        (["--cluster", "ran-east", "--at", "2020-01-01T00:00:00Z"], "nothing was read"),
    ):
        wrong = run_cli(home, env, "--capture", str(SAMPLE), "rca", *odd)
        assert wrong.returncode in (1, 2) and said in wrong.stderr, (odd, wrong.stderr)
    ack = run_cli(home, env, "--capture", str(SAMPLE), "incidents", "--ack", freerun["id"])
    assert ack.returncode == 2 and "read-only" in ack.stderr

    out = tmp_path / "incident.json"
    made = run_cli(home, env, "--capture", str(SAMPLE), "report", "--type", "incident",
                   "--since", "2h", "--out", str(out), timeout=180)  # fmt: skip
    assert made.returncode == 0, made.stderr
    report = json.loads(out.read_text())
    titles = [s["title"] for s in report["sections"]]
    assert "Incidents" in titles and f"Root cause: {freerun['id']}" in titles
    assert any(r.startswith(f"Likely cause of {freerun['id']}: ran-east du-2/ens1f0")
               and "Safe action: " in r for r in report["recommendations"])  # fmt: skip
    # the timeline holds the incidents opened (a GPU's XID opened one: it was missing), and
    # the top cause's next checks are a table of their own
    (timeline,) = [s for s in report["sections"] if s["title"] == "Timeline"]
    events = [row for t in timeline["tables"] for row in t["rows"]]
    assert any(row[2] == "incident opened (CRITICAL)" and "XID 79" in row[3] for row in events)
    (listed,) = [s for s in report["sections"] if s["title"] == "Incidents"]
    assert {"label": "Root cause", "value": "analysed for the first 3 of the 6 (unresolved first, "
            "then the most severe); the rca command (rca --incident ID) for the others"
            } in listed["facts"]  # fmt: skip
    (rca,) = [s for s in report["sections"] if s["title"] == f"Root cause: {freerun['id']}"]
    checks = next(t for t in rca["tables"] if t["title"].startswith("Next checks for"))
    assert [row[0] for row in checks["rows"]] == ["clock in FREERUN", "clock class 165",
                                                  "PTP offset"]  # fmt: skip

    # a past period (ending 9 minutes before the capture): the excursions going on at its end
    # are there, each where it began (ran-west's offset began before du-2's FREERUN)

    end = datetime.fromisoformat(read_manifest(SAMPLE).until) - timedelta(minutes=9)
    past = tmp_path / "past.md"
    made = run_cli(home, env, "--capture", str(SAMPLE), "report", "--type", "incident",
                   "--since", "1h", "--until", end.isoformat(), "--out", str(past),
                   timeout=180)  # fmt: skip
    assert made.returncode == 0, made.stderr
    text = past.read_text()
    assert "UTC UTC" not in text
    # every row of the period is placed where it began: nothing after the period's end
    rows = [line for line in text.splitlines() if line.startswith("| 20")]
    assert rows and all(row[2:18] <= f"{end:%Y-%m-%d %H:%M}" for row in rows), rows
    # a capture's handover says why GPU health is not compared (it said no GPU was read at
    # the period's start, though its series were there)
    handover = tmp_path / "handover.md"
    made = run_cli(home, env, "--capture", str(SAMPLE), "report", "--type", "handover",
                   "--since", "30m", "--out", str(handover), timeout=180)  # fmt: skip
    assert made.returncode == 0, made.stderr
    said = handover.read_text()
    assert "a capture records the GPUs at its end only" in said
    # every GPU not OK is a recommendation with what to do (a warning one was left out)
    assert "(GPU ai-lab/dgx-0/gpu7, WARNING): check the node and the GPU" in said
    assert "no GPU readings at the start" not in said
    assert "not known here" not in said  # the half hour is all in the capture
    events = text.split("**Events", 1)[1].split("\n\n", 2)[1]
    what = [line.split(" | ")[1:3] for line in events.splitlines()[2:]]
    assert what.index(["ran-west", "WARNING THRESHOLD BREACH ptp\\_offset"]) < what.index(
        ["ran-east", "CRITICAL THRESHOLD BREACH ptp\\_clock\\_state"]
    )


def test_odd_kubernetes_events_are_skipped_and_a_time_without_a_zone_is_utc() -> None:
    now = datetime(2026, 11, 27, 9, 40, tzinfo=UTC)
    good = {"type": "Warning", "reason": "BackOff", "message": "token=abc",
            "lastTimestamp": "2026-11-27T09:30:00", "metadata": {"uid": "u1"},
            "involvedObject": {"kind": "Pod", "namespace": "ran", "name": "du-0"}}  # fmt: skip
    odd = [
        {"type": "Warning", "involvedObject": "not a dict", "metadata": 5,
         "lastTimestamp": "2026-11-27T09:31:00Z"},
        {"type": "Warning", "series": "x", "lastTimestamp": 12},
        {"type": "Normal", "lastTimestamp": "2026-11-27T09:35:00Z"},
        "not an object",
    ]  # fmt: skip
    found = event_signals("east", [good, *odd], now)  # type: ignore[list-item]
    assert [s.subject for s in found] == ["object ?", "pod ran/du-0"]  # newest first
    assert found[1].last_seen == datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    assert "abc" not in found[1].reason  # a server's words are redacted


def test_an_alert_time_without_a_zone_is_utc_and_groups() -> None:
    """An odd or crafted Alertmanager's startsAt without a zone compared with the app's aware
    times raised TypeError, and every regrouping failed while it fired."""
    from aiops_desktop.services.intelligence.incidents import alert_signals
    from collectors.alertmanager import parse_alert

    alert = parse_alert({"fingerprint": "f", "startsAt": "2026-12-04T07:58:00",
                         "labels": {"alertname": "X", "node": "du-1"}}, "east")  # fmt: skip
    assert alert.starts_at == datetime(2026, 12, 4, 7, 58, tzinfo=UTC)
    grouped, _ = group([], alert_signals({"east": [alert]}, T0), T0)
    assert [i.signals[0].first_seen for i in grouped] == [alert.starts_at]


def test_two_pods_of_one_namespace_are_apart_but_a_namespace_alert_joins_them() -> None:
    crash = signal("crash", "east", subject="pod ran-du/du-l1-0")
    pending = signal("pending", "east", subject="pod ran-du/trainer-0")
    alert = signal("quota", "east", alert="KubeQuotaExceeded", topology=["ns:ran-du"])
    apart, _ = group([], [crash, pending], T0)
    assert len(apart) == 2
    joined, _ = group([], [crash, alert], T0)
    assert len(joined) == 1


@pytest.mark.integration
@pytest.mark.asyncio
async def test_kubernetes_warning_events_become_incident_signals(
    core: Core, kube_api: RunningKubeApi
) -> None:
    """A cluster's Warning events of the last hour (read over its API) join its incidents: the
    crash-looping pod's BackOff and the unschedulable trainer's FailedScheduling, each about
    its pod; a Normal event does not."""
    await core.registry.add(
        ClusterSpec(name="ran-east", api_server_url=kube_api.url, ca_bundle_pem=kube_api.ca_pem),
        ClusterSecrets(token="admin-token"),
    )
    at = datetime(2026, 11, 27, 9, 35, tzinfo=UTC)  # the fixture's events: 09:10-09:30
    service = IncidentService(
        core.incidents.repo, core.fleet, core.anomalies, core.poller, core.bus,
        kube=core.kube, clock=lambda: at,
    )  # fmt: skip
    signals = [s for s in await service.signals() if s.key.startswith("event|")]
    assert sorted((s.subject, s.reason.split(":")[0]) for s in signals) == [
        ("pod ran-du/du-l1-0", "BackOff"), ("pod ran-du/trainer-0", "FailedScheduling"),
    ]  # fmt: skip
    await core.fleet.refresh()  # read once: a source not read yet holds its incidents open
    grouped = await service.refresh()
    # the BackOff (09:30) is recent; the FailedScheduling ended 15 min ago: resolved at once
    events = sorted((s.subject, i.state.value) for i in grouped for s in i.signals
                    if s.source == "Kubernetes")  # fmt: skip
    assert events == [("pod ran-du/du-l1-0", "OPEN"), ("pod ran-du/trainer-0", "RESOLVED")]


@pytest.mark.asyncio
async def test_rca_follows_what_the_labels_say_depends_on_what(core: Core) -> None:
    """A node's CPU rises first; a GPU on it (DCGM names the pod using it) heats up three
    minutes later: the node ranks first, the GPU gives way as its symptom, and the pod is
    named as depending on the GPU."""
    assert depends_on("east", {"Hostname": "gpu-0", "gpu": "1", "pod": "trainer-0",
                               "namespace": "ai"}) == [
        ("east pod ai/trainer-0", "east gpu-0/gpu1"), ("east gpu-0/gpu1", "east node gpu-0"),
    ]  # fmt: skip
    end = int(core.now().timestamp()) // 60 * 60
    ts = np.arange(end - 3600, end + 1, 60)
    rng = np.random.default_rng(7)
    first = end - 600

    def batch(metric: str, labels: dict[str, str], jump_at: float) -> SeriesBatch:
        values = 40 + rng.normal(0, 1, ts.size) + np.where(ts >= jump_at, 30.0, 0.0)
        return SeriesBatch("east", metric, labels, ts * 1000, values)

    await asyncio.wrap_future(core.series.append([
        batch("node_cpu", {"instance": "gpu-0:9100"}, first),
        batch("gpu_temperature", {"Hostname": "gpu-0", "gpu": "1", "pod": "trainer-0",
                                  "namespace": "ai"}, first + 180),
        batch("node_cpu", {"instance": "gpu-9:9100"}, math.inf),
    ]))  # fmt: skip
    await asyncio.wrap_future(core.series.flush())
    at = datetime.fromtimestamp(first + 300, UTC)
    result = await core.rca.for_cluster("east", ["east"], at)
    ranked = [c.entity for c in result.causes]
    assert ranked[0] == "east node gpu-0" and ranked[1] == "east gpu-0/gpu1"
    assert result.causes[1].score < result.causes[0].score
    assert "east node gpu-9" in ranked[2:]  # quiet: last


@pytest.mark.asyncio
async def test_only_warning_events_are_asked_of_the_api_server() -> None:
    """The filter goes to the server (a busy cluster's Normal events never cross the
    network); a capture keeps a filtered list apart from the whole one."""
    from aiops_desktop.services.kube.session import KubeSession

    asked: list[tuple[str, str | None, str | None]] = []

    class Client:
        async def list(
            self, path: str, *, label_selector: str | None = None,
            field_selector: str | None = None,
        ) -> tuple[list[dict[str, str]], None]:  # fmt: skip
            asked.append((path, label_selector, field_selector))
            return [{"type": "Warning"}], None

    class Pool:
        offline = None

        async def kube(self, cluster: object) -> Client:
            return Client()

    class Registry:
        def get(self, name: str) -> str:
            return name

    session = KubeSession(Registry(), Pool(), None, None)  # type: ignore[arg-type]
    session.recording = {}
    await session.objects("east", "/api/v1/events", field_selector="type=Warning")
    assert asked == [("/api/v1/events", None, "type=Warning")]
    assert list(session.recording) == ["east /api/v1/events  fields:type=Warning"]


def test_news_joins_an_incident_but_opens_none() -> None:
    """A LOW novelty (INFO) alone opens no incident; beside a warning on the same node it
    joins that warning's incident."""
    note = signal("a|low", "east", subject="node w-1", severity=FindingSeverity.INFO)
    alone, _ = group([], [note], T0)
    assert alone == []
    warning = signal("a|hot", "east", at=T0 + timedelta(minutes=1), subject="node w-1")
    opened, _ = group([], [note, warning], T0 + timedelta(minutes=1))
    assert [[s.key for s in i.signals] for i in opened] == [["a|hot"]]  # the note came first
    again, _ = group(opened, [note, warning], T0 + timedelta(minutes=2))
    assert len(again) == 1 and {s.key for s in again[0].signals} == {"a|low", "a|hot"}


def test_an_incident_open_for_days_keeps_its_record_bounded() -> None:
    """A fleet-wide alert firing for days gathers every new fingerprint: past MOST_SIGNALS
    the long-ended ones (offered no more) are let go and counted; the first ones, the worst
    and the recent or live ones stay, and the title still counts them all."""
    from aiops_desktop.services.fleet.state import ANOMALIES_WITHIN
    from aiops_desktop.services.intelligence.incidents import EVENTS_WITHIN
    from analysis.incidents import FIRST_KEPT, MOST_SIGNALS, OFFERED_AFTER_END

    assert max(ANOMALIES_WITHIN, EVENTS_WITHIN) <= OFFERED_AFTER_END  # never offered again
    hour = timedelta(hours=1)
    worst = signal("worst", "c5", at=T0 + 5 * hour, alert="KubePodCrashLooping",
                   severity=FindingSeverity.CRITICAL)  # fmt: skip
    firing = [signal(f"f{n}", f"c{n % 7}", at=T0 + n * timedelta(minutes=1),
                     alert="KubePodCrashLooping") for n in range(MOST_SIGNALS + 300)]  # fmt: skip
    live = T0 + len(firing) * timedelta(minutes=1)
    firing[-1] = firing[-1].model_copy(update={"last_seen": live})  # still firing now
    incidents, _ = group([], [*firing, worst], live)
    [incident] = incidents
    assert len(incident.signals) == MOST_SIGNALS and incident.signal_count == len(firing) + 1
    kept = {s.key for s in incident.signals}
    assert {f"f{n}" for n in range(FIRST_KEPT)} <= kept and {"worst", firing[-1].key} <= kept
    gone = {f"f{n}" for n in range(FIRST_KEPT, FIRST_KEPT + len(firing) + 1 - MOST_SIGNALS)}
    assert kept == {s.key for s in [*firing, worst]} - gone  # the oldest ended ones went
    assert incident.severity is FindingSeverity.CRITICAL and incident.state is IncidentStatus.OPEN
    assert incident.title.endswith(f"(+{len(firing)} signals)")


@pytest.mark.asyncio
async def test_an_acknowledgement_made_elsewhere_is_not_undone_by_a_stale_copy(
    core: Core,
) -> None:
    """The CLI acknowledges while the app regroups: the app's copy, read before, is OPEN;
    writing it must not undo the acknowledgement."""
    [incident], _ = group([], [signal("a", "east", subject="node du-1")], T0)
    repo = core.incidents.repo
    await asyncio.wrap_future(repo.save([incident]))
    acked = acknowledge(incident, T0 + timedelta(minutes=1))
    await asyncio.wrap_future(repo.save([acked]))  # the CLI
    seen = incident.model_copy(update={"title": "regrouped"})  # the app's stale OPEN copy
    await asyncio.wrap_future(repo.save([seen]))
    stored = repo.get(incident.id)
    assert stored is not None and stored.title == "regrouped"
    assert stored.state is IncidentStatus.ACKNOWLEDGED
    assert stored.acknowledged_at == T0 + timedelta(minutes=1)


@pytest.mark.asyncio
async def test_rca_of_an_incident_reads_only_what_was_known_at_the_analysis_time(
    core: Core,
) -> None:
    """A cluster that joined the incident after the analysis time must not rank a cause, nor
    an XID seen after it add a next check; an incident that began after it is said."""
    end = int(core.now().timestamp()) // 60 * 60
    ts = np.arange(end - 3600, end + 1, 60)
    first = end - 1800
    jump = 40 + np.where(ts >= first, 30.0, 0.0) + np.random.default_rng(3).normal(0, 1, ts.size)
    await asyncio.wrap_future(core.series.append([
        SeriesBatch(c, "gpu_temperature", {"Hostname": "n1", "gpu": "0"}, ts * 1000, jump)
        for c in ("east", "west")
    ]))  # fmt: skip
    await asyncio.wrap_future(core.series.flush())
    t0 = datetime.fromtimestamp(first, UTC)
    seen = [
        signal("a", "east", at=t0, subject="n1/gpu0"),
        signal("b", "east", at=t0 + timedelta(minutes=4), subject="n1/gpu0").model_copy(
            update={"reason": "XID 79 GPU has fallen off the bus", "source": "GPU"}),
        signal("c", "west", at=t0 + timedelta(minutes=30), subject="n1/gpu0"),
    ]  # fmt: skip
    incident = Incident(id="INC-1", title="t", severity=FindingSeverity.WARNING, opened_at=t0,
                        updated_at=t0, signals=seen)  # as grouped by then  # fmt: skip
    assert incident.clusters == ["east", "west"]
    early = await core.rca.for_incident(incident, at=t0 + timedelta(minutes=2))
    assert {c.entity.split()[0] for c in early.causes} == {"east"}
    assert not early.checks  # the XID came later
    later = await core.rca.for_incident(incident, at=t0 + timedelta(minutes=6))
    assert [e.key for es in later.checks.values() for e in es] == ["XID 79"]
    with pytest.raises(UsageError, match="after the analysis time"):
        await core.rca.for_incident(incident, at=t0 - timedelta(hours=1))


def test_rca_of_a_fleet_hub_reads_its_members_and_a_date_is_not_seconds() -> None:
    """A hub's data is stored under its members' names: `rca --cluster hub` read the hub's
    name alone and found nothing. And `--at 20261127` is a date, not 1970's seconds."""
    import argparse
    from types import SimpleNamespace

    from aiops_desktop.cli.args import instant
    from aiops_desktop.services.intelligence.rca import rca_clusters

    hub = SimpleNamespace(name="hub")

    class Registry:
        def targets(self, names: list[str]) -> tuple[list[Any], frozenset[str] | None]:
            return ([hub], None) if names == ["hub"] else ([hub], frozenset({"m1"}))

        def members(self, cluster: Any) -> list[str]:
            return ["m1", "m2"]

    assert rca_clusters(cast(Any, Registry()), "hub") == ["hub", "m1", "m2"]
    assert rca_clusters(cast(Any, Registry()), "m1") == ["m1"]  # a member by its own name
    for text in ("20261127", "2026"):
        with pytest.raises(argparse.ArgumentTypeError, match="dashes"):
            instant(text)
    assert instant("1764201600") == datetime(2025, 11, 27, tzinfo=UTC)
    assert instant("2026-11-27") == datetime(2026, 11, 27, tzinfo=UTC)


@pytest.mark.asyncio
async def test_rca_of_a_past_moment_reads_each_signal_as_it_was_then(core: Core) -> None:
    """A WARNING at 10:00 that became an XID at 10:20 is the same signal (its key): RCA at
    10:02 reads the WARNING (no XID evidence, no XID check); at 10:25 it reads the XID."""
    t0 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)

    def seen(at: datetime, severity: FindingSeverity, reason: str) -> IncidentSignal:
        first = signal("alert|east|fp1", "east", at=t0, subject="gpu-1/gpu3",
                       alert="GpuDegraded", severity=severity)  # fmt: skip
        return first.model_copy(update={"reason": reason, "last_seen": at})

    grouped, _ = group([], [seen(t0, FindingSeverity.WARNING, "GPU temperature 78 C")], t0)
    later = t0 + timedelta(minutes=20)
    grouped, _ = group(grouped, [seen(later, FindingSeverity.CRITICAL,
                                      "XID 79 GPU has fallen off the bus")], later)  # fmt: skip
    (incident,) = grouped
    (kept,) = incident.signals
    assert kept.severity is FindingSeverity.CRITICAL and kept.reason.startswith("XID 79")
    then = kept.as_of(t0 + timedelta(minutes=2))
    assert (then.severity, then.reason) == (FindingSeverity.WARNING, "GPU temperature 78 C")
    early = (await core.rca.for_incident(incident, at=t0 + timedelta(minutes=2))).as_json()
    assert "XID" not in json.dumps(early)
    late = (await core.rca.for_incident(incident, at=t0 + timedelta(minutes=25))).as_json()
    assert [k["key"] for c in late["causes"] for k in c["next_checks"]] == ["XID 79"]


def test_a_signal_keeps_its_first_and_newest_versions_and_never_reads_a_newer_one() -> None:
    t0 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    s = signal("k", "east", at=t0)
    for minute in range(1, 11):
        s = s.changed(FindingSeverity.WARNING, f"reason {minute}", t0 + timedelta(minutes=minute))
    assert len(s.earlier) == 4 and s.reason == "reason 10"
    assert [v.reason for v in s.earlier] == ["why", "reason 1", "reason 8", "reason 9"]
    assert s.as_of(t0 + timedelta(seconds=30)).reason == "why"
    assert s.as_of(t0 + timedelta(minutes=9, seconds=1)).reason == "reason 9"
    # a moment whose version was let go reads an older one, never a newer
    assert s.as_of(t0 + timedelta(minutes=5)).reason == "reason 1"
    assert s.as_of(t0 + timedelta(hours=1)).reason == "reason 10"


def test_incidents_from_sources_that_cannot_be_read_is_no_all_clear(
    tmp_path: Path,
    secret_service,  # type: ignore[no-untyped-def]
) -> None:
    """Prometheus and Alertmanager unreachable: `incidents` must not say "nothing belongs to
    one" and exit 0 as if all were read; it names what it could not read and exits 3."""
    from tests.qtfree.cli_runner import call_main

    home = tmp_path / "home"
    assert call_main(home, "clusters", "add", "dark-1", "--prometheus-url", "http://127.0.0.1:9",
                     "--alertmanager-url", "http://127.0.0.1:9")[0] == 0  # fmt: skip
    code, out, err = call_main(home, "incidents")
    assert code == 3, err
    assert "unread: dark-1/" in err and "could not be read" in err
    assert "nothing the fleet shows" not in out and "in what could be read" in out


def test_a_signal_back_in_an_older_incident_is_added_once() -> None:
    """An alert's incident resolves; the alert fires again and joins another open incident
    (its pod's CPU's). Each later refresh must see it there, not as news of the resolved one again
    (a copy was added on every refresh)."""
    t0 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    pod = {"namespace": "ran", "pod": "du-0"}

    def node(now: datetime) -> IncidentSignal:
        return signal("finding|east|node n2", "east", at=t0, topology=place_of("node n2")
                      ).model_copy(update={"last_seen": now})  # fmt: skip

    def alert(first: datetime, now: datetime) -> IncidentSignal:
        return signal("alert|east|fp", "east", at=first, alert="KubePodCrashLooping",
                      topology=place_of("", pod)).model_copy(update={"last_seen": now})  # fmt: skip

    def cpu(now: datetime) -> IncidentSignal:  # a pod series that names its node: joins both
        return signal("anomaly|east|cpu|du-0", "east", at=t0 + timedelta(minutes=30),
                      topology=place_of("", {**pod, "node": "n2"})
                      ).model_copy(update={"last_seen": now})  # fmt: skip

    incidents: list[Incident] = []
    for minute in range(1, 42):
        now = t0 + timedelta(minutes=minute)
        offered = [node(now)]
        if minute <= 5:
            offered.append(alert(t0 + timedelta(minutes=1), now))
        if minute >= 31:
            offered.append(cpu(now))
        if minute >= 32:
            offered.append(alert(now - timedelta(seconds=30), now))  # firing again
        incidents, _ = group(sorted(incidents, key=lambda i: i.opened_at), offered, now)
    copies = [sum(s.key == "alert|east|fp" for s in i.signals) for i in incidents]
    # once in the resolved one, once where it came back (with the pod's CPU: the node's
    # finding began 30 min before that, too long for it to join the node's incident)
    assert sorted(c for c in copies if c) == [1, 1]


def test_an_incident_of_a_cluster_that_cannot_be_read_is_held_not_resolved() -> None:
    """Prometheus down from 10:10 to 10:22: the FREERUN clock is unseen, not ended. Its
    acknowledged incident stays as it is, and the clock seen again after is the same
    incident (resolved, it came back as a new one: acknowledgement lost, start moved)."""
    from aiops_desktop.services.intelligence.incidents import finding_signals

    t0 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    freerun = Finding(Domain.PTP, FindingSeverity.CRITICAL, "du-2/ens1f0 (ptp4l)",
                      "clock in FREERUN", since=t0)  # fmt: skip
    incidents: list[Incident] = []
    for minute in range(40):
        now = t0 + timedelta(minutes=minute)
        readable = not 10 <= minute < 22
        truth = FleetTruth(at=now, clusters=[ClusterTruth(
            "ran-east", "ran-east", None, Health.CRITICAL if readable else Health.OFFLINE, 0, 0,
            [freerun] if readable else [],
            {"metrics": Coverage.READ if readable else Coverage.UNREACHABLE})])  # fmt: skip
        unread = set() if readable else {"ran-east"}
        incidents, _ = group(incidents, finding_signals(truth, now), now, unread=unread)
        if minute == 2:
            incidents = [acknowledge(i, now) for i in incidents]
        if minute == 20:  # held, and it says why
            (held,) = incidents
            assert held.unread == ["ran-east"]
            assert held.held_because.startswith("held open: ran-east cannot be read")
    (only,) = incidents
    assert only.state is IncidentStatus.ACKNOWLEDGED and only.opened_at == t0
    assert only.unread == [] and not only.held_because


@pytest.mark.asyncio
async def test_a_breach_that_peaked_early_and_lasts_stays_an_incident_signal(core: Core) -> None:
    """A GPU at 92 C, then 82 C (still critical) for two hours: its episode's worst point is
    two hours old, but the live rounds find it still going on, so it is still offered to
    its incident (the store's last hour, read by worst point, had dropped it after an hour)."""
    labels = {"Hostname": "n1", "gpu": "0"}
    start = core.now().timestamp() - 2 * 3600
    rng = np.random.default_rng(3)
    ts = start + 30.0 * np.arange(240)
    temps = np.where(np.arange(240) < 40, 60.0, 82.0) + rng.normal(0, 0.3, 240)
    temps[40] = 92.0  # the worst, at the start of the breach
    for chunk in range(0, 240, 8):
        core.anomalies._live.append("east", "gpu_temperature", labels, ts[chunk : chunk + 8],
                                    temps[chunk : chunk + 8])  # fmt: skip
        await core.anomalies.analyse_live(force=True)
    offered = [s for s in await core.incidents.signals() if s.source == "anomaly"]
    assert len(offered) == 1 and "gpu_temperature" in offered[0].key
    assert offered[0].last_seen >= core.now() - timedelta(minutes=1)  # alive now
    assert offered[0].first_seen.timestamp() <= ts[41]


@pytest.mark.asyncio
async def test_the_service_holds_the_incidents_of_a_cluster_the_fleet_cannot_read(
    core: Core,
) -> None:
    """The fleet's truth says east's metrics are unreachable (or stale): its incident, unseen
    for 20 min, is held open and says why; once east reads again it resolves."""
    from aiops_desktop.models.fleet import ClusterTruth, Coverage, FleetTruth, Health

    now = core.now()
    old = signal("finding|east|x", "east", at=now - timedelta(minutes=30)).model_copy(
        update={"last_seen": now - timedelta(minutes=20)})  # fmt: skip
    grouped, _ = group([], [old], now - timedelta(minutes=20))
    await asyncio.wrap_future(core.incidents.repo.save(grouped))

    def truth(coverage: Coverage) -> FleetTruth:
        return FleetTruth(at=now, clusters=[ClusterTruth(
            "east", "east", None, Health.OFFLINE, 0, 0, [], {"metrics": coverage})])  # fmt: skip

    for dark in (Coverage.UNREACHABLE, Coverage.STALE):
        core.fleet.last = truth(dark)
        (held,) = await core.incidents.refresh()
        assert held.state is IncidentStatus.OPEN and held.unread == ["east"]
    core.fleet.last = truth(Coverage.READ)
    (done,) = await core.incidents.refresh()
    assert done.state is IncidentStatus.RESOLVED and done.unread == []


def _its_life(t0: datetime) -> Incident:
    """A GPU WARNING at t0 that became an XID 79 at +20 min, acknowledged at +25, joined by
    a node signal at +30, both ended by +45 and resolved then."""
    gpu = signal("alert|east|gpu", "east", at=t0, subject="gpu-1/gpu3", alert="GpuDegraded")
    gpu = gpu.model_copy(update={"reason": "GPU temperature 78 C"})
    grouped, _ = group([], [gpu], t0)
    xid = gpu.model_copy(update={"severity": FindingSeverity.CRITICAL, "last_seen": t0 + timedelta(
        minutes=20), "reason": "XID 79 GPU has fallen off the bus"})  # fmt: skip
    grouped, _ = group(grouped, [xid], t0 + timedelta(minutes=20))
    grouped = [acknowledge(grouped[0], t0 + timedelta(minutes=25))]
    node = signal("node|east", "east", at=t0 + timedelta(minutes=30), subject="gpu-1/gpu3")
    grouped, _ = group(grouped, [node], t0 + timedelta(minutes=30))
    (ended,), _ = group(grouped, [], t0 + timedelta(minutes=30) + RESOLVE_AFTER)
    assert ended.state is IncidentStatus.RESOLVED and ended.severity is FindingSeverity.CRITICAL
    assert len(ended.signals) == 2 and ended.title.endswith("(+1 signal)")
    return ended


def test_an_incident_as_it_stood_at_a_past_moment() -> None:
    t0 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    ended = _its_life(t0)
    assert as_it_stood(ended, t0 - timedelta(seconds=1)) is None  # not opened yet
    early = as_it_stood(ended, t0 + timedelta(minutes=10))
    assert early is not None and early.id == ended.id
    assert (early.state, early.severity) == (IncidentStatus.OPEN, FindingSeverity.WARNING)
    assert early.title == "east: gpu-1/gpu3: GPU temperature 78 C"  # one signal, its version
    assert early.signals[0].last_seen <= t0 + timedelta(minutes=10)
    assert early.acknowledged_at is None and early.resolved_at is None
    acked = as_it_stood(ended, t0 + timedelta(minutes=26))
    assert acked is not None and acked.state is IncidentStatus.ACKNOWLEDGED
    assert acked.severity is FindingSeverity.CRITICAL and "XID 79" in acked.title
    assert len(acked.signals) == 1
    assert as_it_stood(ended, t0 + timedelta(hours=2)) == ended  # as it is now


@pytest.mark.asyncio
async def test_a_past_period_s_incident_report_shows_each_incident_as_it_stood(
    core: Core,
) -> None:
    """The report of a shift that ended while the GPU was only warm lists its incident OPEN,
    WARNING, with its one signal of then; not RESOLVED and CRITICAL as it is now."""
    from aiops_desktop.models.reports import ReportType
    from aiops_desktop.services.outputs.reports import gather

    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    from aiops_desktop.models import EndpointKind

    unreachable = {EndpointKind.PROMETHEUS: "http://127.0.0.1:9"}  # the report reads the store
    await core.registry.add(ClusterSpec(name="east", endpoint_urls=unreachable), ClusterSecrets())
    await asyncio.wrap_future(core.incidents.repo.save([_its_life(t0)]))
    inputs = await gather(core, ReportType.INCIDENT, ["east"], timedelta(hours=1),
                          t0 + timedelta(minutes=10))  # fmt: skip
    (then,) = inputs.incidents
    assert (then.state, then.severity) == (IncidentStatus.OPEN, FindingSeverity.WARNING)
    assert "XID" not in then.title and len(then.signals) == 1
    now = await gather(core, ReportType.INCIDENT, ["east"], timedelta(hours=4))
    assert [(i.state, i.severity) for i in now.incidents] == [
        (IncidentStatus.RESOLVED, FindingSeverity.CRITICAL)]  # fmt: skip


def test_a_signal_is_compared_only_with_the_incidents_it_may_belong_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """2,000 anomalies on 2,000 nodes of one cluster are 2,000 incidents, found without
    comparing each with every incident of its cluster (the square took 46 s for 5,000 in a
    crafted capture); one that shares a node with an earlier one still joins it."""
    import analysis.incidents as grouping

    calls = [0]
    belongs = grouping._belongs

    def counted(signal: IncidentSignal, incident: Incident) -> bool:
        calls[0] += 1
        return belongs(signal, incident)

    monkeypatch.setattr(grouping, "_belongs", counted)
    apart = [signal(f"a{i}", "east", at=T0 + timedelta(seconds=i), subject=f"node n{i}")
             for i in range(2000)]  # fmt: skip
    again = signal("b", "east", at=T0 + timedelta(seconds=60), subject="node n7")
    incidents, _ = group([], [*apart, again], T0 + timedelta(seconds=2001))
    assert len(incidents) == 2000 and calls[0] == 1  # only n7's incident was a candidate
    assert [s.key for s in next(i for i in incidents if len(i.signals) == 2).signals] == [
        "a7", "b"]  # fmt: skip


def test_a_finding_whose_value_moves_is_one_signal_in_new_versions() -> None:
    """A PTP offset read 350, 352, 347, 361 ns over four refreshes is one signal whose reason
    is the newest (the older ones kept as versions), not four signals ("+3 signals")."""
    from aiops_desktop.services.intelligence.incidents import finding_kind, finding_signals

    assert finding_kind("offset -350 ns beyond +/-100 ns") == "offset # ns beyond +/# ns"
    assert finding_kind("offset 1.23457e+06 ns beyond +/-100 ns") == finding_kind(
        "offset 999999 ns beyond +/-100 ns"
    )  # a clock drifting past 1 ms: the same signal
    assert finding_kind("clock in FREERUN (clock class 248)") == "clock in FREERUN"
    assert finding_kind("XID 79 GPU has fallen off the bus: drain") != finding_kind(
        "XID 48 double-bit ECC error"
    )  # a new XID is news, not a new value
    incidents: list[Incident] = []
    for n, ns in enumerate((350, 352, 347, 361)):
        now = T0 + timedelta(seconds=30 * n)
        finding = Finding(Domain.PTP, FindingSeverity.WARNING, "du-4/ens1f0 (ptp4l)",
                          f"offset {ns} ns beyond +/-100 ns", since=T0)  # fmt: skip
        truth = FleetTruth(at=now, clusters=[ClusterTruth(
            "ran-west", "ran-west", None, Health.DEGRADED, 80, 0, [finding],
            {"metrics": Coverage.READ})])  # fmt: skip
        incidents, _ = group(incidents, finding_signals(truth, now), now)
    (incident,) = incidents
    (kept,) = incident.signals
    assert kept.reason == "offset 361 ns beyond +/-100 ns"
    assert incident.title == "ran-west: du-4/ens1f0 (ptp4l): offset 361 ns beyond +/-100 ns"
    assert kept.as_of(T0).reason == "offset 350 ns beyond +/-100 ns"


def test_an_anomaly_s_incident_title_names_its_place() -> None:
    """'ran-east: node_cpu: 25.3% vs expected…' did not say which node: the title names the
    anomaly's node (or pod, GPU, port) before its metric."""
    cpu = signal("anomaly|east|cpu", "ran-east", subject="node_cpu").model_copy(
        update={
            "entity": "ran-east node east-1-node-0",
            "reason": "25.3% vs expected 19.62% (+29 %)",
        }
    )
    (incident,), _ = group([], [cpu], T0)
    assert (
        incident.title == "ran-east: node east-1-node-0: node_cpu: 25.3% vs expected 19.62% (+29 %)"
    )
    bare = cpu.model_copy(update={"key": "anomaly|east|other", "entity": "ran-east"})
    (alone,), _ = group([], [bare], T0)
    assert alone.title == "ran-east: node_cpu: 25.3% vs expected 19.62% (+29 %)"
    # the timeline's rows (the page, `incidents`) name it alike: the metric alone did not
    assert cpu.place == "node east-1-node-0: node_cpu" and bare.place == "node_cpu"


@pytest.mark.asyncio
async def test_a_past_span_s_capture_holds_each_incident_as_it_stood(
    core: Core, tmp_path: Path
) -> None:
    """Exported for a span that ended while the GPU was only warm, the capture holds the
    incident OPEN and WARNING with its one signal of then (it held it as it is now:
    RESOLVED, CRITICAL, two signals, dated after the capture's end)."""
    from aiops_desktop.models import EndpointKind
    from aiops_desktop.services.outputs.capture import export_capture, open_capture

    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    unreachable = {EndpointKind.PROMETHEUS: "http://127.0.0.1:9"}
    await core.registry.add(ClusterSpec(name="east", endpoint_urls=unreachable), ClusterSecrets())
    await asyncio.wrap_future(core.incidents.repo.save([_its_life(t0)]))
    out = tmp_path / "past.aiops"
    await export_capture(core, out, clusters=["east"], since=timedelta(hours=1),
                         until=t0 + timedelta(minutes=10))  # fmt: skip
    opened = open_capture(out)
    try:
        (then,) = opened.incidents.repo.list()
        assert (then.state, then.severity) == (IncidentStatus.OPEN, FindingSeverity.WARNING)
        assert len(then.signals) == 1 and "XID" not in then.title
        assert then.updated_at <= t0 + timedelta(minutes=10)
    finally:
        await opened.shutdown()
