"""A cluster's Kubernetes API: its client (from the keyring's credential) and its validation.

Validation answers, without any typing, what the cluster is and what the credentials may read:
``/version``, then SelfSubjectReview (user, groups), then SelfSubjectRulesReview for every
resource the app reads, in each GPU driver namespace (where the app execs): each read across the
cluster they allow (or may allow: incomplete rules) confirmed by a SelfSubjectAccessReview at
cluster scope (the rules are one namespace's), an exec judged in the driver namespaces. The
outcome is one of valid / invalid / unreachable / expired / insufficient_permissions with the
reason (docs/architecture.md#rules); a missing optional permission is listed, not fatal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiops_desktop.models import Cluster, CredentialKind
from aiops_desktop.models.enums import ValidationOutcome
from aiops_desktop.models.kube import Need, Permission, ValidationResult
from aiops_desktop.models.text import cut, one_line, time_text
from aiops_desktop.secrets import SecretStore, not_in_keyring
from aiops_desktop.services.clusters.connections import stored_json
from collectors.errors import (
    CollectorAuthError,
    CollectorError,
    CollectorRateLimited,
    CollectorServerError,
    CollectorTimeout,
    CollectorTLSError,
    CollectorUnreachable,
    KubeConfigInvalid,
    KubeForbidden,
    KubeNotFound,
)
from collectors.kube_config import kubeconfig_for_token
from collectors.kubernetes import KubeClient
from collectors.shapes import malformed_as

VALIDATE_TIMEOUT_S = 10.0
SELF_SUBJECT_REVIEW = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
RULES_REVIEW = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
ACCESS_REVIEW = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
#: the most of a version a server names (gitVersion, a ClusterVersion's) kept: "v1.29.8+k3s1",
#: "4.16.0-0.nightly-2024-06-27-091410" are far shorter; a megabyte of one filled every line
#: that shows it
VERSION_CHARS = 100
T = TypeVar("T")
#: one namespace's rules: (resource rules, whether they may be incomplete)
Rules = tuple[list[Any], bool]
#: what a permission's row says when the API server would not review it (a 403 on the access
#: review): not known, which is no refusal
NOT_KNOWN = " (not known: the API server answered 403 to the access review)"


#: What the app reads from the Kubernetes API, and why (shown in "what I can see").
NEEDS: tuple[Need, ...] = (
    Need("", "namespaces", "list", "namespaces and CNF workloads", essential=True),
    Need("", "nodes", "list", "nodes, roles, capacity and GPUs", essential=True),
    Need("", "pods", "list", "pods, restarts and pending reasons", essential=True),
    Need("", "events", "watch", "the events timeline"),
    Need("", "services", "list", "Prometheus/Alertmanager discovery"),
    Need("", "pods/exec", "create", "nvidia-smi where no DCGM exporter runs"),
    Need("route.openshift.io", "routes", "list", "OpenShift monitoring routes"),
    Need("config.openshift.io", "clusterversions", "get", "OpenShift version"),
    Need("nvidia.com", "clusterpolicies", "list", "GPU operator"),
    Need("ptp.openshift.io", "ptpconfigs", "list", "PTP profiles"),
    Need("ptp.openshift.io", "nodeptpdevices", "list", "PTP devices"),
    Need("sriovnetwork.openshift.io", "sriovnetworknodestates", "list", "SR-IOV node state"),
    Need("sriovnetwork.openshift.io", "sriovnetworks", "list", "SR-IOV networks"),
    Need("loki.grafana.com", "lokistacks", "list", "LokiStack gateways"),
    Need("tempo.grafana.com", "tempostacks", "list", "TempoStack gateways"),
)


# -- credentials -> kubeconfig (blocking: the keyring) -------------------------------------------
def has_kube_api(cluster: Cluster) -> bool:
    """Whether the cluster has a Kubernetes API to check (a URL or a stored kubeconfig)."""
    ref = cluster.credential
    return cluster.api_server_url is not None or (
        ref is not None and ref.kind is CredentialKind.KUBECONFIG_CONTEXT
    )


def kubeconfig_for(cluster: Cluster, secrets: SecretStore) -> dict[str, Any]:
    """The kubeconfig the client loads: the stored context as is, or one built (in memory)
    from the API server URL and the stored token or client certificate. Blocking."""
    ref = cluster.credential
    if not has_kube_api(cluster):
        raise KubeConfigInvalid(f"{cluster.name} has no API server URL (metrics-only cluster)")
    server = cluster.api_server_url or ""
    ca, verify = cluster.ca_bundle_pem, cluster.tls_verify
    if ref is None:
        return kubeconfig_for_token(server, ca_pem=ca, verify=verify)
    if ref.kind is CredentialKind.KUBECONFIG_CONTEXT:
        whose = f"{cluster.name}: its kubeconfig context"
        payload = stored_json(secrets, ref, whose, KubeConfigInvalid)
        if payload is None:
            raise KubeConfigInvalid(f"the stored kubeconfig of {cluster.name} is missing")
        return payload
    if ref.kind is CredentialKind.BEARER_TOKEN:
        token = secrets.get(ref)
        if not token:  # a client without it went out anonymous, and was kept so
            raise KubeConfigInvalid(not_in_keyring(f"{cluster.name}: its API server token", ref))
        return kubeconfig_for_token(server, token, ca_pem=ca, verify=verify)
    if ref.kind is CredentialKind.CLIENT_CERTIFICATE:
        whose = f"{cluster.name}: its client certificate and key"
        pair = stored_json(secrets, ref, whose, KubeConfigInvalid) or {}
        if not (pair.get("cert") and pair.get("client_key")):
            raise KubeConfigInvalid(not_in_keyring(whose, ref))
        return kubeconfig_for_token(
            server,
            ca_pem=ca,
            verify=verify,
            client_cert_pem=pair.get("cert"),
            client_key_pem=pair.get("client_key"),
        )
    raise KubeConfigInvalid(f"{ref.kind.value} credentials cannot reach a Kubernetes API")


def refreshed_into(
    cluster: Cluster, secrets: SecretStore
) -> Callable[[dict[str, Any]], None] | None:
    """Where the kubeconfig an auth provider's refresh changed is kept (``load_api_client``'s
    ``store_refreshed``): the cluster's stored context, in the keyring. An identity provider
    that rotates refresh tokens (Dex) refuses the spent one, so the next load lost the
    cluster. None where the app builds the kubeconfig (a token, a client pair: no refresh).

    Kept only while the entry is still there: a refresh finishing after the cluster was
    removed (or re-imported onto another entry) wrote the deleted entry back, client secret
    and new refresh token, owned by no cluster and never swept. The keyring has no
    compare-and-set, so the check and the write are two calls: a removal between them (a few
    milliseconds) still leaves the entry behind."""
    ref = cluster.credential
    if ref is None or ref.kind is not CredentialKind.KUBECONFIG_CONTEXT:
        return None
    stored = ref

    def keep(kubeconfig: dict[str, Any]) -> None:
        if secrets.get_json(stored) is not None:  # not get: it registers the whole text
            secrets.put_json(stored, kubeconfig)

    return keep


# -- rules ---------------------------------------------------------------------------------------
def _rule_allows(rule: Mapping[str, Any], need: Need) -> bool:
    def has(values: Iterable[str] | None, wanted: str) -> bool:
        values = list(values or [])
        return "*" in values or wanted in values

    resource, _, sub = need.resource.partition("/")
    names = [need.resource] + ([f"{resource}/*"] if sub else [])
    return (
        has(rule.get("apiGroups"), need.group)
        and any(has(rule.get("resources"), n) for n in names)
        and has(rule.get("verbs"), need.verb)
        and not rule.get("resourceNames")
    )


@malformed_as("an RBAC rule")
def allowed_by_rules(rules: Iterable[Mapping[str, Any]], need: Need) -> bool:
    return any(_rule_allows(r, need) for r in rules)


# -- validation ----------------------------------------------------------------------------------
#: needs the app has only in the GPU driver's namespaces (an exec into a driver pod, in the
#: namespace of its daemonset); every other one it reads across the cluster (/api/v1/events,
#: every PtpConfig)
IN_DRIVER_NAMESPACES = frozenset({"pods/exec"})


async def _permissions(client: KubeClient) -> list[Permission]:
    from aiops_desktop.services.gpu_cnf.gpu_fallback import DRIVER_NAMESPACES  # it imports this

    # a rules review answers for one namespace: its rules are the cluster-wide ones plus those
    # of the namespace's RoleBindings, so it can say no for a cluster-wide read, never yes. Asked
    # in the driver namespaces: "default"'s judged an exec the app never makes there
    reviews = await _at_once([_rules_in(client, ns) for ns in DRIVER_NAMESPACES])
    rules = dict(zip(DRIVER_NAMESPACES, reviews, strict=True))
    # one need at a time took a round trip each: all at once, within validate()'s time
    return await _at_once([_permission(client, n, rules) for n in NEEDS])


async def _at_once(calls: list[Coroutine[Any, Any, T]]) -> list[T]:
    """Every call's answer, all asked at once; one that fails has the others cancelled
    (gather left them running), its error raised as is."""
    try:
        async with asyncio.TaskGroup() as group:
            asked = [group.create_task(call) for call in calls]
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in asked]


async def _rules_in(client: KubeClient, namespace: str) -> Rules:
    """The namespace's rules; none known, and so incomplete, where the review is refused (a
    role without create selfsubjectrulesreviews): each read is asked on its own then."""
    review = await _reviewed(client, "SelfSubjectRulesReview", {"namespace": namespace})
    return ([], True) if review is None else _rules_of(review)


async def _reviewed(client: KubeClient, kind: str, spec: dict[str, Any]) -> dict[str, Any] | None:
    """An authorization review's answer (``kind``: SelfSubjectRulesReview or
    SelfSubjectAccessReview); None where the role may not ask it (a 403), which says
    nothing of the credential."""
    path = RULES_REVIEW if kind == "SelfSubjectRulesReview" else ACCESS_REVIEW
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": kind, "spec": spec}
    try:
        return await client.review(path, body)
    except KubeForbidden:
        return None


async def _permission(client: KubeClient, need: Need, rules: Mapping[str, Rules]) -> Permission:
    """``rules``: by namespace."""
    if need.resource in IN_DRIVER_NAMESPACES:
        return await _permission_in(client, need, rules)
    allowed: bool | None = False
    if any(incomplete or allowed_by_rules(r, need) for r, incomplete in rules.values()):
        # the rule may be a RoleBinding's in the namespace asked: ask at cluster scope
        allowed = await _access_review(client, need)
    why = need.why
    if allowed is not False and need.essential and need.group == "":
        # an authorizer beyond RBAC (a webhook) may still refuse, and a review not answered
        # tells nothing: try the read itself
        try:
            await client.get(f"/api/v1/{need.resource}", {"limit": "1"})
            allowed = True
        except KubeForbidden:
            allowed, why = False, f"{need.why} (the API server answered 403)"
    if allowed is None:
        allowed, why = False, need.why + NOT_KNOWN
    return Permission(need.label, why, allowed, need.essential)


async def _permission_in(client: KubeClient, need: Need, rules: Mapping[str, Rules]) -> Permission:
    """A need the app has only in the namespaces of ``rules``: allowed where any of them
    allows it (asked where the rules may not say it all); the row says where."""
    answers = {
        namespace: allowed_by_rules(found, need)
        or (incomplete and await _access_review(client, need, namespace))
        for namespace, (found, incomplete) in rules.items()
    }
    where = [namespace for namespace, allowed in answers.items() if allowed]
    why = f"{need.why}, in {' and '.join(where) if where else ' or '.join(rules)}"
    if not where and None in answers.values():
        why += NOT_KNOWN
    return Permission(need.label, why, bool(where), need.essential)


@malformed_as("the API server's SelfSubjectRulesReview")
def _rules_of(review: Mapping[str, Any]) -> Rules:
    """(resource rules, whether they may be incomplete) of a SelfSubjectRulesReview."""
    status = review.get("status") or {}
    rules = status.get("resourceRules") or []
    if not isinstance(rules, list):
        raise TypeError(f"resourceRules is a {type(rules).__name__}, not a list")
    return rules, bool(status.get("incomplete"))


@malformed_as("the API server's SelfSubjectAccessReview")
def _allowed_of(answer: Mapping[str, Any]) -> bool:
    return (answer.get("status") or {}).get("allowed") is True


@malformed_as("the API server's SelfSubjectReview")
def _who_of(review: Mapping[str, Any]) -> tuple[str | None, list[str]]:
    """(user name, groups) of a SelfSubjectReview: only strings are kept (a number in the
    groups broke every ', '.join of them), each one line (``_text``)."""
    info = (review.get("status") or {}).get("userInfo") or {}
    user, groups = info.get("username"), info.get("groups") or []
    if not isinstance(groups, list):
        raise TypeError(f"userInfo.groups is a {type(groups).__name__}, not a list")
    return _text(user), [one_line(g) for g in groups if isinstance(g, str)]


@malformed_as("the API server's /version")
def _version_of(version: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(gitVersion, platform) of ``/version``, each a string or None."""
    return version_text(version.get("gitVersion")), version_text(version.get("platform"))


def version_text(value: object) -> str | None:
    """A version the server names (``/version``'s, a ClusterVersion's) as ``_text`` keeps it,
    VERSION_CHARS at most; discovery stores it as the cluster's, and the CLI and the Details
    tab print it."""
    text = _text(value)
    return cut(text, VERSION_CHARS) if text else None


def _text(value: object) -> str | None:
    """A non-empty string as one printable line; anything else None. The server chose it,
    and the CLI prints it (and the reason made of it) in a line of its own: a line break
    forged lines such as "VALID - all checks passed" under the verdict."""
    return one_line(value) if isinstance(value, str) and value else None


async def _access_review(
    client: KubeClient, need: Need, namespace: str | None = None
) -> bool | None:
    """Whether the API server allows ``need`` in ``namespace`` (None: at cluster scope, every
    namespace); None where it will not review it (a 403: a role without create
    selfsubjectaccessreviews), which says nothing of the credential."""
    resource, _, sub = need.resource.partition("/")
    attributes = {"group": need.group, "resource": resource, "verb": need.verb}
    if sub:
        attributes["subresource"] = sub
    if namespace is not None:
        attributes["namespace"] = namespace
    answer = await _reviewed(client, "SelfSubjectAccessReview", {"resourceAttributes": attributes})
    return None if answer is None else _allowed_of(answer)


def _said(exc: CollectorError) -> str:
    """An error's words as the reason holds them: one printable line. They may be an exec
    plugin's stderr or an identity provider's error it passes on, and the CLI prints the
    reason on the verdict's own line, where a line break forged more."""
    return one_line(str(exc))


def _failure(name: str, client: KubeClient, exc: CollectorError) -> ValidationResult:
    """A failed call as a verdict: invalid when the server's certificate is not trusted,
    unreachable (or busy: a 5xx or 429 says nothing of the credentials), expired (a
    credential past its expiry that the server refuses), invalid (refused otherwise, or an
    answer that makes no sense)."""
    server = client.server
    if isinstance(exc, CollectorTLSError):
        reason = f"{_said(exc)}; add the cluster's CA bundle (or fix the URL)"
        return ValidationResult(name, ValidationOutcome.INVALID, reason, server)
    if isinstance(exc, CollectorUnreachable | CollectorTimeout):
        return ValidationResult(name, ValidationOutcome.UNREACHABLE, _said(exc), server)
    if isinstance(exc, CollectorServerError | CollectorRateLimited):
        reason = f"the API server is busy ({_said(exc)}); try again in a while"
        return ValidationResult(name, ValidationOutcome.UNREACHABLE, reason, server)
    if isinstance(exc, CollectorAuthError):
        expiry = client.expires_at
        if expiry is not None and expiry <= time.time():
            when = time_text(datetime.fromtimestamp(expiry, UTC))
            reason = f"the credential expired at {when}; log in again"
            return ValidationResult(name, ValidationOutcome.EXPIRED, reason, server)
        reason = f"the API server refused the credential ({_said(exc)})"
        return ValidationResult(name, ValidationOutcome.INVALID, reason, server)
    return ValidationResult(name, ValidationOutcome.INVALID, _said(exc), server)


async def validate(
    cluster: Cluster, secrets: SecretStore, *, timeout_s: float = VALIDATE_TIMEOUT_S
) -> ValidationResult:
    """The whole check within ``timeout_s`` from when the credential is read (the keyring's
    unlock prompt is the person's time, not the cluster's: counted, it left the load 0 s and
    the reason blamed credential plugins there were none of); never raises for a
    cluster-side problem."""
    started = time.monotonic()
    name = cluster.name
    try:
        kubeconfig = await asyncio.to_thread(kubeconfig_for, cluster, secrets)
    except KubeConfigInvalid as exc:
        return ValidationResult(name, ValidationOutcome.INVALID, _said(exc))
    t0 = time.monotonic()

    def left() -> float:  # one deadline: the kubeconfig load and the checks share timeout_s
        return max(t0 + timeout_s - time.monotonic(), 0.0)

    try:
        # an exec plugin may never answer (kubelogin waiting for a browser login): bounded too
        client = await KubeClient.open(
            kubeconfig, name=name, timeout_s=timeout_s, load_within_s=left(),
            store_refreshed=refreshed_into(cluster, secrets),
        )  # fmt: skip
    except KubeConfigInvalid as exc:
        return ValidationResult(name, ValidationOutcome.INVALID, _said(exc))
    except CollectorTimeout as exc:
        result = ValidationResult(name, ValidationOutcome.UNREACHABLE, _said(exc))
        result.elapsed_s = time.monotonic() - started
        return result
    try:
        async with asyncio.timeout(left()):
            result = await _identify(client)
    except TimeoutError:
        reason = f"no complete answer within {timeout_s:.0f} s"
        result = ValidationResult(name, ValidationOutcome.UNREACHABLE, reason, client.server)
    except CollectorError as exc:
        result = _failure(name, client, exc)
    finally:
        await client.aclose()
    result.elapsed_s = time.monotonic() - started
    return result


async def _identify(client: KubeClient) -> ValidationResult:
    try:
        version = await client.get("/version")
    except KubeForbidden:
        version = {}  # /version closed to this user: the reviews still tell
    git_version, platform = _version_of(version)
    result = ValidationResult(
        client.name,
        ValidationOutcome.VALID,
        "",
        server=client.server,
        version=git_version,
        platform=platform,
    )
    try:
        review = await client.review(
            SELF_SUBJECT_REVIEW,
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
        result.user, result.groups = _who_of(review)  # CollectorBadResponse: invalid
    except (KubeNotFound, KubeForbidden):
        # who-am-I not served (before Kubernetes 1.28) or closed to this role (a 403, as on
        # /version): the user is not known, which says nothing of the credential
        pass
    result.permissions = await _permissions(client)
    missing = [p.need for p in result.denied if p.essential]
    if missing:
        result.outcome = ValidationOutcome.INSUFFICIENT_PERMISSIONS
        result.reason = "the credentials cannot " + ", ".join(missing)
    else:
        result.reason = f"{result.user or 'authenticated'} on {result.version or 'Kubernetes'}"
        if result.denied:
            result.reason += f"; {len(result.denied)} optional read(s) denied"
    return result
