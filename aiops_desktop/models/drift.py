"""Configuration drift: settings that should match across clusters or nodes, and do not."""

from __future__ import annotations

from dataclasses import dataclass


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
