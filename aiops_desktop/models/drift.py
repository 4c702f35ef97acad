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
    def majority(self) -> bool:
        """Whether one value is held by more scopes than any other. On a tie (one cluster
        against one) nothing tells which side is intended: the first value is then only the
        first in order, not the likely intended one."""
        return len(self.values) < 2 or len(self.values[0][1]) > len(self.values[1][1])

    @property
    def intended(self) -> str | None:
        """The likely intended value (the one most scopes hold); None with no majority."""
        return self.values[0][0] if self.values and self.majority else None

    @property
    def outliers(self) -> list[str]:
        """Scopes that hold a value other than the most common one; none with no majority
        (no side of a tie is the outlier)."""
        if not self.majority:
            return []
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
