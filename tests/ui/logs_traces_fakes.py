"""The cluster registry the Logs and Traces pages' tests hand their presenters."""

from __future__ import annotations

from typing import Any

from aiops_desktop.models.enums import EndpointKind


class Cluster:
    """One cluster, prod-1, with a Loki and a Tempo."""

    name = "prod-1"

    def endpoint(self, kind: EndpointKind) -> bool:
        return kind in (EndpointKind.LOKI, EndpointKind.TEMPO)


class Registry:
    """prod-1 only; ``Registry([])`` none."""

    def __init__(self, clusters: list[Any] | None = None) -> None:
        self._clusters = [Cluster()] if clusters is None else clusters

    def clusters(self) -> list[Any]:
        return list(self._clusters)
