"""Second review of the Kubernetes page: a hovered cell's tooltip is cut (a 100 KB event
message made a tooltip 18,838 px tall, half a second to show); the API server's words reach
the status line as one cut printable line and the identity card cut (a 100 KB gitVersion made
the page 925,525 px wide); the selected event, pod or node stays selected when the tables are
drawn again; pods sort by "Ready" as numbers, not text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import Qt

from aiops_desktop.models.kube import EventRow, Inventory, NodeRow, PodRow, ValidationResult
from aiops_desktop.services.kube import validation
from aiops_desktop.services.kube.inventory import EventTimeline
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from collectors.kubernetes import WatchState
from tests.ui.conftest import run_until
from ui.presenters.kube import KubePresenter
from ui.views.cluster_kube import ClusterKubeView
from ui.views.rows_table import Row, RowsTable

NOW = datetime.now(UTC)
BAD = "\n\u202e\x1b\x07"  # a line break, an RTL override, ESC, BEL


# -- 1. tooltips are cut ----------------------------------------------------------------------
def tip_of(table: RowsTable, row: int, col: int) -> str:
    model = table.rows_model
    return str(model.data(model.index(row, col), Qt.ItemDataRole.ToolTipRole) or "")


def test_a_tooltip_of_a_huge_cell_or_tip_is_cut_and_says_so(qtbot: Any) -> None:
    table = RowsTable(["a", "b", "c"])
    qtbot.addWidget(table)
    words = " ".join(["word"] * 20_000)  # 100 KB
    table.set_rows([Row([words, "short", "x"], tips={1: words, 2: "line\n" * 5000})])
    for col in (0, 1, 2):
        shown = tip_of(table, 0, col)
        assert 0 < len(shown) < 5000, col
        assert "…" in shown, col  # the cut is visible
    assert tip_of(table, 0, 2).count("<br/>") <= 50  # and not thousands of lines tall
    table.set_rows([Row(["a long cell that needs its tooltip to be read"])])
    assert tip_of(table, 0, 0) == "<p>a long cell that needs its tooltip to be read</p>"


def test_an_event_of_100_kb_shows_a_bounded_tooltip(qtbot: Any, theme: Any) -> None:
    view = ClusterKubeView(theme)
    qtbot.addWidget(view)
    view.show()
    view.tabs.setCurrentWidget(view.events)
    message = " ".join(["word"] * 20_000) + "\nsecond line"
    view.show_events([EventRow(uid="u", at=NOW, type="Warning", reason="r", object="Pod/a/b",
                               message=message, count=1, namespace="a")])  # fmt: skip
    assert len(tip_of(view.events.table, 0, 5)) < 5000


# -- 2. the status line and the identity card --------------------------------------------------
USER = "system:admin\n\u202enimda-retsulc"
VERSION = "v1.30.2\x1b]0;pwned\x07" + "A" * 100_000


class HostileClient:
    """A hostile (or compromised) API server's answers."""

    name, server, expires_at = "ran-c1", "https://api.ran-c1:6443", None

    async def get(self, path: str, query: Any = None) -> Any:
        return {"gitVersion": VERSION} if path == "/version" else {}

    async def review(self, path: str, body: Any) -> Any:
        if "selfsubjectreviews" in path:
            return {"status": {"userInfo": {"username": USER, "groups": ["g" * 100_000]}}}
        if "rules" in path:
            rules = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
            return {"status": {"resourceRules": rules}}
        return {"status": {"allowed": True}}


class HostileKube:
    async def validate(self, name: str) -> ValidationResult:
        client: Any = HostileClient()
        return await validation._identify(client)

    async def inventory(self, name: str) -> Inventory:
        return Inventory("ran-c1", [], [], NOW)

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


def test_the_api_servers_words_reach_the_status_line_cut_and_printable(
    qtbot: Any, qloop: Any, theme: Any
) -> None:
    tasks = TaskSupervisor()
    registry: Any = Registry()
    kube: Any = HostileKube()
    discovery: Any = None
    presenter = KubePresenter(registry=registry, kube=kube, discovery=discovery, tasks=tasks)
    view = ClusterKubeView(theme)
    qtbot.addWidget(view)
    said: list[str] = []
    presenter.sig_status.connect(said.append)
    presenter.sig_status.connect(view.show_status)
    presenter.sig_validation.connect(view.show_validation)
    try:
        presenter.show_cluster("ran-c1")
        run_until(qtbot, lambda: any(s.startswith("valid") for s in said))
        run_until(qtbot, lambda: tasks.running == 0)
    finally:
        presenter.close()
        run_until(qtbot, lambda: tasks.running == 0)
    status = next(s for s in said if s.startswith("valid"))
    assert not any(ch in s for s in said for ch in BAD)
    assert all(len(s) <= 300 for s in said)
    assert "nimda-retsulc" in status  # the whole name, on one line: not "system:admin" alone
    assert status.endswith("…")
    for key, label in view.fields.items():
        assert len(label.text()) <= 300, key
        assert not any(ch in label.text() for ch in BAD), key
    assert view.fields["Version"].text().endswith("…")
    assert view.fields["Groups"].text().endswith("…")
    assert view.minimumSizeHint().width() < 1200  # the page fits a window, cut or not


# -- 3. the selection stays across a redraw --------------------------------------------------
def event(i: int) -> EventRow:
    return EventRow(uid=f"u{i}", at=NOW + timedelta(seconds=i), type="Warning", reason="BackOff",
                    object=f"Pod/prod/pay-{i}", message=f"back-off restarting {i}", count=1,
                    namespace="prod")  # fmt: skip


def selected(table: RowsTable, col: int) -> list[str]:
    return [table.item(r, col).text() for r in table.selected_rows()]


def test_the_selected_event_stays_selected_when_the_watch_moves(qtbot: Any, theme: Any) -> None:
    view = ClusterKubeView(theme)
    qtbot.addWidget(view)
    view.show()
    view.tabs.setCurrentWidget(view.events)
    events = [event(i) for i in range(10, 0, -1)]
    view.show_events(events)
    table = view.events.table
    table.selectRow(3)
    assert selected(table, 3) == ["Pod/prod/pay-7"]
    view.show_events([event(11), *events])  # one new event at the top
    assert selected(table, 3) == ["Pod/prod/pay-7"]
    view.show_events([event(12), *events[:3]])  # the one selected was trimmed: none is
    assert selected(table, 3) == []


def test_the_selected_pod_and_node_stay_selected_after_refresh(qtbot: Any, theme: Any) -> None:
    view = ClusterKubeView(theme)
    qtbot.addWidget(view)
    view.show()

    def inventory(at: datetime) -> Inventory:
        pods = [PodRow(namespace=ns, name="pay", phase="Running", node="n1", ready="1/1",
                       restarts=0, crash_looping=False, reason="", created=NOW)
                for ns in ("a", "b", "c")]  # fmt: skip
        nodes = [NodeRow(name=f"n{i}", roles=["worker"], ready=True, problems=[], cpu="8",
                         memory_gib=32.0, gpus=0, kubelet="v1.30", created=NOW)
                 for i in range(3)]  # fmt: skip
        return Inventory("c1", nodes, pods, at)

    view.show_inventory(inventory(NOW))
    view.tabs.setCurrentWidget(view.pods)
    view.pods.table.selectRow(1)
    view.tabs.setCurrentWidget(view.nodes)
    view.nodes.table.selectRow(2)
    view.show_inventory(inventory(NOW + timedelta(seconds=30)))  # Refresh: the ages moved
    assert selected(view.pods.table, 0) == ["b"]  # by namespace and name, not name alone
    assert selected(view.nodes.table, 0) == ["n2"]


# -- 4. "Ready" sorts as numbers -------------------------------------------------------------
def test_pods_sort_by_ready_as_numbers(qtbot: Any, theme: Any) -> None:
    view = ClusterKubeView(theme)
    qtbot.addWidget(view)
    pods = [PodRow(namespace="ns", name=n, phase="Running", node="n", ready=r, restarts=0,
                   crash_looping=False, reason="", created=NOW)
            for n, r in (("a", "2/2"), ("b", "10/12"), ("c", "9/12"), ("d", "0/3"),
                         ("e", "1/1"), ("f", "0/1"))]  # fmt: skip
    view.show_inventory(Inventory("c", [], pods, NOW))
    table = view.pods.table
    table.sortByColumn(3, Qt.SortOrder.AscendingOrder)
    # the share ready first, then (a tie) how many containers
    shown = [table.item(r, 3).text() for r in range(table.rowCount())]
    assert shown == ["0/1", "0/3", "9/12", "10/12", "1/1", "2/2"]
