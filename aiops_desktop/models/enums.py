"""Enumerations named as the product specification names them (docs/architecture.md#rules).

All are ``StrEnum`` so that they serialise to the same text the specification uses, in SQLite,
JSON output and reports alike.
"""

from __future__ import annotations

from enum import StrEnum


class ClusterType(StrEnum):
    HUB = "HUB"
    SPOKE = "SPOKE"
    EDGE = "EDGE"
    FAR_EDGE = "FAR_EDGE"


class ClusterKind(StrEnum):
    """A single cluster, or a fleet endpoint (Thanos/ACM hub) serving many by a `cluster` label."""

    CLUSTER = "CLUSTER"
    FLEET = "FLEET"


class Platform(StrEnum):
    OPENSHIFT = "OPENSHIFT"
    KUBERNETES = "KUBERNETES"
    MICROSHIFT = "MICROSHIFT"


class Environment(StrEnum):
    PRODUCTION = "PRODUCTION"
    STAGING = "STAGING"
    DEVELOPMENT = "DEVELOPMENT"
    LAB = "LAB"


class ClusterState(StrEnum):
    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"
    DEGRADED = "DEGRADED"
    UNKNOWN = "UNKNOWN"
    PROVISIONING = "PROVISIONING"


class Connectivity(StrEnum):
    CONNECTED = "CONNECTED"
    DISCONNECTED = "DISCONNECTED"
    INTERMITTENT = "INTERMITTENT"


class EndpointKind(StrEnum):
    API_SERVER = "API_SERVER"
    PROMETHEUS = "PROMETHEUS"
    ALERTMANAGER = "ALERTMANAGER"
    LOKI = "LOKI"
    TEMPO = "TEMPO"


class EndpointSource(StrEnum):
    """Where an endpoint URL came from: typed by the user, or found by discovery."""

    USER = "USER"
    DISCOVERED = "DISCOVERED"


class CredentialKind(StrEnum):
    KUBECONFIG_CONTEXT = "KUBECONFIG_CONTEXT"
    BEARER_TOKEN = "BEARER_TOKEN"  # noqa: S105 (a kind name, not a secret)
    CLIENT_CERTIFICATE = "CLIENT_CERTIFICATE"
    BASIC_AUTH = "BASIC_AUTH"


class AuthMethod(StrEnum):
    NONE = "NONE"
    BEARER = "BEARER"
    BASIC = "BASIC"
    MTLS = "MTLS"


class ValidationOutcome(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNREACHABLE = "unreachable"
    EXPIRED = "expired"
    INSUFFICIENT_PERMISSIONS = "insufficient_permissions"


class CNFType(StrEnum):
    VDU = "vDU"
    VCU = "vCU"
    UPF = "UPF"
    AMF = "AMF"
    SMF = "SMF"
    NRF = "NRF"
    OTHER = "other"


class QueryType(StrEnum):
    INSTANT = "INSTANT"
    RANGE = "RANGE"


class QueryStatus(StrEnum):
    SUCCESS = "SUCCESS"
    PARTIAL = "PARTIAL"
    ERROR = "ERROR"


class Aggregation(StrEnum):
    MERGE = "MERGE"
    SUM = "SUM"
    AVG = "AVG"
    MAX = "MAX"
    MIN = "MIN"


class AlertSeverity(StrEnum):
    CRITICAL = "CRITICAL"
    WARNING = "WARNING"
    INFO = "INFO"


class FindingSeverity(StrEnum):
    """The app's one severity word, in every view, the wall, the CLI and the reports: what a
    finding or an incident is, and how an alert (its own word) and an anomaly (its grade,
    ``AnomalySeverity.level``) read beside them."""

    CRITICAL = "CRITICAL"
    WARNING = "WARNING"
    INFO = "INFO"


class AlertState(StrEnum):
    FIRING = "FIRING"
    PENDING = "PENDING"
    RESOLVED = "RESOLVED"


class GroupBy(StrEnum):
    CLUSTER = "cluster"
    NAMESPACE = "namespace"
    ALERTNAME = "alertname"


class LogDirection(StrEnum):
    FORWARD = "FORWARD"
    BACKWARD = "BACKWARD"


class SpanStatus(StrEnum):
    """OTLP status codes: 0 UNSET, 1 OK, 2 ERROR."""

    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"


class SpanKind(StrEnum):
    UNSPECIFIED = "UNSPECIFIED"
    INTERNAL = "INTERNAL"
    SERVER = "SERVER"
    CLIENT = "CLIENT"
    PRODUCER = "PRODUCER"
    CONSUMER = "CONSUMER"


class Sensitivity(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    EXTREME = "EXTREME"

    @property
    def threshold(self) -> float:
        """The z-equivalent threshold the specification fixes for this sensitivity."""
        return {"LOW": 3.0, "MEDIUM": 2.5, "HIGH": 2.0, "EXTREME": 1.5}[self.value]


class AnomalySeverity(StrEnum):
    CRITICAL = "CRITICAL"  # by rule only: a clock leaving LOCKED, an XID, a GPU at 80 C
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"

    @classmethod
    def from_ratio(cls, score_over_threshold: float) -> AnomalySeverity:
        """score/threshold > 3 is HIGH, > 2 MEDIUM, else LOW (docs/architecture.md#rules)."""
        if score_over_threshold > 3:
            return cls.HIGH
        if score_over_threshold > 2:
            return cls.MEDIUM
        return cls.LOW

    @classmethod
    def from_change(cls, deviation_pct: float | None) -> AnomalySeverity:
        """The most a statistical finding may be for how far it moved from what was expected:
        under 5 % LOW, under 15 % MEDIUM (a +2 % CPU change many sigmas out is still small)."""
        if deviation_pct is None:
            return cls.HIGH
        size = abs(deviation_pct)
        return cls.LOW if size < 5 else cls.MEDIUM if size < 15 else cls.HIGH

    @classmethod
    def from_spreads(cls, spreads: float) -> AnomalySeverity:
        """The most a finding may be for how many robust spreads (MAD as sigma) of its recent
        values it moved: under 4 LOW (plain noise reaches that), under 8 MEDIUM."""
        return cls.LOW if spreads < 4 else cls.MEDIUM if spreads < 8 else cls.HIGH

    @property
    def rank(self) -> int:
        """0 for CRITICAL ... 3 for LOW."""
        return list(AnomalySeverity).index(self)

    @property
    def serious(self) -> bool:
        """CRITICAL or HIGH: what reports count and recommend acting on."""
        return self.rank <= AnomalySeverity.HIGH.rank

    @property
    def level(self) -> FindingSeverity:
        """How the grade reads in the app's one severity vocabulary: CRITICAL (a rule) stays
        CRITICAL, HIGH is a WARNING, MEDIUM and LOW are INFO (PRODUCT.md's grade stays in the
        anomaly's own record and JSON as ``severity``)."""
        if self is AnomalySeverity.CRITICAL:
            return FindingSeverity.CRITICAL
        return FindingSeverity.WARNING if self is AnomalySeverity.HIGH else FindingSeverity.INFO


class AnomalyType(StrEnum):
    SPIKE = "SPIKE"
    DROP = "DROP"
    TREND_CHANGE = "TREND_CHANGE"
    PATTERN_BREAK = "PATTERN_BREAK"
    THRESHOLD_BREACH = "THRESHOLD_BREACH"


class AnomalyMethod(StrEnum):
    CONTEXT = "CONTEXT"  # the benchmarked detector (analysis/detectors/live.py): the default
    ZSCORE = "ZSCORE"
    MAD = "MAD"
    IQR = "IQR"
    STL = "STL"
    MSTL = "MSTL"
    ETS = "ETS"
    LEVEL_SHIFT = "LEVEL_SHIFT"
    SEASONAL_ESD = "SEASONAL_ESD"
    DOMAIN_RULE = "DOMAIN_RULE"


class IncidentStatus(StrEnum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"


class ChatRole(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class PersonaName(StrEnum):
    DEFAULT = "default"
    PLATFORM_OPS = "platform-ops"
    GPU_EXPERT = "gpu-expert"
    NETWORK_CNF = "network-cnf"
    TELCO_5G = "telco-5g"


class UserRole(StrEnum):
    """Roles inside the app: admin manages clusters/credentials/settings; viewer only reads."""

    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


class Verdict(StrEnum):
    """A sentence of a model's explanation, checked against the evidence it cites
    (analysis/grounding.py)."""

    VERIFIED = "verified"
    #: cites real items, but has no number, time or date: nothing in it could be matched
    CITED = "cited, not checked"
    UNVERIFIED = "unverified"
