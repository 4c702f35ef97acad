"""What every command shares: argument types, the chosen clusters, secrets read from stdin or a
file (never from an argument: process lists and shell history keep arguments), and the
input/output a handler writes to."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.models.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from aiops_desktop.services.core import Core


@dataclass
class Io:
    """Where a command reads a piped secret from and writes its answer to."""

    out: TextIO
    stdin: TextIO


def enum_arg(enum: type[Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return enum(text.upper().replace("-", "_"))
        except ValueError:
            choices = ", ".join(e.value for e in enum)
            raise argparse.ArgumentTypeError(f"{text!r}: choose one of {choices}") from None

    parse.__name__ = enum.__name__
    return parse


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> timedelta:
    try:
        value, unit = float(text[:-1]), _UNITS[text[-1]]
    except (KeyError, ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"{text!r}: use e.g. 30s, 5m, 1h, 2d") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be positive")
    return timedelta(seconds=value * unit)


def instant(text: str) -> datetime:
    """An ISO 8601 time (UTC unless it says otherwise) or a Unix timestamp."""
    try:
        when = (
            datetime.fromtimestamp(float(text), UTC)
            if text.replace(".", "", 1).isdigit()
            else datetime.fromisoformat(text)
        )
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: use e.g. 2026-11-27T06:00:00Z or a Unix timestamp"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use WIDTHxHEIGHT, e.g. 1400x900") from None
    if w < 200 or h < 150:
        raise argparse.ArgumentTypeError("the size must be at least 200x150")
    return w, h


def names(text: str | None) -> list[str]:
    """A comma-separated list of names ([] for none)."""
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def chosen_clusters(core: Core, text: str | None) -> list[Cluster]:
    """The named clusters, or every cluster with metrics; none at all is an error."""
    if text:
        return [core.registry.get(n) for n in names(text)]
    chosen = [c for c in core.registry.clusters() if c.endpoint(EndpointKind.PROMETHEUS)]
    if not chosen:
        raise NotFoundError("no cluster with a Prometheus endpoint is registered")
    return chosen


def read_secret_file(path: str, what: str) -> str:
    try:
        value = Path(path).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UsageError(f"cannot read {what} file {path}: {exc.strerror or exc}") from exc
    if not value:
        raise UsageError(f"{what} file {path} is empty")
    return value


def read_stdin(stdin: TextIO, what: str) -> str:
    value = stdin.read().strip()
    if not value:
        raise UsageError(f"no {what} on standard input")
    return value
