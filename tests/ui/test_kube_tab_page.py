"""The Kubernetes tab, one view shared by every cluster, driven by the real presenter over a
fake session: another cluster never shows the last one's nodes, pods or identity (until it
answers, and for good when it cannot be read); the nodes and pods say when they were read and
turn stale when a later read fails; "Warnings only" lists the timeline's warnings however many
Normal events came after them, and the title counts them all; a failing or never listed events
watch says so on the Events tab instead of an empty, quiet timeline."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt

from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.enums import ValidationOutcome
from aiops_desktop.models.kube import Inventory, NodeRow, PodRow, ValidationResult
from aiops_desktop.models.text import time_text
from aiops_desktop.services.clusters.registry import ClusterNotFoundError
from aiops_desktop.services.kube.inventory import EventTimeline
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from collectors.errors import CollectorUnreachable
from collectors.kubernetes import ERRORS_KEPT, WatchEvent, WatchState
from tests.ui.conftest import run_until
from ui.presenters.kube import EVENTS_SHOWN, KubePresenter
from ui.views.cluster_kube import ClusterKubeView

NOW = datetime.now(UTC)
FORBIDDEN = 'c1: API server answered 403: events is forbidden: User "noc" cannot list "events"'


# -- fakes ------------------------------------------------------------------------------------
class Hub:
    name = "fleet-hub"


class Registry:
    """Clusters by name; ``members`` come through a fleet hub; ``metrics_only`` have no API."""

    def __init__(
        self, *names: str, members: tuple[str, ...] = (), metrics_only: tuple[str, ...] = ()
    ) -> None:
        self.members = members
        self.clusters = {
            n: Cluster(name=n, api_server_url=f"https://{n}.example:6443") for n in names
        }
        prom = [Endpoint(kind=EndpointKind.PROMETHEUS, url="https://prom.example")]
        self.clusters |= {n: Cluster(name=n, endpoints=prom) for n in metrics_only}

    def hub_of(self, name: str) -> Hub | None:
        return Hub() if name in self.members else None

    def get(self, name: str) -> Cluster:
        if name not in self.clusters:
            raise ClusterNotFoundError(f"no cluster named {name!r}")
        return self.clusters[name]


class Kube:
    """The session's answers: each cluster's inventories and validation, in turn; a gate held
    shut keeps a cluster's next inventory from answering until it is opened."""

    def __init__(self) -> None:
        self.inventories: dict[str, list[Inventory | Exception]] = {}
        self.validations: dict[str, ValidationResult | Exception] = {}
        self.gates: dict[str, asyncio.Event] = {}
        self.followed: dict[str, tuple[EventTimeline, WatchState]] = {}

    async def validate(self, name: str) -> ValidationResult:
        answer = self.validations.get(name, CollectorUnreachable(f"{name}: not validated here"))
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def inventory(self, name: str) -> Inventory:
        gate = self.gates.get(name)
        if gate is not None:
            await gate.wait()
        answer = self.inventories[name].pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def follow(self, name: str) -> tuple[EventTimeline, WatchState]:
        return self.followed.setdefault(name, (EventTimeline(), WatchState()))

    def unfollow(self, name: str | None = None) -> None:
        for key in [name] if name else list(self.followed):
            self.followed.pop(key, None)


def inventory(cluster: str, node: str, pod: str, at: datetime = NOW) -> Inventory:
    return Inventory(
        cluster,
        [NodeRow(node, ["worker"], True, [], "8", 31.0, 0, "v1.29", at)],
        [PodRow("ns", pod, "Running", node, "1/1", 0, False, "", at)],
        at,
    )


def valid(cluster: str) -> ValidationResult:
    return ValidationResult(
        cluster, ValidationOutcome.VALID, "noc on v1.29", server=f"https://api.{cluster}:6443",
        version="v1.29", user="noc", groups=["noc"],
    )  # fmt: skip


def event(uid: str, kind: str, reason: str, at: datetime) -> dict[str, Any]:
    return {
        "metadata": {"uid": uid, "namespace": "ns"}, "type": kind, "reason": reason,
        "involvedObject": {"kind": "Pod", "namespace": "ns", "name": f"pod-{uid}"},
        "message": reason, "lastTimestamp": at.isoformat().replace("+00:00", "Z"),
    }  # fmt: skip


class Page:
    """The presenter wired to the view as the window wires them (ui/page_views.py)."""

    def __init__(self, qtbot: Any, theme: Any, kube: Kube, registry: Registry) -> None:
        self.kube, self.tasks = kube, TaskSupervisor()
        self.presenter = KubePresenter(
            registry=registry, kube=kube, discovery=None, tasks=self.tasks, redraw_ms=20
        )
        self.view = view = ClusterKubeView(theme)
        p = self.presenter
        p.sig_validation.connect(view.show_validation)
        p.sig_inventory.connect(view.show_inventory)
        p.sig_events.connect(view.show_events)
        p.sig_status.connect(view.show_status)
        qtbot.addWidget(view)
        view.resize(1200, 800)
        view.show()
        self.qtbot = qtbot

    def settle(self) -> None:
        """Every read asked for has answered."""
        run_until(self.qtbot, lambda: self.tasks.running == 0)

    def close(self) -> None:
        for gate in self.kube.gates.values():
            gate.set()
        self.presenter.close()
        self.settle()


@pytest.fixture
def page(qtbot, qloop, theme) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    shown = Page(qtbot, theme, Kube(), Registry("prod-a", "prod-b", "ran-c", members=("member",),
                                                 metrics_only=("metrics-only",)))  # fmt: skip
    try:
        yield shown
    finally:
        shown.close()


def cells(table: Any, column: int) -> list[str]:
    return [table.item(r, column).text() for r in range(table.rowCount())]


def assert_nothing_of_another_cluster(view: ClusterKubeView) -> None:
    assert view.nodes.table.rowCount() == 0 and view.pods.table.rowCount() == 0
    assert view.access.table.rowCount() == 0 and view.events.table.rowCount() == 0
    assert [view.tabs.tabText(i) for i in (0, 1, 3)] == ["Nodes", "Pods", "What I can see"]
    assert {label.text() for label in view.fields.values()} == {"—"}
    assert view.read_at.text().startswith("nodes and pods: not read")
    # an empty table says it was not read, never "Nothing to show · checked 0 s ago"
    for table in (view.nodes.table, view.pods.table):
        assert table.empty_message().startswith("Not read")
    assert view.access.table.empty_message() == "Not checked yet"


# -- 1. one view for every cluster ------------------------------------------------------------
def test_another_cluster_never_shows_the_last_ones_nodes_pods_or_identity(page: Page) -> None:
    kube, view, p = page.kube, page.view, page.presenter
    kube.inventories = {
        "prod-a": [inventory("prod-a", "a-node-1", "a-pod")],
        "prod-b": [CollectorUnreachable("prod-b: cannot reach https://b:6443")],
    }
    kube.validations["prod-a"] = valid("prod-a")
    timeline, _ = kube.follow("prod-a")
    timeline.apply(WatchEvent("RELISTED", {"items": [event("e1", "Warning", "BackOff", NOW)]}))
    view.tabs.setCurrentWidget(view.events)
    p.show_cluster("prod-a")
    page.settle()
    run_until(page.qtbot, lambda: view.events.table.rowCount() == 1)
    assert cells(view.nodes.table, 0) == ["a-node-1"] and cells(view.pods.table, 1) == ["a-pod"]
    assert view.fields["Access"].text().startswith("VALID") and view.access.table.rowCount() == 0
    assert view.fields["API server"].text() == "https://api.prod-a:6443"
    assert view.tabs.tabText(0) == "Nodes (1, 0 not ready)"
    assert view.read_at.text() == f"nodes and pods read {time_text(NOW, seconds=True)}"
    view.tabs.setCurrentWidget(view.nodes)  # the events tab hidden: emptied all the same

    p.show_cluster("prod-b")
    assert_nothing_of_another_cluster(view)  # at once, before prod-b answers ...
    assert view.read_at.text() == "nodes and pods: not read yet"
    page.settle()
    assert_nothing_of_another_cluster(view)  # ... and for good: its reads failed
    assert view.read_at.text() == "nodes and pods: not read"
    assert "prod-b: cannot reach https://b:6443" in view.read_at.toolTip()
    assert view.nodes.table.empty_message() == "Not read"
    assert view.tabs.tabText(2) == "Events (0, 0 warnings, not live)"
    assert "failed: prod-b" in view.status.text()


@pytest.mark.parametrize(
    ("cluster", "why"),
    [
        ("member", "no API server registered for this member"),
        ("metrics-only", "metrics-only has no Kubernetes API configured (metrics only)"),
        ("gone", "no cluster named 'gone'"),
    ],
)
def test_a_cluster_without_an_api_server_shows_an_empty_page_that_says_why(
    page: Page, cluster: str, why: str
) -> None:
    kube, view, p = page.kube, page.view, page.presenter
    kube.inventories["prod-a"] = [inventory("prod-a", "a-node-1", "a-pod")]
    kube.validations["prod-a"] = valid("prod-a")
    p.show_cluster("prod-a")
    page.settle()
    assert view.nodes.table.rowCount() == 1

    p.show_cluster(cluster)
    assert_nothing_of_another_cluster(view)
    assert why in view.status.text()
    assert not view.events_note.isHidden()  # on the events tab, not in sight
    assert view.events_note.text().startswith("events not read: ")
    assert why in view.events_note.text()
    assert cluster not in kube.followed  # nothing asked of an API server it does not have


def test_nodes_and_pods_say_when_they_were_read_and_turn_stale_when_a_refresh_fails(
    page: Page,
) -> None:
    kube, view, p = page.kube, page.view, page.presenter
    earlier, later = NOW - timedelta(minutes=5), NOW
    kube.inventories["prod-a"] = [
        inventory("prod-a", "a-node-1", "a-pod", earlier),
        CollectorUnreachable("prod-a: cannot reach https://a:6443: connection refused"),
        inventory("prod-a", "a-node-2", "a-pod-2", later),
    ]
    p.show_cluster("prod-a")
    page.settle()
    assert view.read_at.text() == f"nodes and pods read {time_text(earlier, seconds=True)}"
    assert view.read_at.toolTip() == ""

    p.reload()  # the Refresh button, and the API server has gone away
    page.settle()
    assert cells(view.nodes.table, 0) == ["a-node-1"]  # kept, but not as if current
    assert view.tabs.tabText(0) == "Nodes (1, 0 not ready, stale)"
    assert view.tabs.tabText(1) == "Pods (1, 0 with a problem, stale)"
    assert view.read_at.text() == f"STALE: nodes and pods read {time_text(earlier, seconds=True)}"
    assert "connection refused" in view.read_at.toolTip()
    view.problems_only.setChecked(True)  # redrawn by the view alone: still stale
    assert view.tabs.tabText(1) == "Pods (1, 0 with a problem, stale)"
    view.problems_only.setChecked(False)

    p.reload()
    page.settle()
    assert cells(view.nodes.table, 0) == ["a-node-2"]
    assert view.tabs.tabText(0) == "Nodes (1, 0 not ready)"
    assert view.read_at.text() == f"nodes and pods read {time_text(later, seconds=True)}"


def test_a_late_answer_from_the_cluster_left_is_not_shown_for_the_next(page: Page) -> None:
    kube, view, p = page.kube, page.view, page.presenter
    kube.gates["prod-a"] = asyncio.Event()
    kube.inventories = {
        "prod-a": [inventory("prod-a", "a-node-1", "a-pod")],
        "prod-b": [inventory("prod-b", "b-node-1", "b-pod")],
    }
    p.show_cluster("prod-a")  # prod-a is slow to answer
    p.show_cluster("prod-b")
    run_until(page.qtbot, lambda: cells(view.nodes.table, 0) == ["b-node-1"])
    kube.gates["prod-a"].set()
    page.settle()
    assert cells(view.nodes.table, 0) == ["b-node-1"]
    assert "prod-a" not in view.status.text()


def test_the_same_cluster_shown_again_keeps_its_own_nodes_with_when_they_were_read(
    page: Page,
) -> None:
    kube, view, p = page.kube, page.view, page.presenter
    earlier = NOW - timedelta(minutes=5)
    kube.inventories["prod-a"] = [inventory("prod-a", "a-node-1", "a-pod", earlier)]
    kube.gates["prod-a"] = asyncio.Event()
    kube.gates["prod-a"].set()
    p.show_cluster("prod-a")
    page.settle()
    p.stop()  # the Dashboard tab
    kube.gates["prod-a"].clear()  # the next read is slow
    kube.inventories["prod-a"].append(inventory("prod-a", "a-node-1", "a-pod", NOW))
    p.show_cluster("prod-a")
    assert cells(view.nodes.table, 0) == ["a-node-1"]
    assert view.read_at.text() == f"nodes and pods read {time_text(earlier, seconds=True)}"
    kube.gates["prod-a"].set()
    page.settle()
    assert view.read_at.text() == f"nodes and pods read {time_text(NOW, seconds=True)}"


# -- 2. warnings are filtered before the newest are cut -----------------------------------------
def test_warnings_only_lists_the_warnings_that_normal_churn_came_after(page: Page) -> None:
    kube, view, p = page.kube, page.view, page.presenter
    kube.inventories["ran-c"] = [inventory("ran-c", "n", "p")]
    timeline, _ = kube.follow("ran-c")
    old = NOW - timedelta(minutes=10)
    items = [event(f"w{i}", "Warning", "NodeNotReady", old) for i in range(20)]
    items += [event(f"n{i}", "Normal", "Pulled", NOW - timedelta(seconds=i)) for i in range(600)]
    timeline.apply(WatchEvent("RELISTED", {"items": items}))
    view.tabs.setCurrentWidget(view.events)
    p.show_cluster("ran-c")
    run_until(page.qtbot, lambda: view.events.table.rowCount() == EVENTS_SHOWN)
    assert view.tabs.tabText(2) == "Events (620, 20 warnings)"  # the timeline's, not the 500's
    assert view.events_note.text() == "the newest 500 of 620 events shown"
    assert set(cells(view.events.table, 1)) == {"Normal"}

    view.warnings_only.setChecked(True)
    assert cells(view.events.table, 2) == ["NodeNotReady"] * 20
    assert not view.events_note.isVisible()  # all of them
    assert view.tabs.tabText(2) == "Events (620, 20 warnings)"


def test_warnings_only_shows_the_newest_warnings_when_there_are_more_than_it_shows(
    page: Page,
) -> None:
    kube, view, p = page.kube, page.view, page.presenter
    kube.inventories["ran-c"] = [inventory("ran-c", "n", "p")]
    timeline, _ = kube.follow("ran-c")
    items = [event(f"w{i}", "Warning", "BackOff", NOW - timedelta(minutes=5, seconds=i))
             for i in range(700)]  # fmt: skip
    items += [event(f"n{i}", "Normal", "Pulled", NOW - timedelta(seconds=i)) for i in range(600)]
    timeline.apply(WatchEvent("RELISTED", {"items": items}))
    view.tabs.setCurrentWidget(view.events)
    view.warnings_only.setChecked(True)
    p.show_cluster("ran-c")
    run_until(page.qtbot, lambda: view.events.table.rowCount() == EVENTS_SHOWN)
    assert set(cells(view.events.table, 1)) == {"Warning"}
    assert cells(view.events.table, 4)[:1] == ["1"]
    assert view.tabs.tabText(2) == "Events (1300, 700 warnings)"
    assert view.events_note.text() == "the newest 500 of 700 warnings shown"
    newest = time_text(NOW - timedelta(minutes=5), seconds=True)
    assert cells(view.events.table, 0)[0] == newest


# -- 3. an events watch that is not live says so ----------------------------------------------
def test_an_events_watch_that_is_not_live_says_why_on_the_events_tab(page: Page) -> None:
    kube, view, p = page.kube, page.view, page.presenter
    kube.inventories["ran-c"] = [inventory("ran-c", "n", "p")]
    view.tabs.setCurrentWidget(view.events)
    p.show_cluster("ran-c")
    timeline, state = kube.followed["ran-c"]
    note, qtbot = view.events_note, page.qtbot
    assert note.text() == "events not read yet (listing …)"
    assert view.tabs.tabText(2) == "Events (0, 0 warnings, not live)"

    # a credential that may not read events: the list answers 403, again and again (the
    # collector's WatchState says when a watch failed and when it shows life again)
    state.failed(FORBIDDEN)
    run_until(qtbot, lambda: note.text() == f"events not live: {FORBIDDEN}")
    assert note.isVisible() and view.tabs.tabText(2) == "Events (0, 0 warnings, not live)"
    assert view.events.table.empty_message() == "Not live: see above"

    # allowed at last: listed
    state.resource_version = "10"
    state.alive()
    timeline.apply(WatchEvent("RELISTED", {"items": [event("e1", "Warning", "BackOff", NOW)]}))
    run_until(qtbot, lambda: not note.isVisible())
    assert view.tabs.tabText(2) == "Events (1, 1 warnings)"

    # the API server went away: the last events stay, said not to be live
    state.failed("c1: cannot reach https://c:6443: connection refused")
    run_until(qtbot, lambda: note.text().startswith("events not live: c1: cannot reach"))
    assert view.events.table.rowCount() == 1
    assert view.tabs.tabText(2) == "Events (1, 1 warnings, not live)"

    # back
    state.alive()
    run_until(qtbot, lambda: not note.isVisible())

    # an event skipped as malformed is noted, but the watch goes on
    state.skipped += 1
    state.note("c1: a watch event is not JSON")
    qtbot.wait(100)
    assert not note.isVisible() and view.tabs.tabText(2) == "Events (1, 1 warnings)"

    # failures past the ones kept (the list keeps its length): the last is said
    for i in range(ERRORS_KEPT + 5):
        state.failed(f"c1: cannot reach https://c:6443 (try {i})")
    run_until(qtbot, lambda: note.text().endswith(f"(try {ERRORS_KEPT + 4})"))
    state.alive()
    run_until(qtbot, lambda: not note.isVisible())
    state.failed("c1: cannot reach https://c:6443 (again)")
    run_until(qtbot, lambda: note.text().endswith("(again)"))


def test_what_the_events_tab_says_of_a_watch_is_one_redacted_line_of_plain_text(
    page: Page,
) -> None:
    kube, view, p = page.kube, page.view, page.presenter
    kube.inventories["ran-c"] = [inventory("ran-c", "n", "p")]
    p.show_cluster("ran-c")
    _, state = kube.followed["ran-c"]
    note = view.events_note
    # not a collector's error (those are redacted where they are made): opening the client
    state.failed("c: the kubeconfig was refused: token: sekret-value-1234 <b>bold</b>\nline 2")
    run_until(page.qtbot, lambda: note.text().startswith("events not live: "))
    assert "sekret-value-1234" not in note.text() and "line 2" not in note.text()
    assert "<b>bold</b>" in note.text() and note.textFormat() == Qt.TextFormat.PlainText
    state.failed("c: " + "x" * 1000)
    run_until(page.qtbot, lambda: note.text().endswith("…"))
    assert len(note.text()) < 400


def test_a_watch_already_failing_when_the_tab_opens_is_not_live(page: Page) -> None:
    kube, view, p = page.kube, page.view, page.presenter
    kube.inventories["ran-c"] = [inventory("ran-c", "n", "p")]
    timeline, state = kube.follow("ran-c")  # followed before (the session kept it)
    timeline.apply(WatchEvent("RELISTED", {"items": []}))
    state.resource_version = "3"
    state.failed("c1: cannot reach https://c:6443: connection refused")
    p.show_cluster("ran-c")
    assert view.events_note.text() == (
        "events not live: c1: cannot reach https://c:6443: connection refused"
    )


def test_objects_of_the_wrong_shape_are_counted_not_lost_unsaid(page: Page) -> None:
    """An inventory that skipped a malformed pod (the rest are shown) says so, and why."""
    kube, view, p = page.kube, page.view, page.presenter
    taken = inventory("prod-a", "a-node-1", "a-pod")
    taken.skipped_pods, taken.skipped_reason = 2, "a pod is not in Kubernetes format"
    kube.inventories["prod-a"] = [taken]
    p.show_cluster("prod-a")
    page.settle()
    assert cells(view.pods.table, 1) == ["a-pod"]
    assert view.read_at.text().endswith(" · 0 nodes and 2 pods not shown (malformed)")
    assert "not shown: a pod is not in Kubernetes format" in view.read_at.toolTip()


def test_nodes_the_credential_may_not_list_are_said_on_the_page(page: Page) -> None:
    """The built-in view role lists pods, not nodes: an empty Nodes table read as no node,
    the reason only in a tooltip."""
    kube, view, p = page.kube, page.view, page.presenter
    taken = inventory("prod-a", "a-node-1", "a-pod")
    taken.nodes, taken.nodes_unread = [], "the nodes, which the credential may not list (403)"
    kube.inventories["prod-a"] = [taken]
    p.show_cluster("prod-a")
    page.settle()
    assert cells(view.pods.table, 1) == ["a-pod"]
    assert view.read_at.text().endswith(" · nodes not read: the credential may not list them")
    assert "not read: the nodes, which the credential may not list (403)" in view.read_at.toolTip()
