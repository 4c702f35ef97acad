"""The fleet's one truth: state from findings, unknown never OK, members once.

Three real fleet hubs (Prometheus backfilled with the GPU fleet's DCGM series, the PTP
fleet's linuxptp series and kube-state-metrics) name the same member clusters; `fleet --json`
lists every member once with its findings (XID 79 and a GPU at 84 C, a port in FREERUN, a
NotReady node and a crash-looping pod) and the state they make.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiops_desktop.models.fleet import Coverage, Domain, Finding, FindingSeverity, Health
from aiops_desktop.services.fleet.state import judge
from tests.qtfree.cli_runner import run_cli
from tests.servers.kube_api import RunningKubeApi
from tests.servers.processes import free_port

READ = {"metrics": Coverage.READ, "alerts": Coverage.READ}


def finding(severity: FindingSeverity) -> Finding:
    return Finding(Domain.GPU, severity, "gpu-0/gpu1", "why")


@pytest.mark.parametrize(
    ("coverage", "found", "state", "score"),
    [
        (READ, [], Health.OK, 100),
        (READ, [FindingSeverity.CRITICAL, FindingSeverity.WARNING], Health.CRITICAL, 65),
        (READ, [FindingSeverity.WARNING, FindingSeverity.INFO], Health.DEGRADED, 88),
        ({"metrics": Coverage.READ, "alerts": Coverage.NOT_CONFIGURED}, [], Health.OK, 100),
        ({"metrics": Coverage.STALE, "alerts": Coverage.READ}, [], Health.STALE, 85),
        ({"metrics": Coverage.UNREACHABLE, "alerts": Coverage.UNREACHABLE}, [], Health.OFFLINE, 0),
        ({"metrics": Coverage.UNREACHABLE, "alerts": Coverage.READ},
         [FindingSeverity.CRITICAL], Health.CRITICAL, 60),
        ({"metrics": Coverage.NO_DATA, "alerts": Coverage.NOT_CONFIGURED}, [], Health.NO_DATA,
         None),
        ({"metrics": Coverage.NOT_CONFIGURED, "alerts": Coverage.NOT_CONFIGURED}, [],
         Health.NOT_CONFIGURED, None),
        (READ, [FindingSeverity.CRITICAL] * 5, Health.CRITICAL, 0),
    ],
)  # fmt: skip
def test_the_rule(
    coverage: dict[str, Coverage], found: list[FindingSeverity], state: Health, score: int | None
) -> None:
    assert judge(coverage, [finding(s) for s in found]) == (state, score)


@pytest.mark.integration
def test_members_of_three_hubs_get_their_findings_once(
    tmp_path: Path, secret_service, gpu_hub, ptp_hub, kube_state_hub
) -> None:  # type: ignore[no-untyped-def]
    env, home = dict(secret_service.env), tmp_path / "home"
    hubs = (("gpu-hub", gpu_hub.url), ("ksm-hub", kube_state_hub.url), ("ptp-hub", ptp_hub[0].url))
    for name, url in hubs:
        added = run_cli(home, env, "clusters", "add", name, "--kind", "fleet",
                        "--prometheus-url", url)  # fmt: skip
        assert added.returncode == 0, added.stderr
    done = run_cli(home, env, "fleet", "--json")
    assert done.returncode == 0, done.stderr  # every source read: states are data
    rows = json.loads(done.stdout)
    names = [r["name"] for r in rows]
    assert len(names) == len(set(names))  # a member of both hubs is listed once
    by = {r["name"]: r for r in rows}
    east = by["ran-east"]
    assert east["hub"] == "gpu-hub" and east["state"] == "CRITICAL"
    found = {(f["domain"], f["severity"], f["subject"]) for f in east["findings"]}
    assert ("GPU", "CRITICAL", "gpu-1/gpu3") in found  # XID 79 (from the GPU hub)
    assert ("GPU", "CRITICAL", "gpu-0/gpu5") in found  # 84 C
    assert ("PTP", "CRITICAL", "du-2/ens1f0 (ptp4l)") in found  # FREERUN (from the PTP hub)
    assert ("Kubernetes", "WARNING", "node du-1") in found  # NotReady (kube-state-metrics)
    assert ("Kubernetes", "WARNING", "pod ran-du/du-l1-0") in found  # CrashLoopBackOff
    west = {(f["domain"], f["subject"]) for f in by["ran-west"]["findings"]}
    assert not any(domain == "Kubernetes" for domain, _ in west)  # all Ready, all running
    assert east["findings"][0]["severity"] == "CRITICAL"  # worst first
    assert east["health_score"] is not None and east["health_score"] <= 25
    assert "GPU 2 ✖" in east["summary"] and "PTP 1 ✖" in east["summary"]
    assert by["ai-lab"]["state"] == "DEGRADED"  # 2 remapped rows: a warning
    # no Alertmanager anywhere: said, never taken for OK
    assert east["coverage"] == {"metrics": "read", "alerts": "not configured"}
    assert by["gpu-hub"]["state"] == "OK" and by["gpu-hub"]["findings"] == []
    assert names.index("ran-east") < names.index("ai-lab") < names.index("gpu-hub")

    text = run_cli(home, env, "fleet")
    assert text.returncode == 0
    line = next(x for x in text.stdout.splitlines() if x.startswith("ran-east (via gpu-hub)"))
    assert "CRITICAL" in line and "worst: gpu-" in line

    # members are clusters: --clusters takes a member's name (asked through its hub)
    only = run_cli(home, env, "gpu", "--clusters", "ran-east", "--json")
    assert only.returncode == 0, only.stderr
    gpus = json.loads(only.stdout)["gpus"]
    assert gpus and {g["cluster"] for g in gpus} == {"ran-east"}
    ptp = run_cli(home, env, "ptp", "--clusters", "ran-east", "--json")
    assert {r["cluster"] for r in json.loads(ptp.stdout)["rows"]} == {"ran-east"}
    missing = run_cli(home, env, "gpu", "--clusters", "nowhere-9")
    assert missing.returncode == 4 and "nowhere-9" in missing.stderr


@pytest.mark.integration
def test_a_failed_sriov_sync_and_an_unreadable_api_reach_the_truth(
    tmp_path: Path, secret_service, kube_api: RunningKubeApi
) -> None:  # type: ignore[no-untyped-def]
    """SR-IOV node sync is read over the cluster's Kubernetes API: a node whose configuration
    failed is CRITICAL; an API that cannot be read is that cluster's source, unreachable."""
    env, home = dict(secret_service.env), tmp_path / "home"
    ca = tmp_path / "ca.pem"
    ca.write_text(kube_api.ca_pem)
    for name, url in (("ran-api", kube_api.url), ("dark-api", f"https://127.0.0.1:{free_port()}")):
        added = run_cli(home, env, "clusters", "add", name, "--api-url", url, "--ca-file", str(ca),
                        "--token-stdin", stdin="admin-token")  # fmt: skip
        assert added.returncode == 0, added.stderr
    done = run_cli(home, env, "fleet", "--json")
    assert done.returncode == 3  # one API could not be read
    assert "unread: dark-api/kubernetes" in done.stderr
    by = {r["name"]: r for r in json.loads(done.stdout)}
    ran = by["ran-api"]
    assert ran["state"] == "CRITICAL"
    assert ran["coverage"] == {
        "metrics": "not configured", "alerts": "not configured", "kubernetes": "read"
    }  # fmt: skip
    sriov = [f for f in ran["findings"] if f["domain"] == "SR-IOV"]
    assert [(f["severity"], f["subject"]) for f in sriov] == [("CRITICAL", "node gpu-1")]
    assert sriov[0]["reason"] == "SR-IOV sync Failed: failed to configure VFs"
    dark = by["dark-api"]
    assert dark["state"] == "OFFLINE" and dark["coverage"]["kubernetes"] == "unreachable"


def test_what_the_ptp_board_and_the_gpu_page_flag_reaches_the_fleets_findings() -> None:
    """A LOCKED port whose clock class is out of spec, GNSS without a fix, one ptp4l config
    down, and a GPU whose health is not known: the pages flagged them and the fleet's truth
    (the wall, the notifications) said nothing."""
    from datetime import timedelta

    from aiops_desktop.models.gpu import GpuFleet, GpuHealth, GpuReading, GpuState
    from aiops_desktop.models.ptp import ClockState, PtpBoard, PtpRow
    from aiops_desktop.services.fleet.findings import gpu_findings, ptp_findings
    from aiops_desktop.services.gpu_cnf.ptp import DEFAULT_THRESHOLD, _annotate

    row = PtpRow("east", "du-1", "ens1f0", "ptp4l", ClockState.LOCKED, offset_ns=12.0,
                 clock_class=165, process_up=False, down_configs=["ptp4l.1.config"],
                 gnss="no fix")  # fmt: skip
    _annotate(row)
    board = PtpBoard([row], timedelta(hours=1), DEFAULT_THRESHOLD, [])
    said = [(f.severity, f.reason) for f in ptp_findings(board)["east"]]
    assert (FindingSeverity.WARNING, "ptp4l is down (ptp4l.1.config)") in said
    assert any(r.startswith("clock class 165") for _s, r in said)
    assert (FindingSeverity.WARNING, "GNSS: no fix") in said
    blank = GpuHealth(GpuReading("east", "gpu-0", "3", "GPU-x"), GpuState.UNKNOWN,
                      ["no temperature and no health counter reported"], False)  # fmt: skip
    (found,) = gpu_findings(GpuFleet([blank], []))["east"]
    assert found.severity is FindingSeverity.WARNING and found.subject == "gpu-0/gpu3"
