"""The command palette's filters end at a cell's end ("$", as in grep): gpu1 is not gpu10,
MIG 1 not MIG 11, worker-1 not worker-10; an alert group is its own row where another group's
key ends with its key on the same cluster; a port whose process is down with no interface
(an empty cell) is found. A filter typed with stray blanks still matches as before."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from aiops_desktop.models.alerts import Alert, AlertGroup
from aiops_desktop.models.enums import AlertSeverity, FindingSeverity
from aiops_desktop.models.fleet import Domain, Finding
from ui.views.rows_table import Row, RowsTable
from ui.window_commands import finding_needle, group_needle

pytestmark = pytest.mark.qt


def _shown(qtbot: Any, rows: list[list[str]], needle: str) -> list[str]:
    table = RowsTable([f"c{i}" for i in range(len(rows[0]))])
    qtbot.addWidget(table)
    table.set_rows([Row(r) for r in rows])
    table.set_filter(needle)
    return [table.item(i, 1).text() for i in range(table.rowCount())]


def _finding(domain: Domain, subject: str) -> Finding:
    return Finding(domain, FindingSeverity.WARNING, subject, "-")


def test_a_gpu_a_mig_and_a_node_are_their_own_rows(qtbot: Any) -> None:
    gpus = [["WARNING", f"ran-west/hgx-0/gpu{i}", "H100", "-"] for i in (1, 10, 12)]
    needle = finding_needle("ran-west", _finding(Domain.GPU, "hgx-0/gpu1"))
    assert _shown(qtbot, gpus, needle) == ["ran-west/hgx-0/gpu1"]
    migs = [["OK", f"ran-west/dgx-1/gpu0/mig{i}", "A100 1g.10gb", "-"] for i in (1, 11, 13)]
    needle = finding_needle("ran-west", _finding(Domain.GPU, "dgx-1/gpu0 MIG 1"))
    assert _shown(qtbot, migs, needle) == ["ran-west/dgx-1/gpu0/mig1"]
    nodes = [["ran-west", f"worker-{i}", "Failed", "-", ""] for i in (1, 10, 11)]
    needle = finding_needle("ran-west", _finding(Domain.SRIOV, "node worker-1"))
    assert _shown(qtbot, nodes, needle) == ["worker-1"]


def test_a_process_down_with_no_port_is_found(qtbot: Any) -> None:
    ports = [["FAULTY", "ran-west", "du-4", "", "ptp4l", "-"],
             ["LOCKED", "ran-west", "du-5", "ens1f1", "ptp4l", "SLAVE"]]  # fmt: skip
    needle = finding_needle("ran-west", _finding(Domain.PTP, "du-4/ (ptp4l)"))
    assert _shown(qtbot, ports, needle) == ["ran-west"]  # the du-4 row


def test_an_alert_group_is_its_own_row_beside_a_longer_key_on_its_cluster(qtbot: Any) -> None:
    def group(name: str, cluster: str) -> AlertGroup:
        at = datetime(2026, 12, 7, tzinfo=UTC)
        alert = Alert(fingerprint=name + cluster, cluster=cluster, name=name,
                      severity=AlertSeverity.CRITICAL, starts_at=at)  # fmt: skip
        return AlertGroup(name, [alert])

    groups = [group("NodeExporterTargetDown", "ran-west"), group("TargetDown", "ran-west"),
              group("TargetDown", "ran-west-2")]  # fmt: skip
    rows = [[g.severity.value, str(len(g.alerts)), g.key,
             f"{len(g.clusters)}: {', '.join(g.clusters)}", "—"] for g in groups]  # fmt: skip
    table = RowsTable([f"c{i}" for i in range(5)])
    qtbot.addWidget(table)
    table.set_rows([Row(r) for r in rows])
    table.set_filter(group_needle(groups[1]))
    assert [table.item(i, 2).text() for i in range(table.rowCount())] == ["TargetDown"]
    assert table.item(0, 3).text() == "1: ran-west"


def test_a_typed_filter_with_stray_blanks_or_a_lone_dollar_is_as_before(qtbot: Any) -> None:
    rows = [["gpu", "Trainer-2"], ["ran", "du-1"], ["gpu", "trainer-1"]]
    assert _shown(qtbot, rows, "  TRAINER ") == ["Trainer-2", "trainer-1"]
    assert _shown(qtbot, rows, "trainer-1$") == ["trainer-1"]
    assert _shown(qtbot, [["a", "cost $"], ["b", "x"]], "$") == ["cost $"]
