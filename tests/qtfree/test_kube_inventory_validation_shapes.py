"""validate() never raises for a cluster-side problem: review answers of the wrong shape make
the verdict invalid with a clear reason; only string user names and groups are kept."""

from __future__ import annotations

from typing import Any

import pytest

from aiops_desktop.models import Cluster
from aiops_desktop.models.enums import ValidationOutcome
from aiops_desktop.services.kube import validation
from aiops_desktop.services.kube.validation import (
    ACCESS_REVIEW,
    RULES_REVIEW,
    SELF_SUBJECT_REVIEW,
)

ALL_RULES = {"status": {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"],
                                           "resources": ["*"]}]}}  # fmt: skip


class FakeClient:
    name = "prod-a"
    server = "https://api.prod-a.example:6443"
    expires_at = None

    def __init__(self, answers: dict[str, Any], version: Any = None) -> None:
        self.answers = answers
        self.version = {"gitVersion": "v1.29.8"} if version is None else version

    async def get(self, path: str, query: Any = None) -> Any:
        return self.version if path == "/version" else {"items": []}

    async def review(self, path: str, body: Any) -> Any:
        return self.answers[path]

    async def aclose(self) -> None:
        pass


async def check(monkeypatch: pytest.MonkeyPatch, client: FakeClient) -> validation.ValidationResult:
    async def opened(*_args: Any, **_kwargs: Any) -> FakeClient:
        return client

    monkeypatch.setattr(validation, "kubeconfig_for", lambda _cluster, _secrets: {})
    monkeypatch.setattr(validation.KubeClient, "open", opened)
    cluster = Cluster(name="prod-a", api_server_url="https://api.prod-a.example:6443")
    return await validation.validate(cluster, None)  # type: ignore[arg-type]


#: the cluster-scope SelfSubjectAccessReview's answer for a read the rules allow
ALLOWED = {"status": {"allowed": True}}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "status",
    ["weird", {"userInfo": "noc"}, {"userInfo": {"username": "noc", "groups": "system:masters"}}],
)
async def test_a_self_subject_review_of_the_wrong_shape_is_invalid(
    monkeypatch: pytest.MonkeyPatch, status: Any
) -> None:
    client = FakeClient({SELF_SUBJECT_REVIEW: {"status": status}, RULES_REVIEW: ALL_RULES})
    result = await check(monkeypatch, client)
    assert result.outcome is ValidationOutcome.INVALID
    assert result.reason.startswith("the API server's SelfSubjectReview is not in Kubernetes")


@pytest.mark.asyncio
async def test_only_string_users_and_groups_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    info = {"username": 7, "groups": [1, "system:authenticated", None, ["x"], "noc"]}
    client = FakeClient({SELF_SUBJECT_REVIEW: {"status": {"userInfo": info}},
                         RULES_REVIEW: ALL_RULES, ACCESS_REVIEW: ALLOWED})  # fmt: skip
    result = await check(monkeypatch, client)
    assert result.outcome is ValidationOutcome.VALID
    assert result.user is None and result.groups == ["system:authenticated", "noc"]
    assert ", ".join(result.groups) == "system:authenticated, noc"
    assert result.reason == "authenticated on v1.29.8"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "rules",
    [{"status": "weird"}, {"status": {"resourceRules": "all"}},
     {"status": {"resourceRules": ["*"]}}],
)  # fmt: skip
async def test_a_rules_review_of_the_wrong_shape_is_invalid(
    monkeypatch: pytest.MonkeyPatch, rules: Any
) -> None:
    review = {"status": {"userInfo": {"username": "noc"}}}
    result = await check(
        monkeypatch, FakeClient({SELF_SUBJECT_REVIEW: review, RULES_REVIEW: rules})
    )
    assert result.outcome is ValidationOutcome.INVALID
    assert "SelfSubjectRulesReview is not in Kubernetes format" in result.reason or (
        "an RBAC rule is not in Kubernetes format" in result.reason
    )


@pytest.mark.asyncio
async def test_an_access_review_of_the_wrong_shape_is_invalid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    incomplete = {"status": {"resourceRules": [], "incomplete": True}}
    client = FakeClient({SELF_SUBJECT_REVIEW: {"status": {}}, RULES_REVIEW: incomplete,
                         validation.ACCESS_REVIEW: {"status": ["allowed"]}})  # fmt: skip
    result = await check(monkeypatch, client)
    assert result.outcome is ValidationOutcome.INVALID
    assert "SelfSubjectAccessReview is not in Kubernetes format" in result.reason


@pytest.mark.asyncio
async def test_a_version_of_the_wrong_shape_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    review = {"status": {"userInfo": {"username": "noc", "groups": ["ops"]}}}
    client = FakeClient({SELF_SUBJECT_REVIEW: review, RULES_REVIEW: ALL_RULES,
                         ACCESS_REVIEW: ALLOWED},
                        version={"gitVersion": 129, "platform": ["linux"]})  # fmt: skip
    result = await check(monkeypatch, client)
    assert result.outcome is ValidationOutcome.VALID
    assert (result.version, result.platform, result.user) == (None, None, "noc")
    assert result.reason == "noc on Kubernetes"
