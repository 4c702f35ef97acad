"""The Kubernetes page: a cluster removed and another added under its name is another cluster
(the removed one's pods, identity and read time were shown as the new one's, and marked stale
when the new one could not be read); sorting by Age ascending lists the youngest first (the
key was the creation time: 30d, 2h, 1m)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import Qt

from aiops_desktop.models import Cluster
from aiops_desktop.models.enums import ValidationOutcome
from aiops_desktop.models.kube import Inventory, NodeRow, PodRow, ValidationResult
from aiops_desktop.services.kube.inventory import EventTimeline
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from collectors.errors import CollectorUnreachable
from collectors.kubernetes import WatchState
from tests.ui.conftest import run_until
from ui.presenters.kube import KubePresenter
from ui.views.cluster_kube import ClusterKubeView


class Kube:
    """The API server of the cluster registered as "prod": the first one answers, the one
    registered after it under the same name cannot be reached."""

    def __init__(self) -> None:
        self.reachable = True

    async def validate(self, name: str) -> ValidationResult:
        if not self.reachable:
            raise CollectorUnreachable(f"{name}: cannot reach its API server")
        return ValidationResult(name, ValidationOutcome.VALID, "admin", user="first-admin")

    async def inventory(self, name: str) -> Inventory:
        if not self.reachable:
            raise CollectorUnreachable(f"{name}: cannot reach its API server")
        pod = PodRow("ns", "first-clusters-pod", "Running", "n", "1/1", 0, False, "", None)
        return Inventory(name, [], [pod], datetime.now(UTC))

    def follow(self, name: str) -> tuple[EventTimeline, WatchState]:
        return EventTimeline(), WatchState()

    def unfollow(self, name: str | None = None) -> None:
        pass


class Registry:
    """Clusters by name, each the same one until it is replaced."""

    def __init__(self) -> None:
        self.clusters: dict[str, Cluster] = {}

    def register(self, name: str, host: str) -> None:
        self.clusters[name] = Cluster(name=name, api_server_url=f"https://{host}:6443")

    def hub_of(self, name: str) -> None:
        return None

    def get(self, name: str) -> Cluster:
        return self.clusters[name]


def test_a_cluster_added_under_a_removed_ones_name_shows_nothing_of_it(
    qtbot: Any, qloop: Any, theme: Any
) -> None:
    kube, tasks, registry = Kube(), TaskSupervisor(), Registry()
    registry.register("prod", "first.example")
    presenter = KubePresenter(registry=registry, kube=kube, discovery=None, tasks=tasks)  # type: ignore[arg-type]
    view = ClusterKubeView(theme)
    qtbot.addWidget(view)
    presenter.sig_inventory.connect(view.show_inventory)
    presenter.sig_validation.connect(view.show_validation)
    inventories: list[tuple[Inventory | None, str]] = []
    presenter.sig_inventory.connect(lambda inv, why: inventories.append((inv, why)))
    try:
        presenter.show_cluster("prod")
        run_until(qtbot, lambda: view.pods.table.rowCount() == 1 and tasks.running == 0)
        presenter.stop()  # the page is left, and shown again: the same cluster's answers stay
        inventories.clear()
        presenter.show_cluster("prod")
        assert inventories[0][0] is not None and view.fields["User"].text() == "first-admin"
        run_until(qtbot, lambda: tasks.running == 0)

        presenter.stop()  # "prod" removed: the window goes to the fleet page
        registry.register("prod", "second.example")  # another "prod" added, unreachable
        kube.reachable = False
        inventories.clear()
        presenter.show_cluster("prod")
        run_until(qtbot, lambda: tasks.running == 0)
        assert view.pods.table.rowCount() == 0, "the removed cluster's pods were shown"
        assert "first-admin" not in view.fields["User"].text()
        assert inventories and all(inv is None for inv, _ in inventories)
        assert "cannot reach" in inventories[-1][1]  # not read: not "stale"
    finally:
        presenter.close()
        run_until(qtbot, lambda: tasks.running == 0)


def test_sorting_by_age_ascending_lists_the_youngest_first(qtbot: Any, theme: Any) -> None:
    now = datetime.now(UTC)
    ages = {"old": timedelta(days=30), "young": timedelta(minutes=1), "mid": timedelta(hours=2)}
    created: dict[str, datetime | None] = {n: now - a for n, a in ages.items()}
    created["unknown"] = None
    pods = [PodRow("ns", n, "Running", "n", "1/1", 0, False, "", c) for n, c in created.items()]
    nodes = [NodeRow(n, ["worker"], True, [], "8", 1.0, 0, "v1", c) for n, c in created.items()]
    view = ClusterKubeView(theme)
    qtbot.addWidget(view)
    view.show_inventory(Inventory("c", nodes, pods, now))
    for table, column in ((view.pods.table, 6), (view.nodes.table, 7)):
        table.sortByColumn(column, Qt.SortOrder.AscendingOrder)
        shown = [table.item(r, column).text() for r in range(table.rowCount())]
        assert shown == ["1m", "2h", "30d", "—"], shown  # no creation time: last
        table.sortByColumn(column, Qt.SortOrder.DescendingOrder)
        shown = [table.item(r, column).text() for r in range(table.rowCount())]
        assert shown[-3:] == ["30d", "2h", "1m"], shown
