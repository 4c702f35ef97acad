"""The fleet overview's read model: one tile per cluster (or member of a fleet hub), with its
state, health score, alerts, a sparkline and the age of its data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiops_desktop.models.enums import AlertSeverity

if TYPE_CHECKING:  # annotations only: no numpy at import
    import numpy as np


@dataclass
class TileModel:
    name: str
    title: str
    state: str
    health_score: int | None
    alerts: dict[AlertSeverity, int]
    spark: tuple[np.ndarray, np.ndarray] | None
    spark_title: str
    freshness: str
    stale: bool
    via_hub: str | None = None
    last_error: str | None = None
