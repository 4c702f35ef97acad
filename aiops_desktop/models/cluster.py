"""Cluster registry models (docs/architecture.md#rules)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from pydantic import Field, field_validator, model_validator

from aiops_desktop.models.base import DomainModel, utcnow
from aiops_desktop.models.credentials import CredentialRef
from aiops_desktop.models.enums import (
    AuthMethod,
    ClusterKind,
    ClusterState,
    ClusterType,
    CNFType,
    Connectivity,
    EndpointKind,
    EndpointSource,
    Environment,
    Platform,
)
from aiops_desktop.models.text import one_line

CLUSTER_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"
_NAME_RE = re.compile(CLUSTER_NAME_PATTERN)
#: a fleet member's name as a hub's ``cluster`` label gives it (ACM, Thanos, VictoriaMetrics
#: fleets use DNS-style names; some keep capitals, dots or underscores)
_MEMBER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
MOST_MEMBERS = 10_000  # a hub's members kept


def member_name(value: object) -> str | None:
    """A hub's ``cluster`` label when it is a plausible cluster name, else None: a label is
    the server's word, and it becomes a name in views, reports and the cache."""
    if isinstance(value, str) and _MEMBER_RE.fullmatch(value):
        return value
    return None


#: Health check interval per cluster type, seconds (docs/architecture.md#rules).
CHECK_INTERVAL_S: dict[ClusterType, int] = {
    ClusterType.HUB: 15,
    ClusterType.SPOKE: 30,
    ClusterType.EDGE: 60,
    ClusterType.FAR_EDGE: 120,
}

#: Score penalty when an endpoint of this kind is down (docs/architecture.md#rules).
HEALTH_PENALTY: dict[EndpointKind, int] = {
    EndpointKind.API_SERVER: 50,
    EndpointKind.PROMETHEUS: 20,
    EndpointKind.TEMPO: 15,
    EndpointKind.LOKI: 15,
}


def validate_cluster_name(value: str) -> str:
    if not _NAME_RE.match(value):
        raise ValueError(
            f"cluster name {value!r} is not DNS-style: use 3-63 lowercase letters, digits and "
            "'-', starting and ending with a letter or digit"
        )
    return value


def without_userinfo(url: str) -> str:
    """``url`` as it may be shown: whatever stands between ``//`` and the last ``@`` (a user
    name and password, however mistyped the rest) is left out."""
    if "@" not in url:
        return url
    head, sep, rest = url.partition("//")
    if not sep:
        head, rest = "", url
    return f"{head}{sep}…@{rest.rsplit('@', 1)[1]}"


def shown_url(url: str) -> str:
    """``url`` as it may be shown: no user info (``without_userinfo``), and no query or
    fragment (``?access_token=…``), each left out as "…"; what an older version stored may
    hold them."""
    shown = without_userinfo(url)
    base = shown.split("?", 1)[0].split("#", 1)[0]
    return base if base == shown else base + "…"


def has_query(url: str) -> bool:
    """Whether ``url`` holds a query or a fragment (``?access_token=…``, ``#…``)."""
    parts = urlsplit(url)
    return bool(parts.query or parts.fragment) or "?" in url or "#" in url


def refuse_query(url: str, what: str) -> None:
    """A URL given by a person (added, set, imported) is a base path only: ``?access_token=…``
    would be listed and exported with captures, and a client appends its API path after the
    query (``/prom?x=1/api/v1/query``): never right; nor is a blank or a control character.
    ValueError says so (never the query)."""
    if has_query(url):
        raise ValueError(
            f"{what} {shown_url(url)!r} has a query or fragment (? or #): a URL is a base path "
            "only; credentials go to the OS keyring (a token file, --basic-user), never into "
            "a URL"
        )
    # a paste with a stray blank ("host :6443", "thanos querier") was taken and every poll
    # then failed on a host no one typed; one stored by an older version still loads
    # (validate_http_url), so the cluster stays listed and its polls say what is wrong
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise ValueError(
            f"{what} {shown_url(url)!r} has a blank or a control character in it (a space, a "
            "tab, a line break): a URL has none; remove it"
        )


def validate_http_url(value: str, *, require_https: bool, what: str) -> str:
    """``value`` without a trailing slash, query or fragment, or ValueError; no message echoes
    a password. A query or fragment is refused where a person gives a URL (``refuse_query``,
    the registry's add and set); one stored by an older version, or a Route's path that
    holds one, is dropped here, so what was saved still loads (a capture, the registry). A
    blank or a control character is refused there too, and kept here: a cluster an older
    version saved with one stays listed (never a damaged row), its polls saying why they fail."""
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None:  # before anything else
        raise ValueError(
            f"{what} {without_userinfo(value)!r} carries a user name or password: credentials "
            "go to the OS keyring (a token file, --basic-user), never into a URL"
        )
    if has_query(value):
        value = value.split("?", 1)[0].split("#", 1)[0]
        parts = urlsplit(value)
    shown = without_userinfo(value)  # a mistyped URL may still hold one (no '//', a '/' in it)
    allowed = ("https",) if require_https else ("http", "https")
    if parts.scheme not in allowed or not parts.hostname:
        need = "https://host[:port]" if require_https else "http(s)://host[:port]"
        raise ValueError(f"{what} {shown!r} is not a valid URL: expected {need}")
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError(f"{what} {shown!r} has an invalid port") from exc
    return value.rstrip("/")


def validate_ca_bundle(value: str | None) -> str | None:
    """A CA bundle as the cache may hold it: certificates only. A combined PEM (a
    ``bundle.pem`` of certificate and key) would put the private key into the cache and into
    ``clusters list --json``; it is refused whole, never trimmed to its certificates."""
    if value is not None and "PRIVATE KEY" in value:
        raise ValueError("a CA bundle must hold certificates only, not a private key")
    return value


ClusterName = Annotated[str, Field(min_length=3, max_length=63)]


class Endpoint(DomainModel):
    """One observability endpoint of a cluster, discovered or typed in."""

    kind: EndpointKind
    url: str
    source: EndpointSource = EndpointSource.USER
    auth: AuthMethod = AuthMethod.NONE
    credential: CredentialRef | None = None
    tls_verify: bool = True
    ca_bundle_pem: str | None = Field(
        default=None, description="Custom CA bundle (public certificates only, never a key)."
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return validate_http_url(value, require_https=False, what="endpoint URL")

    @field_validator("ca_bundle_pem")
    @classmethod
    def _ca(cls, value: str | None) -> str | None:
        return validate_ca_bundle(value)

    @model_validator(mode="after")
    def _auth_needs_credential(self) -> Endpoint:
        if self.auth is not AuthMethod.NONE and self.credential is None:
            raise ValueError(f"{self.kind} endpoint uses {self.auth} auth but has no credential")
        return self


class ClusterStatus(DomainModel):
    state: ClusterState = ClusterState.UNKNOWN
    health_score: int = Field(default=100, ge=0, le=100)
    connectivity: Connectivity = Connectivity.DISCONNECTED
    last_error: str | None = None
    last_check_at: datetime | None = None
    endpoint_health: dict[EndpointKind, bool] = Field(default_factory=dict)
    #: a fleet hub's member clusters (its series' ``cluster`` label values), as polls find them
    members: list[str] = Field(default_factory=list)

    @field_validator("members")
    @classmethod
    def _members(cls, value: list[str]) -> list[str]:
        """Only plausible names, at most MOST_MEMBERS: a capture's record is outside text,
        and a member's name is shown in views and reports (as a poll keeps them)."""
        return [m for m in value if member_name(m) is not None][:MOST_MEMBERS]


class ClusterCapabilities(DomainModel):
    gpu_nodes: int = Field(default=0, ge=0)
    gpu_count: int = Field(default=0, ge=0)
    gpu_types: list[str] = Field(default_factory=list)
    has_prometheus: bool = False
    has_thanos: bool = False
    has_tempo: bool = False
    has_loki: bool = False
    has_service_mesh: bool = False
    has_cnf: bool = False
    cnf_types: list[CNFType] = Field(default_factory=list)
    has_ptp: bool = False
    has_sriov: bool = False
    has_gpu_operator: bool = False
    discovered_at: datetime | None = None
    vanished: list[str] = Field(
        default_factory=list, description="Capabilities the last discovery no longer found."
    )

    def present(self) -> set[str]:
        """The capabilities found, by name (what ``vanished`` is computed from)."""
        flags = {
            "prometheus": self.has_prometheus,
            "thanos": self.has_thanos,
            "tempo": self.has_tempo,
            "loki": self.has_loki,
            "service mesh": self.has_service_mesh,
            "cnf": self.has_cnf,
            "ptp": self.has_ptp,
            "sr-iov": self.has_sriov,
            "gpu operator": self.has_gpu_operator,
            "gpus": self.gpu_count > 0,
        }
        return {name for name, on in flags.items() if on}


class Cluster(DomainModel):
    id: UUID = Field(default_factory=uuid4)
    name: ClusterName
    display_name: str = Field(default="", max_length=128)
    kind: ClusterKind = ClusterKind.CLUSTER
    api_server_url: str | None = None
    cluster_type: ClusterType = ClusterType.SPOKE
    platform: Platform = Platform.KUBERNETES
    platform_version: str | None = None
    region: str | None = None
    environment: Environment = Environment.PRODUCTION
    labels: dict[str, str] = Field(default_factory=dict)
    credential: CredentialRef | None = Field(
        default=None, description="How to reach the API server; the secret is in the keyring."
    )
    tls_verify: bool = Field(
        default=True, description="False only when the kubeconfig says insecure-skip-tls-verify."
    )
    ca_bundle_pem: str | None = Field(
        default=None, description="Custom CA bundle (public certificates only, never a key)."
    )
    endpoints: list[Endpoint] = Field(default_factory=list)
    status: ClusterStatus = Field(default_factory=ClusterStatus)
    capabilities: ClusterCapabilities = Field(default_factory=ClusterCapabilities)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_cluster_name(value)

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, value: str) -> str:
        """One printable line: it is a kubeconfig context's name (any text of a file), and
        the sidebar and titles show it; a line break in it forged a line of its own there
        (a state, a score), a bidi override made it read backwards."""
        return one_line(value).strip()

    @field_validator("api_server_url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return validate_http_url(value, require_https=True, what="API server URL")

    @field_validator("ca_bundle_pem")
    @classmethod
    def _ca(cls, value: str | None) -> str | None:
        return validate_ca_bundle(value)

    @model_validator(mode="after")
    def _reachable_somehow(self) -> Cluster:
        if self.api_server_url is None and not self.endpoints:
            raise ValueError(
                f"cluster {self.name!r} needs an API server URL or at least one endpoint URL"
            )
        kinds = [e.kind for e in self.endpoints]
        if len(kinds) != len(set(kinds)):
            raise ValueError(f"cluster {self.name!r} lists an endpoint kind twice")
        return self

    @property
    def title(self) -> str:
        return self.display_name or self.name

    @property
    def check_interval_s(self) -> int:
        return CHECK_INTERVAL_S[self.cluster_type]

    def endpoint(self, kind: EndpointKind) -> Endpoint | None:
        return next((e for e in self.endpoints if e.kind is kind), None)


class HealthRecord(DomainModel):
    """One health check of a cluster, kept 7 days."""

    cluster_id: UUID
    checked_at: datetime = Field(default_factory=utcnow)
    state: ClusterState
    health_score: int = Field(ge=0, le=100)
    endpoint_health: dict[EndpointKind, bool] = Field(default_factory=dict)
    error: str | None = None


class FleetSummary(DomainModel):
    total: int = 0
    by_state: dict[ClusterState, int] = Field(default_factory=dict)
    by_type: dict[ClusterType, int] = Field(default_factory=dict)
    by_environment: dict[Environment, int] = Field(default_factory=dict)
    total_gpus: int = 0
    clusters_with_cnf: int = 0
    average_health: float | None = None
