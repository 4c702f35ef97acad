"""`query`, `alerts` and `fleet` from a script's point of view, against real servers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.qtfree.cli_runner import add_unreachable, run_cli
from tests.servers.fixtures import fresh_dataset, members_of
from tests.servers.prometheus import RunningPrometheus

run = run_cli

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fresh_members(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, RunningPrometheus]]:
    """The members' Prometheus with an hour ending now: these tests ask for "now" (instant
    queries, freshness), which the session's data, made when the session began, has left
    behind when the suite reaches them minutes later on a busy machine."""
    yield from members_of(tmp_path_factory, fresh_dataset())


@pytest.fixture
def fleet_home(
    tmp_path: Path, secret_service, fresh_members, alertmanager
) -> tuple[Path, dict[str, str]]:  # type: ignore[no-untyped-def]
    env = dict(secret_service.env)
    home = tmp_path / "home"
    alertmanager.post_alerts(
        [
            {
                "labels": {
                    "alertname": "KubeNodeNotReady",
                    "severity": "critical",
                    "cluster": "east-1",
                }
            },
            {
                "labels": {
                    "alertname": "KubeNodeNotReady",
                    "severity": "critical",
                    "cluster": "west-2",
                }
            },
            {
                "labels": {
                    "alertname": "CPUThrottlingHigh",
                    "severity": "info",
                    "cluster": "east-1",
                    "namespace": "apps",
                }
            },
        ]
    )
    for name in ("east-1", "west-2"):
        done = run(
            home,
            env,
            "clusters",
            "add",
            name,
            "--prometheus-url",
            fresh_members[name].url,
            "--alertmanager-url",
            alertmanager.url,
        )
        assert done.returncode == 0, done.stderr
    return home, env


def test_query_instant_range_and_partial(fleet_home: tuple[Path, dict[str, str]]) -> None:
    home, env = fleet_home
    ok = run(home, env, "query", "--json", "node_load1")
    assert ok.returncode == 0, ok.stderr
    result = json.loads(ok.stdout)
    assert result["status"] == "SUCCESS" and len(result["series"]) == 4
    assert {s["cluster"] for s in result["series"]} == {"east-1", "west-2"}
    summed = run(
        home, env, "query", "--range", "30m", "--step", "1m", "--agg", "sum", "sum(node_load1)"
    )
    assert summed.returncode == 0 and "east-1,west-2" in summed.stdout
    add_unreachable(home, env)
    partial = run(home, env, "query", "node_load1")
    assert partial.returncode == 3
    assert "PARTIAL: dark-9: unreachable" in partial.stderr
    assert partial.stdout.count("node_load1{") == 4
    failed = run(home, env, "query", "--clusters", "dark-9", "up")
    assert failed.returncode == 1 and "ERROR: dark-9" in failed.stderr
    bad = run(home, env, "query", "--clusters", "east-1", "sum(")
    assert bad.returncode == 2 and "parse error" in bad.stderr  # invalid input, as on a capture
    unknown = run(home, env, "query", "--clusters", "nope-1", "up")
    assert unknown.returncode == 4


def test_alerts_collapse_across_clusters(fleet_home: tuple[Path, dict[str, str]]) -> None:
    home, env = fleet_home
    out = run(home, env, "alerts", "--json")
    assert out.returncode == 0, out.stderr
    groups = {g["key"]: g for g in json.loads(out.stdout)["groups"]}
    node = groups["KubeNodeNotReady"]
    assert node["count"] >= 2 and {"east-1", "west-2"} <= set(node["clusters"])
    text = run(home, env, "alerts")
    rows = text.stdout.splitlines()[1:]
    assert rows[0].startswith("CRITICAL")  # worst first (other tests may add their alerts)
    node_row = next(r for r in rows if "KubeNodeNotReady" in r)
    assert node_row.startswith("CRITICAL") and "east-1, west-2" in node_row


def test_fleet_reports_state_and_freshness(fleet_home: tuple[Path, dict[str, str]]) -> None:
    home, env = fleet_home
    out = run(home, env, "fleet", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    east = rows["east-1"]
    assert east["coverage"] == {"metrics": "read", "alerts": "read"}
    assert east["data_age_s"] < 30
    alerts = [f for f in east["findings"] if f["domain"] == "alerts"]
    assert len(alerts) >= 2
    # a firing critical alert (KubeNodeNotReady) makes the cluster CRITICAL, whatever its
    # endpoints' health
    assert any(f["severity"] == "CRITICAL" for f in alerts) and east["state"] == "CRITICAL"
    assert east["health_score"] < 100
    add_unreachable(home, env)
    partial = run(home, env, "fleet")
    assert partial.returncode == 3  # a source could not be read
    line = next(x for x in partial.stdout.splitlines() if x.startswith("dark-9"))
    assert "OFFLINE" in line and "unreachable" in line
