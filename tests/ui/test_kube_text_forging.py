"""Server text on the Kubernetes tab cannot forge rows: an event's reason, object and message
and a pod's "Why" (any text a tenant that may create events or pods chooses) are shown as one
printable line, as the Logs and Traces views show theirs; the whole text, line breaks kept and
made printable, is the cell's tooltip."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt

from aiops_desktop.models.kube import EventRow, Inventory, PodRow
from ui.views.cluster_kube import ClusterKubeView
from ui.views.rows_table import RAW_TIP

FORGED = "container healthy\n\n\nWarning  NodeNotReady  node/worker-3 \u202etoor\x1b[2J"
SHOWN = "container healthy Warning  NodeNotReady  node/worker-3 toor[2J"
TIP = "container healthy\n\n\nWarning  NodeNotReady  node/worker-3 toor[2J"


def view_of(qtbot: Any, theme: Any) -> ClusterKubeView:
    view = ClusterKubeView(theme)
    qtbot.addWidget(view)
    view.show()
    return view


def cell(view_table: Any, column: int, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
    model = view_table.table.model()
    return model.data(model.index(0, column), role)


def test_event_cells_are_one_printable_line(qtbot: Any, theme: Any) -> None:
    view = view_of(qtbot, theme)
    view.tabs.setCurrentWidget(view.events)
    event = EventRow(uid="u1", at=datetime.now(UTC), type="Normal", reason="Started\u202e\n",
                     object="Pod/ran/du-0\nWarning\x1b[31m", message=FORGED, count=1,
                     namespace="ran")  # fmt: skip
    view.show_events([event])
    assert view.events.table.rowCount() == 1
    assert cell(view.events, 2) == "Started "
    assert cell(view.events, 3) == "Pod/ran/du-0 Warning[31m"
    assert cell(view.events, 5) == SHOWN
    assert cell(view.events, 5, RAW_TIP) == TIP  # the whole text, its lines kept


def test_a_pods_why_is_one_printable_line(qtbot: Any, theme: Any) -> None:
    view = view_of(qtbot, theme)
    view.tabs.setCurrentWidget(view.pods)
    pod = PodRow(namespace="ran", name="du-0", phase="Pending", node="", ready="0/1",
                 restarts=0, crash_looping=False, reason=FORGED, created=None)  # fmt: skip
    view.show_inventory(Inventory(cluster="c1", nodes=[], pods=[pod], taken_at=datetime.now(UTC)))
    assert view.pods.table.rowCount() == 1
    assert cell(view.pods, 7) == SHOWN
    assert cell(view.pods, 7, RAW_TIP) == TIP


def test_plain_text_gets_no_tip_of_its_own(qtbot: Any, theme: Any) -> None:
    """A one-line cell keeps the table's own tooltip (a long cell's whole text)."""
    view = view_of(qtbot, theme)
    view.tabs.setCurrentWidget(view.events)
    event = EventRow(uid="u1", at=None, type="Warning", reason="BackOff", object="Pod/ran/du-0",
                     message="Back-off restarting failed container du in pod du-0", count=3,
                     namespace="ran")  # fmt: skip
    view.show_events([event])
    assert cell(view.events, 5) == event.message
    assert cell(view.events, 5, RAW_TIP) is None


def test_a_nodes_problems_are_one_printable_line(qtbot: Any, theme: Any) -> None:
    """A node condition's message is the kubelet's (or anyone's who can patch the node)."""
    from aiops_desktop.models.kube import NodeRow

    view = view_of(qtbot, theme)
    node = NodeRow(name="worker-3", roles=["worker"], ready=False, problems=[FORGED], cpu="8",
                   memory_gib=31.0, gpus=0, kubelet="v1.29", created=None)  # fmt: skip
    view.show_inventory(Inventory(cluster="c1", nodes=[node], pods=[], taken_at=datetime.now(UTC)))
    assert cell(view.nodes, 8) == SHOWN
