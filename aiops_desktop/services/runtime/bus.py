"""A plain callback bus: services publish changes, presenters subscribe. No Qt here."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

log = logging.getLogger("aiops.services.bus")
Callback = Callable[[Any], None]

#: Topics published by the services.
CLUSTERS_CHANGED = "clusters.changed"  # payload: list[Cluster]
TASK_FAILED = "tasks.failed"  # payload: TaskFailure
#: a cluster was removed (published once its removal is saved); payload: the removed Cluster.
#: What the app keeps by its name (stored series, anomalies, alert history, live buffers,
#: clients, poll statuses) goes with it: a cluster added later under that name starts afresh.
CLUSTER_REMOVED = "cluster.removed"


class EventBus:
    def __init__(self) -> None:
        self._subscribers: dict[str, list[Callback]] = defaultdict(list)

    def subscribe(self, topic: str, callback: Callback) -> Callable[[], None]:
        """Register ``callback``; returns the function that unsubscribes it."""
        self._subscribers[topic].append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers[topic]:
                self._subscribers[topic].remove(callback)

        return unsubscribe

    def publish(self, topic: str, payload: Any = None) -> None:
        for callback in list(self._subscribers[topic]):
            try:
                callback(payload)
            except Exception:  # one bad subscriber must not starve the others
                log.exception("subscriber of %s failed", topic)
