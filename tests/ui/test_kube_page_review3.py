"""Third review of the Kubernetes page: a Refresh, or another cluster shown, cancels the
validation and the inventory (every node and pod, up to 512 MiB a list) it supersedes, and
leaving the page cancels those under way: only their answers were dropped, and six Refreshes
read six inventories at once."""

from __future__ import annotations

import asyncio
from typing import Any

from aiops_desktop.models import Cluster
from aiops_desktop.models.kube import Inventory, ValidationResult
from aiops_desktop.services.kube.inventory import EventTimeline
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from collectors.kubernetes import WatchState
from tests.ui.conftest import run_until
from ui.presenters.kube import KubePresenter


class SlowKube:
    """Reads that take long (a big cluster's pods list), counted while they run."""

    def __init__(self) -> None:
        self.reading = {"inventory": 0, "validate": 0}
        self.started = {"inventory": 0, "validate": 0}
        self.most = 0  # reads of either kind under way at once

    async def _read(self, what: str) -> None:
        self.started[what] += 1
        self.reading[what] += 1
        self.most = max(self.most, *self.reading.values())
        try:
            await asyncio.Event().wait()  # never answers: only a cancel ends it
        finally:
            self.reading[what] -= 1

    async def validate(self, name: str) -> ValidationResult:
        await self._read("validate")
        raise AssertionError("never answered")

    async def inventory(self, name: str) -> Inventory:
        await self._read("inventory")
        raise AssertionError("never answered")

    def follow(self, name: str) -> tuple[EventTimeline, WatchState]:
        return EventTimeline(), WatchState()

    def unfollow(self, name: str | None = None) -> None:
        pass


class Registry:
    def hub_of(self, name: str) -> None:
        return None

    def get(self, name: str) -> Cluster:
        return Cluster(name=name, api_server_url=f"https://{name}.example:6443")


def test_superseded_reads_are_cancelled_and_leaving_the_page_cancels_the_rest(
    qtbot: Any, qloop: Any
) -> None:
    tasks = TaskSupervisor()
    kube = SlowKube()
    registry: Any = Registry()
    presenter = KubePresenter(registry=registry, kube=kube, discovery=None, tasks=tasks)  # type: ignore[arg-type]
    said: list[str] = []
    presenter.sig_status.connect(said.append)
    presenter.sig_error.connect(said.append)
    try:
        presenter.show_cluster("ran-a1")
        run_until(qtbot, lambda: kube.started == {"inventory": 1, "validate": 1})
        for refresh in range(2, 5):
            presenter.reload()  # Refresh, three more times, each while the reads run
            started = {"inventory": refresh, "validate": refresh}
            run_until(qtbot, lambda started=started: kube.started == started)  # type: ignore[misc]
        presenter.show_cluster("ran-b1")
        presenter.show_cluster("ran-c1")  # two other clusters looked at
        # ran-c1's reads (ran-b1's were cancelled before they started)
        run_until(qtbot, lambda: kube.started == {"inventory": 5, "validate": 5})
        run_until(qtbot, lambda: kube.reading == {"inventory": 1, "validate": 1})
        assert kube.most == 1  # never two inventories (nor validations) read at once
        presenter.stop()  # the page left
        run_until(qtbot, lambda: kube.reading == {"inventory": 0, "validate": 0})
        run_until(qtbot, lambda: tasks.running == 0)
    finally:
        presenter.close()
        run_until(qtbot, lambda: tasks.running == 0)
    assert not tasks.failures
    assert not [s for s in said if "failed" in s]  # a cancel is no failure to report
