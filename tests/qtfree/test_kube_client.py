"""The Kubernetes collector against a real HTTP API (kmock behind nginx with TLS and tokens)."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time

import pytest

from collectors.errors import (
    CollectorAuthError,
    CollectorResponseTooLarge,
    CollectorTimeout,
    CollectorTLSError,
    KubeConfigInvalid,
    ReadOnlyViolation,
)
from collectors.kube_config import bearer_expiry, kubeconfig_for_token, with_verified_idp
from collectors.kubernetes import KubeClient, WatchState, matches_labels
from tests.servers.kube_api import RunningKubeApi
from tests.servers.processes import SilentServer, free_port

pytestmark = pytest.mark.integration


async def client_for(api: RunningKubeApi, token: str, *, ca: bool = True) -> KubeClient:
    config = kubeconfig_for_token(api.url, token, ca_pem=api.ca_pem if ca else None)
    return await KubeClient.open(config, name="east-1", timeout_s=5)


@pytest.mark.asyncio
async def test_version_list_and_selectors_through_tls_and_a_token(kube_api: RunningKubeApi) -> None:
    client = await client_for(kube_api, "viewer-token")
    try:
        version = await client.get("/version")
        assert version["gitVersion"] == "v1.29.8+f10c92d"
        nodes, _ = await client.list("/api/v1/nodes")
        assert sorted(n["metadata"]["name"] for n in nodes) == [
            "gpu-0", "gpu-1", "master-0", "worker-0",
        ]  # fmt: skip
        # kmock ignores selectors: the collector applies them again, as the API server would
        gpus, _ = await client.list("/api/v1/nodes", label_selector="nvidia.com/gpu.present=true")
        assert sorted(n["metadata"]["name"] for n in gpus) == ["gpu-0", "gpu-1"]
        workers, _ = await client.list(
            "/api/v1/nodes", label_selector="node-role.kubernetes.io/worker,!nvidia.com/gpu.present"
        )
        assert [n["metadata"]["name"] for n in workers] == ["worker-0"]
    finally:
        await client.aclose()


@pytest.mark.asyncio
async def test_the_client_is_read_only(kube_api: RunningKubeApi) -> None:
    client = await client_for(kube_api, "admin-token")
    try:
        for method in ("DELETE", "PATCH", "PUT"):
            with pytest.raises(ReadOnlyViolation, match="read-only"):
                client._request(method, "/api/v1/namespaces/default")
        with pytest.raises(ReadOnlyViolation, match="read-only"):
            await client.review("/api/v1/namespaces", {"metadata": {"name": "x"}})
        namespaces, _ = await client.list("/api/v1/namespaces")
        assert "x" not in {n["metadata"]["name"] for n in namespaces}
    finally:
        await client.aclose()


@pytest.mark.asyncio
async def test_errors_are_the_projects_own_with_a_reason(kube_api: RunningKubeApi) -> None:
    wrong = await client_for(kube_api, "not-a-token")
    with pytest.raises(CollectorAuthError, match="401: Unauthorized"):
        await wrong.get("/version")
    await wrong.aclose()

    untrusted = await client_for(kube_api, "viewer-token", ca=False)
    with pytest.raises(CollectorTLSError, match="TLS verification failed"):
        await untrusted.get("/version")
    await untrusted.aclose()

    silent = SilentServer()
    try:
        config = kubeconfig_for_token(f"https://127.0.0.1:{silent.port}", "t")
        slow = await KubeClient.open(config, name="slow", timeout_s=1)
        t0 = time.monotonic()
        with pytest.raises(CollectorTimeout, match="did not answer within 1 s"):
            await slow.get("/version")
        assert time.monotonic() - t0 < 5
        await slow.aclose()
    finally:
        silent.stop()

    with pytest.raises(KubeConfigInvalid, match="kubeconfig cannot be used"):
        await KubeClient.open({"apiVersion": "v1", "kind": "Config"}, name="empty")


@pytest.mark.asyncio
async def test_watch_lists_then_streams_and_closes(kube_api: RunningKubeApi) -> None:
    client = await client_for(kube_api, "viewer-token")
    state = WatchState()
    stop = asyncio.Event()
    seen: list[str] = []
    try:
        async with asyncio.timeout(20):
            async for event in client.watch("/api/v1/nodes", state=state, stop=stop):
                if event.type == "RELISTED":
                    seen.append(f"RELISTED:{len(event.object['items'])}")
                else:
                    seen.append(f"{event.type}:{event.object['metadata']['name']}")
                if len(seen) == 5:
                    stop.set()
    finally:
        await client.aclose()
    assert seen[0] == "RELISTED:4"
    assert sorted(seen[1:]) == ["ADDED:gpu-0", "ADDED:gpu-1", "ADDED:master-0", "ADDED:worker-0"]
    assert state.errors == [] and state.resource_version == "1001"
    assert not state.failing  # listed and streaming: live


@pytest.mark.asyncio
async def test_a_failing_watch_reconnects_with_backoff(kube_api: RunningKubeApi) -> None:
    dead = kubeconfig_for_token(f"https://127.0.0.1:{free_port()}", "t")
    client = await KubeClient.open(dead, name="dark", timeout_s=1)
    state = WatchState()
    stop = asyncio.Event()

    async def consume() -> None:
        async for _ in client.watch("/api/v1/events", state=state, stop=stop, backoff=(0.05,)):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.6)
    stop.set()
    await asyncio.wait_for(task, 5)
    await client.aclose()
    assert state.reconnects >= 3
    assert "cannot reach" in state.errors[0]
    assert state.failing and "cannot reach" in state.failure  # no sign of life since


def test_selectors_and_token_expiry() -> None:
    labels = {"app": "du", "tier": "ran"}
    assert matches_labels(labels, "app=du,tier==ran")
    assert not matches_labels(labels, "app!=du")
    assert matches_labels(labels, "app,!gpu") and not matches_labels(labels, "gpu")
    claims = base64.urlsafe_b64encode(json.dumps({"exp": 1700000000}).encode()).decode()
    assert bearer_expiry(f"eyJhbGciOiJSUzI1NiJ9.{claims.rstrip('=')}.sig") == 1700000000
    assert bearer_expiry("sha256~opaque-openshift-token") is None


@pytest.mark.asyncio
async def test_an_exec_plugin_credential_is_used_as_kubectl_would(
    kube_api: RunningKubeApi, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """A kubeconfig whose user is an exec plugin (``oc``-style, client.authentication.k8s.io/v1):
    the client runs it (in a worker thread) and sends the token it prints."""
    plugin = tmp_path / "token-plugin.py"
    plugin.write_text(
        "import json\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1',"
        " 'kind': 'ExecCredential', 'status': {'token': 'admin-token'}}))\n"
    )
    config = kubeconfig_for_token(kube_api.url, ca_pem=kube_api.ca_pem)
    config["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(plugin)],
            "interactiveMode": "Never",
        }
    }
    client = await KubeClient.open(config, name="exec-plugin", timeout_s=5)
    try:
        review = await client.review(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
    finally:
        await client.aclose()
    assert review["status"]["userInfo"]["username"] == "system:admin"


@pytest.mark.asyncio
async def test_a_401_loads_the_kubeconfig_again_once(kube_api: RunningKubeApi) -> None:
    """The keyring holds the credential of now: a token rotated there is used on the next
    call; one that is still refused says so, and is asked for once per call."""
    loads: list[str] = []

    def reload_with(token: str):  # type: ignore[no-untyped-def]
        async def reload() -> dict[str, object]:
            loads.append(token)
            return kubeconfig_for_token(kube_api.url, token, ca_pem=kube_api.ca_pem)

        return reload

    stale = kubeconfig_for_token(kube_api.url, "rotated-away", ca_pem=kube_api.ca_pem)
    client = await KubeClient.open(
        stale, name="east-1", timeout_s=5, reload=reload_with("viewer-token")
    )
    try:
        assert (await client.get("/version"))["gitVersion"] == "v1.29.8+f10c92d"
        assert (await client.get("/version"))["gitVersion"] == "v1.29.8+f10c92d"
        assert loads == ["viewer-token"]
    finally:
        await client.aclose()

    loads.clear()
    refused = await KubeClient.open(
        stale, name="east-1", timeout_s=5, reload=reload_with("still-not-a-token")
    )
    try:
        with pytest.raises(CollectorAuthError, match="read again from the keyring was refused"):
            await refused.get("/version")
        assert loads == ["still-not-a-token"]
    finally:
        await refused.aclose()


def test_an_oidc_refresh_verifies_the_identity_provider() -> None:
    """The Kubernetes client refreshes an OIDC token with TLS verification off when the
    kubeconfig names no CA for the issuer: the system's bundle is given instead, and a CA
    the kubeconfig gives is kept."""
    import certifi

    def user(config: dict[str, str]) -> dict[str, object]:
        return {"name": "u", "user": {"auth-provider": {"name": "oidc", "config": config}}}

    given = {"users": [user({"idp-issuer-url": "https://idp"}),
                       user({"idp-certificate-authority-data": "T1dO"})]}  # fmt: skip
    out = with_verified_idp(given)
    first = out["users"][0]["user"]["auth-provider"]["config"]
    with open(certifi.where(), "rb") as bundle:
        assert base64.b64decode(first["idp-certificate-authority-data"]) == bundle.read()
    assert out["users"][1]["user"]["auth-provider"]["config"] == {
        "idp-certificate-authority-data": "T1dO"
    }
    assert (
        "idp-certificate-authority-data" not in given["users"][0]["user"]["auth-provider"]["config"]
    )  # the stored kubeconfig is left as it was


def test_a_crafted_watch_event_is_skipped_and_said_not_fatal() -> None:
    """An event nested deeper than Python parses, a metadata that is a string, a count that is
    not a number: each is skipped and counted; the timeline keeps the good ones (one such
    event stopped it for good), and a watch's errors stay bounded over days."""
    from aiops_desktop.services.kube.inventory import EventTimeline
    from collectors.errors import CollectorBadResponse
    from collectors.kubernetes import ERRORS_KEPT, WatchEvent, _parse_event, _status_message

    with pytest.raises(CollectorBadResponse, match="not JSON"):
        _parse_event(b"[" * 100_000, "hostile")
    assert _status_message(b"[" * 100_000) is None
    good = {"metadata": {"uid": "u1", "namespace": "ns"}, "reason": "BackOff", "count": 3}
    timeline = EventTimeline()
    timeline.apply(WatchEvent("RELISTED", {"items": [good, {"metadata": "x"}, 7]}))
    timeline.apply(WatchEvent("ADDED", {"metadata": {"uid": "u2"}, "count": "many"}))
    timeline.apply(WatchEvent("MODIFIED", {"metadata": "a string", "reason": "x"}))
    timeline.apply(WatchEvent("RELISTED", {"items": "not a list"}))
    assert timeline.skipped == 2 and timeline.rows == {}  # 7 and "many"; the last relist: none
    timeline.apply(WatchEvent("ADDED", good))
    assert [r.reason for r in timeline.newest_first()] == ["BackOff"]
    state = WatchState()
    for i in range(ERRORS_KEPT + 30):
        state.note(f"error {i}")
    assert len(state.errors) == ERRORS_KEPT and state.errors[-1] == f"error {ERRORS_KEPT + 29}"


@pytest.mark.asyncio
async def test_a_list_is_read_a_page_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """limit/continue as kubectl reads: 1,234 pods in three pages (one answer of 16,000 pods
    passed the body limit and inventory failed whole); a server that never stops paging is
    said, not read for ever."""
    from collectors import kubernetes

    dead = kubeconfig_for_token(f"https://127.0.0.1:{free_port()}", "t")
    client = await KubeClient.open(dead, name="big", timeout_s=1)
    pods = [{"metadata": {"name": f"p{i}", "labels": {"app": "du"}}} for i in range(1234)]
    asked: list[dict[str, object]] = []

    async def pages(path: str, query: dict[str, object]) -> dict[str, object]:
        asked.append(dict(query))
        start = int(str(query.get("continue", 0)))
        end = start + int(str(query["limit"]))
        more = {"continue": str(end)} if end < len(pods) else {}
        return {"metadata": {"resourceVersion": "77", **more}, "items": pods[start:end]}

    monkeypatch.setattr(client, "get", pages)
    try:
        items, version = await client.list("/api/v1/pods", label_selector="app=du")
        assert len(items) == 1234 and version == "77"
        assert [q.get("continue") for q in asked] == [None, "500", "1000"]

        async def endless(path: str, query: dict[str, object]) -> dict[str, object]:
            return {"metadata": {"continue": "again"}, "items": pods[:10]}

        monkeypatch.setattr(client, "get", endless)
        monkeypatch.setattr(kubernetes, "MOST_LISTED", 2000)
        with pytest.raises(CollectorResponseTooLarge, match="more than 2,000 items"):
            await client.list("/api/v1/pods")
    finally:
        await client.aclose()


def test_a_refused_oidc_refresh_is_said_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    """An identity provider that refuses the refresh token (expired, rotated) raised
    oauthlib's error out of the client's loader, past every handler."""
    from kubernetes.config.kube_config import KubeConfigLoader
    from oauthlib.oauth2.rfc6749.errors import InvalidGrantError  # type: ignore[import-untyped]

    from collectors.kube_config import load_api_client

    def refused(self, configuration):  # type: ignore[no-untyped-def]
        raise InvalidGrantError("Token is not active")

    monkeypatch.setattr(KubeConfigLoader, "load_and_set", refused)
    config = kubeconfig_for_token("https://127.0.0.1:1", "t")
    with pytest.raises(KubeConfigInvalid, match="identity provider could not be asked"):
        load_api_client(config, "oidc")
