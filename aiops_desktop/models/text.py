"""How figures read, the same in every view, the CLI and the reports."""

from __future__ import annotations


def pct_text(value: float | None) -> str:
    """A compliance share as the board, the CLI and reports write it: "83.3%", or "-"."""
    return "-" if value is None else f"{value:.1f}%"


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "no data yet"
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def labels_text(labels: dict[str, str]) -> str:
    """A series as PromQL writes it: ``name{a="1", b="2"}`` (``{}`` for no name, no labels)."""
    name = labels.get("__name__", "")
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{inner}}}" if inner else (name or "{}")
