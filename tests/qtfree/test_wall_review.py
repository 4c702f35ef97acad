"""The wall's model, found in review: an alert's text from the server is cut before it reaches
a tile; one build reads the live buffers' cluster list and indexes the truth once, not once
per cluster; the alerts page says unread Alertmanagers whatever fires, and an INFO group does
not set its state (only INFO firing, every Alertmanager read: OK); GPU and PTP figures hours
old are not OK; the incidents reader survives any error; pages are shown worst first;
``--pages`` names each page once; ``wall`` refuses ``--view`` and honours ``--size``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.cli import build_parser
from aiops_desktop.cli.wall import parse_pages
from aiops_desktop.models import AlertSeverity, EndpointKind, utcnow
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.fleet import ClusterTruth, Coverage, FleetTruth, Health
from aiops_desktop.models.polling import Source, SourceStatus
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.models.wall import RANK
from aiops_desktop.services.core import Core
from aiops_desktop.services.fleet import findings
from aiops_desktop.services.outputs.wall import ALERT_GROUPS
from tests.qtfree.cli_runner import call_main

NOW = utcnow().replace(microsecond=0)
T_NOW, T_OLD = NOW.timestamp(), NOW.timestamp() - 6 * 3600


async def add(core: Core, *names: str, gpus: int = 0, ptp: bool = False,
              alertmanager: bool = False) -> None:  # fmt: skip
    caps = {"gpu_count": gpus, "gpu_nodes": 1 if gpus else 0, "has_ptp": ptp}
    urls = {EndpointKind.PROMETHEUS: "http://127.0.0.1:9"}
    if alertmanager:
        urls[EndpointKind.ALERTMANAGER] = "http://127.0.0.1:9"
    for name in names:
        await core.registry.add(ClusterSpec(name=name, endpoint_urls=urls))
        if gpus or ptp:
            await core.registry.change(name, lambda c: c.model_copy(update={
                "capabilities": c.capabilities.model_copy(update=caps)}))  # fmt: skip


def put(core: Core, cluster: str, panel: str, labels: dict[str, str], t: float, v: float) -> None:
    core.live.append(cluster, panel, labels, np.array([t]), np.array([v]))


def read_truth(core: Core, monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Every cluster judged OK, with no finding, its metrics and findings read."""
    read = {"metrics": Coverage.READ, "alerts": Coverage.NOT_CONFIGURED,
            "findings": Coverage.READ}  # fmt: skip
    truth = FleetTruth(NOW, [ClusterTruth(n, n, None, Health.OK, 100, 5.0, [], dict(read))
                             for n in names])  # fmt: skip
    monkeypatch.setattr(core.fleet, "snapshot", lambda: truth)
    monkeypatch.setattr(core.fleet, "last", truth)


# -- #1: an alert's text from the server is cut before it reaches a tile -----------------------
def test_an_alerts_text_is_cut_in_its_finding() -> None:
    most = findings.ALERT_TEXT_CHARS
    huge = Alert(fingerprint="f1", cluster="east-1", name="HostDown " * 100_000,
                 severity=AlertSeverity.CRITICAL, starts_at=NOW,
                 labels={"namespace": "ns " * 100_000},
                 annotations={"summary": "node not ready " * 70_000})  # fmt: skip
    small = Alert(fingerprint="f2", cluster="east-1", name="KubeletDown",
                  severity=AlertSeverity.WARNING, starts_at=NOW,
                  labels={"namespace": "kube-system"},
                  annotations={"summary": "kubelet down"})  # fmt: skip
    cut, kept = findings.alert_findings([huge, small])
    assert len(cut.subject) <= most and cut.subject.endswith("…")
    assert len(cut.reason) <= most and cut.reason.endswith("…")
    assert cut.reason.startswith("node not ready node not ready")
    assert cut.key == "f1"  # the alert's identity is its own, not the cut text's
    assert (kept.subject, kept.reason) == ("KubeletDown (kube-system)", "kubelet down")


# -- #2: one build reads the cluster list and the truth once -----------------------------------
@pytest.mark.asyncio
async def test_a_build_does_not_scan_per_cluster(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"site-{n:02d}" for n in range(12)]
    await add(core, *names, gpus=2, ptp=True)
    for name in names:
        put(core, name, "gpu_temperature", {"Hostname": "n1", "gpu": "0"}, T_NOW, 50.0)
        put(core, name, "ptp_clock_state", {"node": "du-1", "iface": "ens1"}, T_NOW, 1.0)
    read_truth(core, monkeypatch, *names)
    listed = core.live.clusters
    calls = {"clusters": 0, "get": 0}

    def counted() -> list[str]:
        calls["clusters"] += 1
        return listed()

    def scanned(self: FleetTruth, name: str) -> ClusterTruth | None:
        calls["get"] += 1
        return next((c for c in self.clusters if c.name == name), None)

    monkeypatch.setattr(core.live, "clusters", counted)
    monkeypatch.setattr(FleetTruth, "get", scanned)
    model = core.wall.build(["gpu", "ptp"], now=NOW)
    assert [len(p.tiles) for p in model.pages] == [12, 12]
    assert all(t.state == "OK" for p in model.pages for t in p.tiles)
    assert calls["clusters"] <= 2  # once a page, not once a cluster (was 24)
    assert calls["get"] == 0  # the truth indexed by name once (was a scan a cluster)


# -- #3: unread Alertmanagers said while something fires ------------------------------------
@pytest.mark.asyncio
async def test_unread_alertmanagers_are_said_while_alerts_fire(core: Core) -> None:
    await add(core, "east-1", "west-2", alertmanager=True)
    core.poller.status[("east-1", Source.ALERTS)] = SourceStatus(
        "east-1", Source.ALERTS, 10, NOW, NOW, 5.0, 0, 0, 3)  # fmt: skip
    core.poller.status[("west-2", Source.ALERTS)] = SourceStatus(
        "west-2", Source.ALERTS, 10, NOW, None, None, 30, 30, 30, "connect timeout")  # fmt: skip
    core.poller.alerts["east-1"] = [Alert(
        fingerprint="w1", cluster="east-1", name="Watchdog", severity=AlertSeverity.INFO,
        labels={"alertname": "Watchdog", "severity": "none"}, starts_at=NOW)]  # fmt: skip
    (page,) = core.wall.build(["alerts"], now=NOW).pages
    shown = {t.title: t for t in page.tiles}
    assert shown["Watchdog"].state == "OK"  # INFO: neutral, the page's state is not its
    unread = shown["Alertmanagers not read"]
    assert unread.state == "UNKNOWN"
    assert unread.lines[0] == "1 of 2 Alertmanagers read"
    assert any("west-2" in line for line in unread.lines[1:])
    assert page.worst == "UNKNOWN"
    # every Alertmanager read: no such tile, and the INFO group alone is still not OK
    core.poller.status[("west-2", Source.ALERTS)] = SourceStatus(
        "west-2", Source.ALERTS, 10, NOW, NOW, 5.0, 0, 0, 3)  # fmt: skip
    (page,) = core.wall.build(["alerts"], now=NOW).pages
    assert [t.title for t in page.tiles] == ["Watchdog"]


# -- review of the above: Watchdog alone firing on a fleet read whole is OK ---------------------
@pytest.mark.asyncio
async def test_only_info_firing_on_a_fleet_read_whole_is_ok(core: Core) -> None:
    """OpenShift's Watchdog fires for ever by design: an INFO group does not set the page's
    state (it was UNKNOWN for ever, so the page never read OK and stayed ahead of OK pages);
    what was not read still does."""
    names = [f"c{i:02d}" for i in range(ALERT_GROUPS + 2)]
    await add(core, *names, alertmanager=True)
    for i, name in enumerate(names):
        core.poller.status[(name, Source.ALERTS)] = SourceStatus(
            name, Source.ALERTS, 10, NOW, NOW, 5.0, 0, 0, 3)  # fmt: skip
        core.poller.alerts[name] = [Alert(  # one INFO group each, more than a page shows
            fingerprint=f"w-{name}", cluster=name, name=f"Info{i:02d}",
            severity=AlertSeverity.INFO, labels={"severity": "none"}, starts_at=NOW)]  # fmt: skip
    model = core.wall.build(["alerts"], now=NOW)
    (page,) = model.pages
    assert page.worst == "OK", [(t.title, t.state) for t in page.tiles]
    assert {t.state for t in page.tiles} == {"OK"}
    assert page.tiles[-1].title == "More alert groups"  # counted in, OK as they are
    assert all(t.lines[0] == "1 firing · INFO" for t in page.tiles[:-1])  # still said
    # one Alertmanager not read: what fires is not all that may, UNKNOWN
    core.poller.status[("c00", Source.ALERTS)] = SourceStatus(
        "c00", Source.ALERTS, 10, NOW, None, None, 30, 30, 30, "connect timeout")  # fmt: skip
    (page,) = core.wall.build(["alerts"], now=NOW).pages
    assert page.worst == "UNKNOWN"
    assert page.tiles[-1].title == "Alertmanagers not read"


# -- #5: GPU and PTP figures hours old are not OK -----------------------------------------------
@pytest.mark.asyncio
async def test_hours_old_gpu_and_ptp_figures_are_not_ok(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add(core, "old-1", "new-1", gpus=8, ptp=True)
    for name, t in (("old-1", T_OLD), ("new-1", T_NOW)):
        put(core, name, "gpu_temperature", {"Hostname": "n1", "gpu": "0"}, t, 50.0)
        put(core, name, "gpu_util", {"Hostname": "n1", "gpu": "0"}, t, 40.0)
        put(core, name, "ptp_clock_state", {"node": "du-1", "iface": "ens1"}, t, 1.0)
    read_truth(core, monkeypatch, "old-1", "new-1")
    for page in core.wall.build(["gpu", "ptp"], now=NOW).pages:
        shown = {t.title: t for t in page.tiles}
        old, new = shown["old-1"], shown["new-1"]
        assert old.stale and old.state == "UNKNOWN", page.name
        assert old.lines[0].startswith("UNKNOWN · no "), old.lines
        assert not new.stale and new.state == "OK"
        assert page.worst == "UNKNOWN"


# -- #6: the incidents reader survives any error, said once a kind -----------------------------
@pytest.mark.asyncio
async def test_the_incidents_reader_goes_on_after_any_error(
    core: Core, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aiops.services.wall")
    calls = {"n": 0}
    real = core.incidents.listed

    async def flaky():  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if 2 <= calls["n"] <= 5:  # the same error four times over
            raise sqlite3.OperationalError("disk I/O error")
        if calls["n"] == 6:
            raise ValueError("something else")
        return await real()

    monkeypatch.setattr(core.incidents, "listed", flaky)
    task = asyncio.ensure_future(core.wall.follow_incidents(every_s=0.01))
    try:
        for _ in range(500):
            await asyncio.sleep(0.01)
            if calls["n"] >= 8:
                break
        assert not task.done(), task.exception() if task.done() else None
        assert calls["n"] >= 8
        assert core.wall.incidents_read is not None
        said = [r.getMessage() for r in caplog.records if "incidents" in r.getMessage()]
        assert len(said) == 2, said  # once for the sqlite error, once for the other
        assert "disk I/O error" in said[0] and "something else" in said[1]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


# -- #8: pages worst first -----------------------------------------------------------------------
@pytest.mark.asyncio
async def test_pages_are_shown_worst_first(core: Core) -> None:
    await add(core, "east-1")
    core.poller.alerts["east-1"] = [Alert(fingerprint="f", cluster="east-1",
                                          name="KubeletDown", severity=AlertSeverity.WARNING,
                                          starts_at=NOW)]  # fmt: skip
    model = core.wall.build(["fleet", "incidents", "alerts"], now=NOW)
    worsts = [(p.name, p.worst) for p in model.pages]
    assert [RANK[w] for _, w in worsts] == sorted(RANK[w] for _, w in worsts), worsts
    # within a state, the order asked for (the fleet judges east-1 by its alert too)
    assert worsts == [("fleet", "WARNING"), ("alerts", "WARNING"), ("incidents", "UNKNOWN")]


# -- #7: --pages names each page once -----------------------------------------------------------
def test_a_page_named_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"fleet.*more than once"):
        parse_pages("fleet,gpu,fleet")
    assert parse_pages("gpu, fleet") == ["gpu", "fleet"]
    code, _, err = call_main(tmp_path / "home", "wall", "--pages", "fleet,fleet,gpu")
    assert code == 2 and "more than once" in err, err


# -- #9: wall refuses --view, honours --size ----------------------------------------------------
def test_wall_refuses_view(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aiops_desktop import wall_app

    started: list[object] = []

    def run_qt(*args: object, **kw: object) -> int:
        started.append(args)
        return 0

    monkeypatch.setattr(wall_app, "run_qt", run_qt)
    code, _, err = call_main(tmp_path / "home", "--view", "gpu", "wall")
    assert code == 2
    assert "--view" in err and "--pages" in err, err
    assert not started  # refused before the wall starts
    assert call_main(tmp_path / "home", "wall")[0] == 0 and len(started) == 1


def test_wall_honours_size() -> None:
    from aiops_desktop.wall_app import window_size

    parser = build_parser()
    assert window_size(parser.parse_args(["wall"])) is None  # full screen
    assert window_size(parser.parse_args(["--size", "800x600", "wall"])) == (800, 600)
    shot = parser.parse_args(["--screenshot", "w.png", "wall"])
    assert window_size(shot) == (1400, 900)  # a screenshot: the default window
