"""Kubernetes read models: what a credential may read (validation), nodes, pods and events as
a NOC engineer reads them, and the contexts of a kubeconfig."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from aiops_desktop.models.base import utcnow
from aiops_desktop.models.enums import ValidationOutcome


@dataclass(frozen=True)
class Need:
    """One thing the app reads: ``verb`` on ``resource`` in ``group``; ``essential`` needs
    make the credentials insufficient when denied."""

    group: str
    resource: str
    verb: str
    why: str
    essential: bool = False

    @property
    def label(self) -> str:
        return f"{self.verb} {self.resource}" + (f".{self.group}" if self.group else "")


@dataclass
class Permission:
    need: str  # Need.label
    why: str
    allowed: bool
    essential: bool


@dataclass
class ValidationResult:
    cluster: str
    outcome: ValidationOutcome
    reason: str
    server: str | None = None
    version: str | None = None
    platform: str | None = None
    user: str | None = None
    groups: list[str] = field(default_factory=list)
    permissions: list[Permission] = field(default_factory=list)
    checked_at: datetime = field(default_factory=utcnow)
    elapsed_s: float = 0.0

    @property
    def denied(self) -> list[Permission]:
        return [p for p in self.permissions if not p.allowed]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcome"] = self.outcome.value
        data["checked_at"] = self.checked_at.isoformat()
        return data


@dataclass
class NodeRow:
    name: str
    roles: list[str]
    ready: bool | None  # None: the kubelet never reported
    problems: list[str]  # conditions that are wrong, with their reason
    cpu: str
    memory_gib: float
    gpus: int
    kubelet: str
    created: datetime | None


@dataclass
class PodRow:
    namespace: str
    name: str
    phase: str
    node: str
    ready: str  # "1/2"
    restarts: int
    crash_looping: bool
    reason: str  # why it is not running well, in the API's words ("" when fine)
    created: datetime | None


# -- events ----------------------------------------------------------------------------------------
@dataclass
class EventRow:
    uid: str
    at: datetime | None
    type: str  # Normal | Warning
    reason: str
    object: str  # Kind/namespace/name
    message: str
    count: int
    namespace: str


@dataclass
class Inventory:
    cluster: str
    nodes: list[NodeRow]
    pods: list[PodRow]
    taken_at: datetime
    skipped_nodes: int = 0  # objects of the wrong shape, not shown (the rest are)
    skipped_pods: int = 0
    skipped_reason: str = ""  # why the first one was skipped
    #: why no node was read, where the credential may not list them ("" when they were): the
    #: built-in view role lists pods, not nodes; said on the page, not only in a tooltip
    nodes_unread: str = ""

    @property
    def skipped(self) -> int:
        return self.skipped_nodes + self.skipped_pods
