"""What a person asks the registry for: a cluster to register (its fields and the secrets to
hand to the keyring), and what an import of a kubeconfig did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiops_desktop.models.cluster import Cluster
from aiops_desktop.models.enums import ClusterKind, ClusterType, EndpointKind, Environment, Platform


@dataclass
class ClusterSecrets:
    """What the user typed or piped in; handed to the keyring and then forgotten."""

    token: str | None = None
    basic_username: str | None = None
    basic_password: str | None = None
    client_cert_pem: str | None = None
    client_key_pem: str | None = None
    endpoint_tokens: dict[EndpointKind, str] = field(default_factory=dict)
    endpoints_use_cluster_token: bool = False


@dataclass
class ClusterSpec:
    name: str
    api_server_url: str | None = None
    display_name: str = ""
    kind: ClusterKind = ClusterKind.CLUSTER
    cluster_type: ClusterType = ClusterType.SPOKE
    platform: Platform = Platform.KUBERNETES
    environment: Environment = Environment.PRODUCTION
    region: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    endpoint_urls: dict[EndpointKind, str] = field(default_factory=dict)
    ca_bundle_pem: str | None = None
    tls_verify: bool = True


@dataclass
class ImportReport:
    imported: list[Cluster] = field(default_factory=list)
    #: clusters a context of the file had registered before: their credential replaced
    replaced: list[Cluster] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (context, reason)
    warnings: list[str] = field(default_factory=list)


@dataclass
class KubeconfigContext:
    context: str
    cluster_name: str
    server: str | None
    payload: dict[str, Any] | None = None  # the self-contained kubeconfig (secret)
    ca_pem: str | None = None
    insecure_skip_tls_verify: bool = False
    auth: str = "none"  # token | client-certificate | exec | auth-provider | basic | none
    exec_command: str | None = None
    #: what its credential runs or asks whenever it needs a token (an exec plugin's command
    #: line, an auth provider and its issuer): imported only with the user's say
    runs: str | None = None
    files: list[str] = field(default_factory=list)  # the files it references, as read
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def usable(self) -> bool:
        return self.error is None
