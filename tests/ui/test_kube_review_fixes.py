"""Review fixes on the Kubernetes page and the Drift table.

Every server string on the nodes and pods tables and on the identity card is one printable
line (a node name, a kubelet version, a namespace can carry an RTL override, ESC or a line
break: in a copied row or a CSV they forge rows); the tables' text is worked out off the UI
thread and "Only pods with a problem" filters rows already built; Refresh clicked twice shows
the newest read, whichever answers last; a drift's every row names its setting, so sorting
the table never leaves a value under another setting."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from PySide6.QtCore import Qt

from aiops_desktop.models.enums import ValidationOutcome
from aiops_desktop.models.kube import Inventory, NodeRow, PodRow, ValidationResult
from aiops_desktop.services.gpu_cnf.drift import fleet_drift
from aiops_desktop.services.kube.inventory import EventTimeline
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from collectors.errors import CollectorUnreachable
from collectors.kubernetes import WatchState
from tests.ui.conftest import run_until
from ui.presenters import kube as kube_presenter
from ui.presenters.kube import KubePresenter
from ui.views import cluster_kube
from ui.views.cluster_kube import ClusterKubeView
from ui.views.fleet_hw_views import DriftView
from ui.views.rows_table import RAW_TIP

NOW = datetime.now(UTC)
HOSTILE = "\u202e\n\x1b\r\u2028"  # an RTL override, line breaks, ESC


def clean(text: str) -> bool:
    return not any(ch in text for ch in HOSTILE)


def hostile_inventory() -> Inventory:
    node = NodeRow(name="gpu-1\u202eSYDAER", roles=["work\u202eer"], ready=True, problems=[],
                   cpu="8\n\x1b[2J", memory_gib=32.0, gpus=0,
                   kubelet="v1.30.1\n\x1b[2Jnode OK", created=NOW)  # fmt: skip
    pod = PodRow(namespace="prod\nkube-system", name="pay\u202etxt.exe", phase="Running\u202e",
                 node="gpu-1\u202eSYDAER", ready="1/1", restarts=0, crash_looping=False,
                 reason="", created=NOW)  # fmt: skip
    return Inventory("ran-c1", [node], [pod], NOW)


# -- 2. server text on the nodes and pods tables, and on the identity card ---------------------
def test_node_and_pod_cells_copies_and_csv_are_one_printable_line_each(
    qtbot: Any, theme: Any
) -> None:
    view = ClusterKubeView(theme)
    qtbot.addWidget(view)
    view.show_inventory(hostile_inventory())
    nodes, pods = view.nodes.table, view.pods.table
    node_cells = [nodes.item(0, c).text() for c in range(nodes.columnCount())]
    pod_cells = [pods.item(0, c).text() for c in range(pods.columnCount())]
    assert all(clean(t) for t in node_cells + pod_cells), node_cells + pod_cells
    assert node_cells[0] == "gpu-1SYDAER" and node_cells[6] == "v1.30.1 [2Jnode OK"
    assert pod_cells[:3] == ["prod kube-system", "paytxt.exe", "Running"]
    # the whole text, its lines kept (printable), is the tooltip where a break was folded
    tip = nodes.rows_model.data(nodes.rows_model.index(0, 6), RAW_TIP)
    assert tip == "v1.30.1\n[2Jnode OK"
    for table in (nodes, pods):
        table.selectRow(0)
        copied = table.selection_text()
        assert copied.count("\n") == 0 and clean(copied), repr(copied)
        assert table.csv_text().count("\r\n") == 2  # the headers and the one row
        assert clean(table.csv_text().replace("\r\n", ""))


def test_a_double_clicked_pod_asks_for_its_own_logs(qtbot: Any, theme: Any) -> None:
    """The cell is made printable; the logs are asked of the pod as the API named it."""
    view = ClusterKubeView(theme)
    qtbot.addWidget(view)
    view.show_inventory(hostile_inventory())
    asked: list[tuple[str, str]] = []
    view.sig_pod_logs.connect(lambda ns, pod: asked.append((ns, pod)))
    view.pods.table.cellDoubleClicked.emit(0, 1)
    assert asked == [("prod\nkube-system", "pay\u202etxt.exe")]


def test_the_identity_card_is_one_printable_line_per_field(qtbot: Any, theme: Any) -> None:
    view = ClusterKubeView(theme)
    qtbot.addWidget(view)
    view.show_validation(ValidationResult(
        "ran-c1", ValidationOutcome.VALID, "ok\n\x1b[2Jfake", server="https://a\u202e:6443",
        version="v1.30\nx", platform="OpenShift\u202e", user="noc\x1b]0;x\x07",
        groups=["a\nb", "c\u202e"],
    ))  # fmt: skip
    texts = {key: label.text() for key, label in view.fields.items()}
    assert all(clean(t) for t in texts.values()), texts
    assert texts["Groups"] == "a b, c"
    assert texts["Version"] == "v1.30 x (OpenShift)"


def test_pod_rows_are_worked_out_off_the_ui_thread_and_the_filter_reuses_them(
    qtbot: Any, qloop: Any, theme: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    built_on: list[threading.Thread] = []
    real = kube_presenter.inventory_text

    def spied(inventory: Inventory) -> Any:
        built_on.append(threading.current_thread())
        return real(inventory)

    monkeypatch.setattr(kube_presenter, "inventory_text", spied)
    monkeypatch.setattr(cluster_kube, "inventory_text", spied)
    pods = [PodRow("ns", f"p{i}", "Running", "n", "1/1", 0, False, "", NOW) for i in range(3)]
    pods.append(PodRow("ns", "bad", "Pending", "n", "0/1", 0, False, "Unschedulable", NOW))
    kube = Kube([Inventory("ran-c1", [], pods, NOW)])
    page = Page(qtbot, theme, kube)
    try:
        page.presenter.show_cluster("ran-c1")
        run_until(qtbot, lambda: page.view.pods.table.rowCount() == 4)
        assert built_on and threading.main_thread() not in built_on
        built_on.clear()
        page.view.problems_only.setChecked(True)
        assert [page.view.pods.table.item(r, 1).text() for r in range(1)] == ["bad"]
        assert page.view.pods.table.rowCount() == 1
        page.view.problems_only.setChecked(False)
        assert page.view.pods.table.rowCount() == 4
        assert built_on == []  # the toggle filtered the rows built; it built none
    finally:
        page.close()


# -- 3. Refresh clicked twice --------------------------------------------------------------------
class Kube:
    """Inventories answered in turn; a read waits for its gate (all open unless closed)."""

    def __init__(self, answers: list[Inventory | Exception]) -> None:
        self.answers = answers
        self.gates: list[asyncio.Event] = []
        self.reads = 0

    async def validate(self, name: str) -> ValidationResult:
        return ValidationResult(name, ValidationOutcome.VALID, f"read {self.reads}")

    async def inventory(self, name: str) -> Inventory:
        index = self.reads
        self.reads += 1
        if index < len(self.gates):
            await self.gates[index].wait()
        answer = self.answers[index]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def follow(self, name: str) -> tuple[EventTimeline, WatchState]:
        return EventTimeline(), WatchState()

    def unfollow(self, name: str | None = None) -> None:
        pass


class Registry:
    def hub_of(self, name: str) -> None:
        return None

    def get(self, name: str) -> Any:
        from aiops_desktop.models import Cluster

        return Cluster(name=name, api_server_url=f"https://{name}.example:6443")


class Page:
    def __init__(self, qtbot: Any, theme: Any, kube: Kube) -> None:
        self.qtbot, self.kube, self.tasks = qtbot, kube, TaskSupervisor()
        registry: Any = Registry()
        session: Any = kube
        discovery: Any = None
        self.presenter = KubePresenter(
            registry=registry, kube=session, discovery=discovery, tasks=self.tasks
        )
        self.view = ClusterKubeView(theme)
        qtbot.addWidget(self.view)
        self.shown: list[tuple[int | None, str]] = []
        self.presenter.sig_inventory.connect(self.view.show_inventory)
        self.presenter.sig_inventory.connect(
            lambda inv, why: self.shown.append((None if inv is None else len(inv.pods), why))
        )

    def close(self) -> None:
        for gate in self.kube.gates:
            gate.set()
        self.presenter.close()
        run_until(self.qtbot, lambda: self.tasks.running == 0)


def pods(n: int) -> Inventory:
    return Inventory("ran-c1", [], [PodRow("ns", f"p{i}", "Running", "n", "1/1", 0, False, "", NOW)
                                for i in range(n)], NOW)  # fmt: skip


@pytest.fixture
def race(qtbot: Any, qloop: Any, theme: Any) -> Iterator[Page]:
    page = Page(qtbot, theme, Kube([pods(1)]))
    try:
        yield page
    finally:
        page.close()


@pytest.mark.parametrize("older", [pods(0), CollectorUnreachable("ran-c1: connection refused")])
def test_refresh_clicked_twice_shows_the_newest_read_whichever_answers_last(
    race: Page, older: Inventory | Exception
) -> None:
    """The first click's read is slow (an old state, or a failure); the second's answers
    first. The newest read stays on screen, not stale."""
    kube, p, view = race.kube, race.presenter, race.view
    kube.answers += [older, pods(3)]
    kube.gates = [asyncio.Event(), asyncio.Event(), asyncio.Event()]
    kube.gates[0].set()
    p.show_cluster("ran-c1")
    run_until(race.qtbot, lambda: view.pods.table.rowCount() == 1)
    p.reload()  # Refresh: this read is slow
    run_until(race.qtbot, lambda: kube.reads == 2)  # it has begun (then cancelled, or late)
    p.reload()  # Refresh again: this one answers first
    kube.gates[2].set()
    run_until(race.qtbot, lambda: view.pods.table.rowCount() == 3)
    kube.gates[1].set()  # the older read answers last
    run_until(race.qtbot, lambda: race.tasks.running == 0)
    assert race.shown[-1] == (3, "")
    assert view.pods.table.rowCount() == 3
    assert not view.read_at.text().startswith("STALE")
    assert "connection refused" not in view.status.text()


# -- 6. the Drift table, sorted --------------------------------------------------------------
def test_every_drift_row_names_its_setting_however_the_table_is_sorted(
    qtbot: Any, theme: Any
) -> None:
    objects: dict[str, Any] = {
        c: {"sriovnetworknodepolicies": [{"metadata": {"name": "p"},
                                          "spec": {"resourceName": "fh", "numVfs": vfs,
                                                   "mtu": mtu}}]}
        for c, vfs, mtu in (("ran-east", 8, 9000), ("ran-west", 16, 1500),
                            ("ran-north", 8, 9000))
    }  # fmt: skip
    view = DriftView(theme)
    qtbot.addWidget(view)
    view.show_drift(fleet_drift(None, objects))
    table = view.table

    def rows() -> set[tuple[str, ...]]:
        return {tuple(table.item(r, c).text() for c in range(5)) for r in range(table.rowCount())}

    expected = {
        ("SR-IOV policy", "fh", "mtu", "9000", "ran-east/p, ran-north/p"),
        ("SR-IOV policy", "fh", "mtu", "1500", "ran-west/p"),
        ("SR-IOV policy", "fh", "numVfs", "8", "ran-east/p, ran-north/p"),
        ("SR-IOV policy", "fh", "numVfs", "16", "ran-west/p"),
    }
    assert rows() == expected
    table.sortByColumn(3, Qt.SortOrder.AscendingOrder)  # the Value header clicked
    assert rows() == expected
    # as given, the outlier is the second row of its setting, in the warning colour
    model = table.rows_model
    warn = theme.severity("warning")
    assert model.row(1).colour == warn and model.row(0).colour is None
