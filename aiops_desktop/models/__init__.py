"""Layer 1: the product's vocabulary. No I/O, no Qt.

Pydantic models for the entities the app persists and validates (clusters, credentials
references, alerts, anomalies, metric queries), frozen-by-habit dataclasses for the read
models the services hand to the views (GPU health, the PTP board, SR-IOV rows, Kubernetes
inventory, the wall, reports), the enums named as the product specification names them, the
thresholds the rules and the views share (one constant each), the errors every layer raises
(``errors``) and how figures read (``text``). The entities most layers use are re-exported
here (cheap to import: no numpy, no more pydantic models than they need); everything else is
imported from its own module (``aiops_desktop.models.metrics``, ``...gpu``, ...).
"""

from aiops_desktop.models.base import DomainModel, utcnow
from aiops_desktop.models.cluster import (
    CHECK_INTERVAL_S,
    CLUSTER_NAME_PATTERN,
    HEALTH_PENALTY,
    Cluster,
    ClusterCapabilities,
    ClusterStatus,
    Endpoint,
    FleetSummary,
    HealthRecord,
    validate_cluster_name,
)
from aiops_desktop.models.credentials import KEYRING_SERVICE, CredentialRef
from aiops_desktop.models.enums import (
    Aggregation,
    AlertSeverity,
    AlertState,
    AnomalyMethod,
    AnomalySeverity,
    AnomalyType,
    AuthMethod,
    ClusterKind,
    ClusterState,
    ClusterType,
    CNFType,
    Connectivity,
    CredentialKind,
    EndpointKind,
    EndpointSource,
    Environment,
    Platform,
    QueryStatus,
    QueryType,
    Sensitivity,
    UserRole,
    ValidationOutcome,
)

__all__ = [  # noqa: RUF022
    "DomainModel",
    "utcnow",
    "Cluster",
    "ClusterStatus",
    "ClusterCapabilities",
    "Endpoint",
    "HealthRecord",
    "FleetSummary",
    "validate_cluster_name",
    "CLUSTER_NAME_PATTERN",
    "CHECK_INTERVAL_S",
    "HEALTH_PENALTY",
    "CredentialRef",
    "KEYRING_SERVICE",
    "ClusterType",
    "ClusterKind",
    "Platform",
    "Environment",
    "ClusterState",
    "Connectivity",
    "EndpointKind",
    "EndpointSource",
    "CredentialKind",
    "AuthMethod",
    "ValidationOutcome",
    "CNFType",
    "QueryType",
    "QueryStatus",
    "Aggregation",
    "AlertSeverity",
    "AlertState",
    "Sensitivity",
    "AnomalySeverity",
    "AnomalyType",
    "AnomalyMethod",
    "UserRole",
]
