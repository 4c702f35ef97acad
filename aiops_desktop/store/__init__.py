"""Layer 2: the SQLite cache (sqlite-utils): one file, WAL, migrations, one writer thread."""

from aiops_desktop.store.anomalies import AnomalyFilter, AnomalyRepository
from aiops_desktop.store.clusters import ClusterRepository
from aiops_desktop.store.database import Database
from aiops_desktop.store.errors import (
    StoreClosedError,
    StoreCorruptError,
    StoreError,
    StoreTooNewError,
)
from aiops_desktop.store.health import HealthRepository
from aiops_desktop.store.migrations import SCHEMA_VERSION
from aiops_desktop.store.queries import QueryRecord, QueryRepository
from aiops_desktop.store.series import SeriesBatch, SeriesData, SeriesStore

__all__ = [
    "SCHEMA_VERSION",
    "AnomalyFilter",
    "AnomalyRepository",
    "ClusterRepository",
    "Database",
    "HealthRepository",
    "QueryRecord",
    "QueryRepository",
    "SeriesBatch",
    "SeriesData",
    "SeriesStore",
    "StoreClosedError",
    "StoreCorruptError",
    "StoreError",
    "StoreTooNewError",
]
