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
from ui.theme import Theme
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


def _alert(name: str, cluster: str, n: int, severity: AlertSeverity) -> Alert:
    return Alert(fingerprint=f"{name}{cluster}{n}", cluster=cluster, name=name,
                 severity=severity, labels={"namespace": "ml", "pod": f"trainer-{n}"},
                 starts_at=datetime(2026, 12, 7, 8, n, tzinfo=UTC))  # fmt: skip


def test_an_alert_groups_filter_outlives_one_more_alert_or_a_critical_one(
    qtbot: Any, theme: Theme
) -> None:
    """The Alerts page is redrawn every second: the group's filter holds its key from its
    cell's start to its clusters' end, not its severity or alert count (one more pod crash
    looping, or a critical one, emptied the page) (review of 1738751)."""
    from aiops_desktop.services.queries.alerts import group_alerts
    from ui.views.tables import AlertsView

    view = AlertsView(theme)
    qtbot.addWidget(view)
    crash = [_alert("PodCrashLooping", "ran-west", n, AlertSeverity.WARNING) for n in range(3)]
    other = [_alert("KubePodCrashLooping", "ran-west", 9, AlertSeverity.WARNING)]  # its key in
    (group,) = group_alerts(crash)  # another's, on its cluster
    critical = _alert("PodCrashLooping", "ran-west", 3, AlertSeverity.CRITICAL)
    for firing in (crash, [*crash, critical]):  # one more alert, a critical one
        view.show_groups(group_alerts(firing + other))
        view.table.set_filter(group_needle(group))
        shown = [(view.table.item(i, 2).text(), view.table.item(i, 3).text())
                 for i in range(view.table.rowCount())]  # fmt: skip
        assert shown == [("PodCrashLooping", "1: ran-west")]


def test_a_typed_dollar_or_caret_that_is_in_the_text_still_finds_it(qtbot: Any) -> None:
    """A "$" that ends a typed filter, or a "^" that starts it, is a cell's end or start, and
    the character itself too: a shell prompt in a container's log ("sh-4.4$"), a price ("5$"),
    "^C" echoed in a terminal still find their rows (review of 1738751)."""
    rows = [["debug", "sh-4.4$ cat /etc/ptp4l.conf"], ["billing", "charged 5$ to ran-west"],
            ["debug", "^C interrupted"], ["ops", "ran-west"], ["ops", "ran-west-2"],
            ["ops", "west"]]  # fmt: skip
    assert _shown(qtbot, rows, "sh-4.4$") == ["sh-4.4$ cat /etc/ptp4l.conf"]
    assert _shown(qtbot, rows, "5$") == ["charged 5$ to ran-west"]
    assert _shown(qtbot, rows, "^c interrupted") == ["^C interrupted"]
    assert _shown(qtbot, rows, "ran-west$") == ["charged 5$ to ran-west", "ran-west"]
    assert _shown(qtbot, rows, "^west") == ["west"]
    assert _shown(qtbot, rows, "^ran-west$") == ["charged 5$ to ran-west", "ran-west"]
    assert _shown(qtbot, rows, "^") == ["^C interrupted"]
