"""Validation review fixes: the SelfSubjectRulesReview is asked for one namespace ("default"),
so its rules are the cluster-wide ones plus that namespace's; a RoleBinding there must not make
a read the app does cluster-wide (/api/v1/events, every PtpConfig) look allowed. Those needs are
confirmed by SelfSubjectAccessReviews at cluster scope (no namespace), asked at once and bounded
by the validation's time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aiops_desktop.models import Cluster
from aiops_desktop.models.enums import ValidationOutcome
from aiops_desktop.services.kube import validation
from aiops_desktop.services.kube.validation import (
    ACCESS_REVIEW,
    NEEDS,
    RULES_REVIEW,
    SELF_SUBJECT_REVIEW,
)

#: what the API server answers for namespace "default" when a ClusterRoleBinding lets the user
#: read the core lists everywhere and a RoleBinding in "default" binds the ClusterRole "view"
#: (which also reads events and, aggregated, PtpConfigs) in that namespace only
RULES_IN_DEFAULT = {
    "kind": "SelfSubjectRulesReview",
    "apiVersion": "authorization.k8s.io/v1",
    "metadata": {"creationTimestamp": None},
    "spec": {"namespace": "default"},
    "status": {
        "resourceRules": [
            {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
             "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
            {"verbs": ["get", "list", "watch"], "apiGroups": [""],
             "resources": ["namespaces", "nodes", "pods"]},
            {"verbs": ["get", "list", "watch"], "apiGroups": ["", "ptp.openshift.io"],
             "resources": ["events", "ptpconfigs"]},
        ],
        "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/version", "/version/"]}],
        "incomplete": False,
    },
}  # fmt: skip
#: what the ClusterRoleBinding grants at cluster scope: (group, resource, verb)
CLUSTER_WIDE = {(g, r, v) for g, r in (("", "namespaces"), ("", "nodes"), ("", "pods"))
                for v in ("get", "list", "watch")}  # fmt: skip
WHO = {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
       "metadata": {"creationTimestamp": None},
       "status": {"userInfo": {"username": "noc", "groups": ["system:authenticated"]}}}  # fmt: skip


class FakeClient:
    """The API server's answers, in its shapes: a SelfSubjectAccessReview is answered for the
    attributes asked, allowed only at cluster scope for CLUSTER_WIDE."""

    name = "ran-east"
    server = "https://api.ran-east.example:6443"
    expires_at = None

    def __init__(self, rules: dict[str, Any], hold: asyncio.Event | None = None) -> None:
        self.rules = rules
        self.hold = hold
        self.asked: list[dict[str, Any]] = []
        self.in_flight = self.most_in_flight = 0

    async def get(self, path: str, query: Any = None) -> Any:
        if path == "/version":
            return {"major": "1", "minor": "29", "gitVersion": "v1.29.8", "platform": "linux/amd64"}
        return {"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "7"},
                "items": []}  # fmt: skip

    async def review(self, path: str, body: Any) -> Any:
        if path == SELF_SUBJECT_REVIEW:
            return WHO
        if path == RULES_REVIEW:
            return self.rules
        assert path == ACCESS_REVIEW, path
        attrs = body["spec"]["resourceAttributes"]
        self.asked.append(attrs)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.hold is not None:
                await self.hold.wait()
            await asyncio.sleep(0.01)  # an answer takes a round trip
        finally:
            self.in_flight -= 1
        allowed = "namespace" not in attrs and (
            (attrs["group"], attrs["resource"], attrs["verb"]) in CLUSTER_WIDE
        )
        return {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                "metadata": {"creationTimestamp": None}, "spec": body["spec"],
                "status": {"allowed": allowed}
                | ({} if allowed else {"reason": ""})}  # fmt: skip

    async def aclose(self) -> None:
        pass


async def check(
    monkeypatch: pytest.MonkeyPatch, client: FakeClient, timeout_s: float = 10.0
) -> validation.ValidationResult:
    async def opened(*_args: Any, **_kwargs: Any) -> FakeClient:
        return client

    monkeypatch.setattr(validation, "kubeconfig_for", lambda _cluster, _secrets: {})
    monkeypatch.setattr(validation.KubeClient, "open", opened)
    cluster = Cluster(name="ran-east", api_server_url=client.server)
    return await validation.validate(cluster, None, timeout_s=timeout_s)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_rolebinding_in_default_does_not_allow_a_cluster_wide_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = FakeClient(RULES_IN_DEFAULT)
    result = await check(monkeypatch, client)
    allowed = {p.need: p.allowed for p in result.permissions}
    assert allowed["watch events"] is False
    assert allowed["list ptpconfigs.ptp.openshift.io"] is False
    assert allowed["list namespaces"] and allowed["list nodes"] and allowed["list pods"]
    assert result.outcome is ValidationOutcome.VALID  # the essential reads are cluster-wide
    # asked at cluster scope (no namespace), and only where the rules allowed it
    assert all("namespace" not in a for a in client.asked)
    assert sorted((a["group"], a["resource"], a["verb"]) for a in client.asked) == [
        ("", "events", "watch"), ("", "namespaces", "list"), ("", "nodes", "list"),
        ("", "pods", "list"), ("ptp.openshift.io", "ptpconfigs", "list")]  # fmt: skip


@pytest.mark.asyncio
async def test_the_cluster_scope_reviews_are_asked_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    everything = {**RULES_IN_DEFAULT, "status": {"incomplete": False, "resourceRules": [
        {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]}}  # fmt: skip
    client = FakeClient(everything)
    result = await check(monkeypatch, client)
    cluster_wide = [n for n in NEEDS if n.resource != "pods/exec"]
    assert len(client.asked) == len(cluster_wide)
    assert client.most_in_flight == len(cluster_wide)  # not one after another
    assert [p.need for p in result.denied] == [
        n.label for n in NEEDS if n.resource not in ("namespaces", "nodes", "pods", "pods/exec")
    ]


@pytest.mark.asyncio
async def test_a_cluster_scope_review_that_never_answers_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = FakeClient(RULES_IN_DEFAULT, hold=asyncio.Event())  # never set
    result = await asyncio.wait_for(check(monkeypatch, client, timeout_s=0.3), 5)
    assert result.outcome is ValidationOutcome.UNREACHABLE
    assert result.reason == "no complete answer within 0 s"
    assert client.asked  # it was asked, and not answered in time


@pytest.mark.asyncio
async def test_incomplete_rules_are_still_confirmed_at_cluster_scope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    status = {"incomplete": True, "resourceRules": [], "evaluationError": "webhook authorizer"}
    incomplete = {**RULES_IN_DEFAULT, "status": status}
    client = FakeClient(incomplete)
    result = await check(monkeypatch, client)
    assert {p.need for p in result.permissions if p.allowed} == {
        "list namespaces", "list nodes", "list pods"}  # fmt: skip
    assert result.outcome is ValidationOutcome.VALID


@pytest.mark.asyncio
async def test_one_review_that_fails_cancels_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    """All at once, but never left running: one review's failure is the validation's answer,
    the reviews still waiting are cancelled (asyncio.gather left them waiting past the
    validation's end, on a client it had closed)."""
    from collectors.errors import CollectorUnreachable

    class OneFails(FakeClient):
        async def review(self, path: str, body: Any) -> Any:
            if path == ACCESS_REVIEW and body["spec"]["resourceAttributes"]["resource"] == "events":
                await asyncio.sleep(0.05)
                raise CollectorUnreachable("ran-east: connection reset")
            return await super().review(path, body)

    client = OneFails(RULES_IN_DEFAULT, hold=asyncio.Event())  # the others never answer
    result = await asyncio.wait_for(check(monkeypatch, client), 5)
    assert result.outcome is ValidationOutcome.UNREACHABLE
    assert "connection reset" in result.reason
    assert client.asked and client.in_flight == 0  # each waiting review was cancelled
