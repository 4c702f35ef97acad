"""The PTP timing board: linuxptp-daemon series of a fleet backfilled into a real Prometheus (a
fleet hub), read worst first; compliance checked against a calculation done here from the
fixture's own definition."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop.models import ClusterKind, EndpointKind
from aiops_desktop.models.ptp import ClockState, Threshold
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.services.core import Core
from aiops_desktop.services.gpu_cnf.ptp import read_ptp_board
from aiops_desktop.services.kube.session import KubeSession
from analysis.ptp_profiles import node_thresholds
from tests.qtfree.cli_runner import run_cli
from tests.servers.kube_api import RunningKubeApi
from tests.servers.ptp_fleet import COUNT, STEP_S, offset, state

pytestmark = pytest.mark.integration


def expected(
    cluster: str, node: str, threshold: float = 100.0, timeout_s: float = 5.0
) -> dict[str, float]:
    """Compliance from the fixture's definition: every sample stands for STEP_S seconds."""
    states = [state(cluster, node)(i) for i in range(COUNT)]
    offsets = [offset(cluster, node)(i) for i in range(COUNT)]
    runs, run = [], 0
    for s in [*states, -1.0]:
        if s == 2.0:
            run += 1
        elif run:
            runs.append(run * STEP_S)
            run = 0
    return {
        "locked_pct": 100.0 * states.count(1.0) / COUNT,
        "within_pct": 100.0 * sum(abs(o) <= threshold for o in offsets) / COUNT,
        "holdover_s": states.count(2.0) * STEP_S,
        "freerun_s": states.count(0.0) * STEP_S,
        "long_holdovers": sum(1 for r in runs if r > timeout_s),
    }


async def add_hub(core: Core, ptp_hub) -> datetime:  # type: ignore[no-untyped-def]
    """Register the PTP hub; the time of its last sample (where the fixture's hour ends)."""
    server, start = ptp_hub
    await core.registry.add(
        ClusterSpec(name="ran-hub", kind=ClusterKind.FLEET,
                    endpoint_urls={EndpointKind.PROMETHEUS: server.url})
    )  # fmt: skip
    return datetime.fromtimestamp(start + (COUNT - 1) * STEP_S, UTC)


@pytest.mark.asyncio
async def test_board_worst_first_with_compliance(core: Core, ptp_hub) -> None:  # type: ignore[no-untyped-def]
    last = await add_hub(core, ptp_hub)
    board = await read_ptp_board(
        core.queries, core.registry.clusters(), window=timedelta(seconds=COUNT * STEP_S), end=last
    )
    assert board.outcomes == [] and len(board.rows) == 14
    lost, drift = board.rows[0], board.rows[1]
    assert (lost.cluster, lost.node, lost.state) == ("ran-east", "du-2", ClockState.FREERUN)
    assert lost.offset_ns == 350 and lost.clock_class == 165 and lost.role == "SLAVE"
    assert "clock class 165: T-BC holdover, out of spec" in lost.notes
    assert (drift.cluster, drift.node, drift.state) == ("ran-west", "du-4", ClockState.LOCKED)
    assert drift.offset_ns == 20 + 3 * (COUNT - 1 - 150) and drift.offset_in is False
    assert all(r.state is ClockState.LOCKED and r.offset_in for r in board.rows[2:])
    masters = [r for r in board.rows if r.role == "MASTER"]
    assert [(m.cluster, m.node, m.clock_class) for m in masters] == [
        ("ran-east", "gm-0", 6), ("ran-west", "gm-1", 6),
    ]  # fmt: skip
    assert (
        next(r for r in board.rows if r.node == "du-5" and r.cluster == "ran-west").restarts == 1
    )  # 2 starts: the first is none
    assert [(m.gnss, m.dpll_phase, m.dpll_frequency) for m in masters] == [
        ("3D fix", "locked", "locked"), ("3D fix", "locked, holdover acquired", "locked"),
    ]  # fmt: skip
    assert all(r.gnss is None for r in board.rows if r.role == "SLAVE")
    assert not any("GNSS" in n or "DPLL" in n for r in board.rows for n in r.notes)
    for row in (lost, drift, board.rows[5]):
        c, want = row.compliance, expected(row.cluster, row.node)
        assert c is not None and c.samples == COUNT
        assert c.locked_pct == pytest.approx(want["locked_pct"])
        assert c.within_pct == pytest.approx(want["within_pct"])
        assert (c.holdover_s, c.freerun_s) == (want["holdover_s"], want["freerun_s"])
        assert c.long_holdovers == want["long_holdovers"]
    assert lost.compliance is not None and lost.compliance.holdover_s == 180  # 3 minutes
    assert lost.compliance.long_holdovers == 1 and lost.compliance.longest_holdover_s == 180


def test_ptp_command_prints_the_board(tmp_path: Path, secret_service, ptp_hub) -> None:  # type: ignore[no-untyped-def]
    server, start = ptp_hub
    env, home = dict(secret_service.env), tmp_path / "home"
    added = run_cli(home, env, "clusters", "add", "ran-hub", "--kind", "fleet",
                    "--prometheus-url", server.url)  # fmt: skip
    assert added.returncode == 0, added.stderr
    # at the fixture's hour's end: the session's hub was made minutes before this test when
    # the whole suite runs, and a "now" past Prometheus's 5 min lookback reads no port
    until = datetime.fromtimestamp(start + (COUNT - 1) * STEP_S, UTC).isoformat()
    done = run_cli(home, env, "ptp", "--window", "1h", "--until", until, "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["threshold_ns"] == 100 and doc["window_s"] == 3600 and doc["errors"] == []
    first = doc["rows"][0]
    assert (first["node"], first["state"]) == ("du-2", "FREERUN")
    assert first["compliance"]["holdover_s"] == 180 and first["compliance"]["long_holdovers"] == 1
    text = run_cli(home, env, "ptp", "--threshold-ns", "50", "--until", until)
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert lines[0] == (
        "14 PTP ports, worst first; compliance over 1 h, "
        "threshold +/-50 ns unless a PtpConfig profile sets one"
    )
    assert lines[1].startswith(
        "FREERUN   ran-east/du-2/ens1f0 (ptp4l) SLAVE class 165 offset 350 ns"
    )
    assert "          - offset 350 ns beyond +/-50 ns" in text.stdout
    wrong = run_cli(home, env, "ptp", "--until", "yesterday")
    assert wrong.returncode == 2
    assert "'yesterday': use e.g. 2026-11-27T06:00:00Z or a Unix timestamp" in wrong.stderr


def test_each_node_gets_its_recommended_profiles_threshold() -> None:
    slave = {
        "name": "slave",
        "ptpClockThreshold": {
            "maxOffsetThreshold": 150,
            "minOffsetThreshold": "-120",
            "holdOverTimeout": 30,
        },
    }
    wide = {"name": "wide", "ptpClockThreshold": {"maxOffsetThreshold": 500}}
    configs = [
        {"spec": {"profile": [slave], "recommend": [
            {"profile": "slave", "priority": 10, "match": [{"nodeLabel": "ptp/slave"}]}]}},
        {"spec": {"profile": [wide, {"name": "gm"}], "recommend": [
            {"profile": "wide", "priority": 4, "match": [{"nodeName": "du-9"}]},
            {"profile": "gm", "priority": 1, "match": [{"nodeLabel": "ptp/gm"}]},
            {"profile": "missing", "priority": 0, "match": [{"nodeLabel": "ptp/slave"}]}]}},
    ]  # fmt: skip
    labels = {"du-0": {"ptp/slave": ""}, "du-9": {"ptp/slave": ""}, "gm-0": {"ptp/gm": ""},
              "other": {}}  # fmt: skip
    found = node_thresholds(configs, labels)
    assert found["du-0"] == Threshold(-120, 150, 30, "slave")
    assert found["du-9"] == Threshold(-100, 500, 5, "wide")  # priority 4 beats 10
    assert found["gm-0"] == Threshold(profile="gm")  # no ptpClockThreshold: the defaults
    assert "other" not in found
    assert found["du-0"].band == "-120..150 ns" and Threshold.symmetric(50).band == "+/-50 ns"


@pytest.mark.asyncio
async def test_a_profiles_threshold_judges_its_nodes(core: Core, ptp_hub) -> None:  # type: ignore[no-untyped-def]
    last = await add_hub(core, ptp_hub)
    wide = Threshold(-300, 300, 200, "wide")
    board = await read_ptp_board(
        core.queries, core.registry.clusters(), window=timedelta(seconds=COUNT * STEP_S),
        end=last, thresholds={("ran-west", "du-4"): wide, ("ran-east", "du-2"): wide},
    )  # fmt: skip
    drift = next(r for r in board.rows if (r.cluster, r.node) == ("ran-west", "du-4"))
    lost = next(r for r in board.rows if (r.cluster, r.node) == ("ran-east", "du-2"))
    assert drift.threshold == wide and drift.offset_in is True  # 287 ns inside +/-300
    assert not any("beyond" in n for n in drift.notes)
    assert drift.compliance is not None
    want = expected("ran-west", "du-4", 300)["within_pct"]
    assert drift.compliance.within_pct == pytest.approx(want)
    # the 180 s holdover is inside this profile's 200 s timeout
    assert lost.compliance is not None and lost.compliance.long_holdovers == 0
    assert all(r.threshold.profile == "" for r in board.rows if r.node not in ("du-2", "du-4"))


def test_ptp_command_reads_profile_thresholds_from_the_cluster(
    tmp_path: Path, secret_service, ptp_hub, kube_api: RunningKubeApi
) -> None:  # type: ignore[no-untyped-def]
    """ran-east's PtpConfig (tests/servers/kube_objects.py) gives du-4 a +/-150 ns band."""
    server, start = ptp_hub
    env, home, ca = dict(secret_service.env), tmp_path / "home", tmp_path / "ca.pem"
    ca.write_text(kube_api.ca_pem)
    added = run_cli(home, env, "clusters", "add", "ran-hub", "--kind", "fleet",
                    "--prometheus-url", server.url)  # fmt: skip
    assert added.returncode == 0, added.stderr
    added = run_cli(home, env, "clusters", "add", "ran-west", "--api-url", kube_api.url,
                    "--ca-file", str(ca), "--token-stdin", stdin="admin-token")  # fmt: skip
    assert added.returncode == 0, added.stderr
    last = datetime.fromtimestamp(start + (COUNT - 1) * STEP_S, UTC)
    window = f"{COUNT * STEP_S}s"
    done = run_cli(home, env, "ptp", "--clusters", "ran-hub", "--window", window,
                   "--until", last.isoformat(), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    drift = next(r for r in rows if (r["cluster"], r["node"]) == ("ran-west", "du-4"))
    assert drift["threshold"] == {"min_ns": -150, "max_ns": 150, "holdover_timeout_s": 30,
                                  "profile": "slave"}  # fmt: skip
    assert "offset 287 ns beyond +/-150 ns (profile slave)" in drift["notes"]
    assert drift["compliance"]["within_pct"] == pytest.approx(
        expected("ran-west", "du-4", 150)["within_pct"]
    )
    assert drift["compliance"]["samples"] == COUNT
    other = next(r for r in rows if (r["cluster"], r["node"]) == ("ran-west", "du-3"))
    assert other["threshold"]["profile"] == "" and other["threshold"]["max_ns"] == 100


@pytest.mark.asyncio
async def test_profile_thresholds_are_read_again_when_old_or_when_the_clusters_change(
    core: Core, kube_api: RunningKubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The board refreshes every 30 s; PtpConfigs and node labels are read at most every
    max_age_s, and at once after a change to the registered clusters."""
    await core.registry.add(
        ClusterSpec(name="ran-east", api_server_url=kube_api.url, ca_bundle_pem=kube_api.ca_pem),
        ClusterSecrets(token="admin-token"),
    )
    reads: list[str] = []
    objects = KubeSession.objects

    async def counted(self: KubeSession, name: str, path: str, **kw: Any) -> Any:
        reads.append(path)
        return await objects(self, name, path, **kw)

    monkeypatch.setattr(KubeSession, "objects", counted)
    first = await core.kube.ptp_thresholds(max_age_s=300)
    assert first[0] and first[1] == [] and len(reads) == 2  # PtpConfigs, then nodes
    assert await core.kube.ptp_thresholds(max_age_s=300) == first and len(reads) == 2
    await core.kube.ptp_thresholds()  # no age allowed: read again
    assert len(reads) == 4
    await core.registry.set_endpoint("ran-east", EndpointKind.PROMETHEUS, "http://127.0.0.1:9")
    assert await core.kube.ptp_thresholds(max_age_s=300) == first and len(reads) == 6
