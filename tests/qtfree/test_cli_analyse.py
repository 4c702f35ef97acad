"""`aiops-desktop analyse` against a real Prometheus holding a series with a known anomaly."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.settings import resolve_paths
from tests.qtfree.cli_runner import run_cli
from tests.servers.prometheus import RunningPrometheus, openmetrics, start_prometheus

pytestmark = pytest.mark.integration

STEP_S = 15
COUNT = 1440  # six hours
SPIKE_AT = 1200
NOISE = np.random.default_rng(7).normal(0, 1.0, COUNT)


def queue_depth(i: int) -> float:
    return round(float(40 + NOISE[i] + (35 if SPIKE_AT <= i < SPIKE_AT + 3 else 0)), 3)


def ptp_offset(i: int) -> float:
    return float(250 if i in (700, 701) else 10 + int(NOISE[i] * 5))


@pytest.fixture(scope="module")
def incident_prometheus(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningPrometheus, int]]:
    start = int(time.time()) // STEP_S * STEP_S - COUNT * STEP_S
    text = openmetrics(
        [
            ("app_queue_depth", {"service": "checkout"}, queue_depth),
            ("openshift_ptp_offset_ns", {"node": "du-1", "iface": "ens1f0"}, ptp_offset),
        ],
        start,
        COUNT,
        STEP_S,
    )
    server = start_prometheus(tmp_path_factory.mktemp("prom-incident"), text)
    try:
        yield server, start
    finally:
        server.stop()


def test_analyse_finds_the_spike_once_and_the_ptp_breach(
    tmp_path: Path, secret_service, incident_prometheus
) -> None:  # type: ignore[no-untyped-def]
    server, start = incident_prometheus
    env = dict(secret_service.env)
    home = tmp_path / "home"
    added = run_cli(home, env, "clusters", "add", "east-1", "--prometheus-url", server.url)
    assert added.returncode == 0, added.stderr
    args = ("analyse", "--clusters", "east-1", "--query", "app_queue_depth", "--since", "6h")
    first = run_cli(home, env, *args, "--json")
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["series"] == 1 and doc["sensitivity"] == "MEDIUM"
    # the spike, and at most a LOW novelty of the noise (a new extreme: new, but small)
    serious = [a for a in doc["anomalies"] if a["severity"] != "LOW"]
    assert len(serious) == 1, [a["explanation"] for a in doc["anomalies"]]
    assert len(doc["anomalies"]) <= 2
    [spike] = serious
    assert spike["type"] == "SPIKE" and spike["severity"] == "HIGH"
    assert spike["labels"] == {"service": "checkout"} and spike["cluster"] == "east-1"
    at = time.mktime(time.strptime(spike["timestamp"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert abs(at - (start + SPIKE_AT * STEP_S)) <= 3 * STEP_S
    assert spike["actual"] == pytest.approx(75, abs=4)
    assert spike["expected"] == pytest.approx(40, abs=2)

    again = run_cli(home, env, *args)  # the table, and the same episode is not stored twice
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"{len(doc['anomalies'])} anomalies in 1 series")
    assert "SPIKE" in again.stdout and 'service="checkout"' in again.stdout
    with closing(sqlite3.connect(resolve_paths(home).db_path)) as db:
        assert db.execute("SELECT COUNT(*) FROM anomalies").fetchone()[0] == len(doc["anomalies"])

    ptp = run_cli(
        home, env, "analyse", "--clusters", "east-1", "--query", "openshift_ptp_offset_ns",
        "--since", "6h", "--json",
    )  # fmt: skip
    assert ptp.returncode == 0, ptp.stderr
    breaches = [a for a in json.loads(ptp.stdout)["anomalies"] if a["method"] == "DOMAIN_RULE"]
    assert len(breaches) == 1
    assert (
        breaches[0]["type"] == "THRESHOLD_BREACH" and "250 ns beyond" in breaches[0]["explanation"]
    )


def test_analyse_says_what_is_wrong(tmp_path: Path, secret_service, incident_prometheus) -> None:  # type: ignore[no-untyped-def]
    server, _ = incident_prometheus
    env = dict(secret_service.env)
    home = tmp_path / "home"
    run_cli(home, env, "clusters", "add", "east-1", "--prometheus-url", server.url)
    bad = run_cli(home, env, "analyse", "--clusters", "east-1", "--query", "rate(", "--since", "1h")
    assert bad.returncode == 2  # invalid input, live as on a capture
    assert "parse error" in bad.stderr
    wrong = run_cli(home, env, "analyse", "--query", "up", "--sensitivity", "paranoid")
    assert wrong.returncode == 2 and "choose one of LOW, MEDIUM, HIGH, EXTREME" in wrong.stderr


def test_analyse_runs_the_classic_methods_on_demand(  # type: ignore[no-untyped-def]
    tmp_path: Path, secret_service, incident_prometheus
) -> None:
    server, _ = incident_prometheus
    env = dict(secret_service.env)
    home = tmp_path / "home"
    run_cli(home, env, "clusters", "add", "east-1", "--prometheus-url", server.url)
    args = ("analyse", "--clusters", "east-1", "--query", "app_queue_depth", "--since", "6h")
    classic = run_cli(home, env, *args, "--methods", "mad,level_shift", "--json")
    assert classic.returncode == 0, classic.stderr
    found = json.loads(classic.stdout)["anomalies"]
    assert found and {a["method"] for a in found} <= {"MAD", "LEVEL_SHIFT"}
    bad = run_cli(home, env, *args, "--methods", "magic")
    assert bad.returncode == 2 and "'magic': choose from CONTEXT, ZSCORE" in bad.stderr


def test_analyse_of_a_short_window_judges_all_of_it(
    tmp_path: Path, secret_service, incident_prometheus
) -> None:  # type: ignore[no-untyped-def]
    """The detector learns from a series' first 750 samples: `analyse --since 70m` (280
    points) judged none of them and said "0 anomalies" over a spike of 35 in a noise of 1.
    The samples it learns from are read before the window; what they hold is not reported,
    and a series that began within them is said to be judged only in part."""
    server, _ = incident_prometheus
    env = dict(secret_service.env)
    home = tmp_path / "home"
    run_cli(home, env, "clusters", "add", "east-1", "--prometheus-url", server.url)
    args = ("--role", "viewer", "analyse", "--clusters", "east-1", "--query", "app_queue_depth")
    short = run_cli(home, env, *args, "--since", "70m", "--json")
    assert short.returncode == 0, short.stderr
    doc = json.loads(short.stdout)
    spikes = [a for a in doc["anomalies"] if a["type"] == "SPIKE" and a["severity"] == "HIGH"]
    assert len(spikes) == 1 and spikes[0]["actual"] == pytest.approx(75, abs=4)
    assert doc["partly_judged"] == 0 and doc["lead_points"] == 750 and "note:" not in short.stderr
    asked_from = time.time() - 70 * 60 - 60
    for a in doc["anomalies"]:  # nothing from the samples read only to learn from
        last = a["last_at"] or a["timestamp"]
        at = time.mktime(time.strptime(last[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        assert at >= asked_from, a
    # all six hours: the first 750 samples (about 3 h) were there only to learn from
    whole = run_cli(home, env, *args, "--since", "6h", "--json")
    assert whole.returncode == 0, whole.stderr
    assert json.loads(whole.stdout)["partly_judged"] == 1
    assert "note: 1 of 1 series began less than 750 points before the window" in whole.stderr


def test_analyse_keeps_nothing_found_in_what_it_read_only_to_learn_from(
    tmp_path: Path, secret_service, incident_prometheus
) -> None:  # type: ignore[no-untyped-def]
    """The PTP breach 185 min ago lies in the lead read before a 60 min window: neither said
    nor stored (it was stored unsaid, and would join an incident)."""
    server, _ = incident_prometheus
    env = dict(secret_service.env)
    home = tmp_path / "home"
    run_cli(home, env, "clusters", "add", "east-1", "--prometheus-url", server.url)
    args = ("analyse", "--clusters", "east-1", "--query", "openshift_ptp_offset_ns")
    done = run_cli(home, env, *args, "--since", "60m", "--json")
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)["anomalies"]
    assert not [a for a in said if a["method"] == "DOMAIN_RULE"]
    with closing(sqlite3.connect(resolve_paths(home).db_path)) as db:  # only what was said
        assert db.execute("SELECT COUNT(*) FROM anomalies").fetchone()[0] == len(said)
    wider = run_cli(home, env, *args, "--since", "4h", "--json")  # the breach in the window
    assert wider.returncode == 0, wider.stderr
    assert [a["method"] for a in json.loads(wider.stdout)["anomalies"]].count("DOMAIN_RULE") == 1
