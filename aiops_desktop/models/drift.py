"""Configuration drift: settings that should match across clusters or nodes, and do not."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fact:
    kind: str
    subject: str
    setting: str
    scope: str
    value: str


@dataclass
class Drift:
    kind: str
    subject: str
    setting: str
    values: list[tuple[str, list[str]]]  # (value, scopes), most common first

    @property
    def outliers(self) -> list[str]:
        """Scopes that hold a value other than the most common one."""
        return [scope for _, scopes in self.values[1:] for scope in scopes]


@dataclass
class DriftReport:
    """The drift found among what was read, and what was not: a cluster left out of the
    comparison must be named, or "nothing differs" would be said of what was never read.

    ``not_compared``: cluster -> why (some of) its operator objects were not compared (not
    read, or not in Kubernetes format); ``gpu_unread``: cluster -> why its GPU drivers were
    not read."""

    drifts: list[Drift]
    not_compared: dict[str, str] = field(default_factory=dict)
    gpu_unread: dict[str, str] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        """One line per cluster and what was not read there."""
        return [f"{c}: not compared: {why}" for c, why in self.not_compared.items()] + [
            f"{c}: GPU drivers not read: {why}" for c, why in self.gpu_unread.items()
        ]
