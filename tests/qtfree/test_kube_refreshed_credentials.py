"""Credentials a kubeconfig's load produces (an exec plugin's token, an OIDC refresh, a gcp
helper's access token): registered with the redactor like a stored token, bounded in time and
output like an exec plugin, and a refresh handed back to be stored (an IdP that rotates refresh
tokens refuses the spent one at the next load)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import secrets
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop import secrets as secrets_module
from aiops_desktop.logs import redact
from aiops_desktop.models import Cluster, CredentialKind, CredentialRef
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.clusters.connections import ClientPool
from aiops_desktop.services.kube.validation import refreshed_into
from collectors import kube_config, kubernetes
from collectors.errors import CollectorTimeout, KubeConfigInvalid
from collectors.kube_config import kubeconfig_for_token, load_api_client
from collectors.kubernetes import KubeClient
from tests.memory_keyring import MemoryKeyring
from tests.servers import tls


def _jwt(exp: int) -> str:
    def part(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'exp': exp, 'sub': secrets.token_hex(8)})}.sig"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _loaders() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("kube-load")]


async def _ended(pid: int) -> None:
    """Wait (5 s at most) for the helper ``pid`` and every loader thread to end."""
    end = time.monotonic() + 5
    while (_alive(pid) or _loaders()) and time.monotonic() < end:
        await asyncio.sleep(0.05)
    assert not _alive(pid), "the helper is still running"
    assert not _loaders(), "a loader thread is still held"


# -- the tokens a load produces are redacted -----------------------------------------------------
def test_an_exec_plugins_tokens_are_registered_with_the_redactor(tmp_path: Path) -> None:
    """An API server whose error quoted the token it was sent put it, in clear, into the
    validation reason, the log and SQLite: a stored token is registered when read, a plugin's
    was not, neither at the load nor when the refresh hook ran the plugin again."""
    seed = f"k8s-aws-v1.{secrets.token_urlsafe(24)}-"
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        "import json, pathlib, sys\n"
        "count = pathlib.Path(sys.argv[1]) / 'count'\n"
        "n = int(count.read_text()) + 1 if count.exists() else 1\n"
        "count.write_text(str(n))\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1',\n"
        "    'kind': 'ExecCredential', 'status': {'token': sys.argv[2] + str(n),\n"
        "    'expirationTimestamp': '2001-01-01T00:00:00Z'}}))\n"
    )
    config = kubeconfig_for_token("https://127.0.0.1:6443")
    config["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(plugin), str(tmp_path), seed],
            "interactiveMode": "Never",
        }
    }
    api, _ = load_api_client(config, "eks-1")
    try:
        conf = api.configuration
        assert conf.api_key["BearerToken"] == f"Bearer {seed}1"
        assert f"{seed}1" not in redact(f"webhook rejected {seed}1 upstream")
        conf.refresh_api_key_hook(conf)  # expired: the plugin runs again
        assert conf.api_key["BearerToken"] == f"Bearer {seed}2"
        assert f"{seed}2" not in redact(f"webhook rejected {seed}2 upstream")
    finally:
        api.close()


# -- an OIDC identity provider -------------------------------------------------------------------
class _IdP:
    """An HTTPS OpenID provider on 127.0.0.1 that rotates refresh tokens (as Dex does: each one
    is good once), or that never answers discovery (``stall="GET"``) or the token request
    (``stall="POST"``), or sends one of them a byte every 0.2 s (``stall="trickle-GET"``,
    ``"trickle-POST"``), or whose discovery URL redirects (``stall="redirect"``, as
    Keycloak behind a path-rewriting proxy does), or serves no discovery (``stall="404"``)."""

    def __init__(self, pki: tls.TestPki, stall: str = "") -> None:
        self.valid = {"r1"}
        self.received: list[str] = []
        self.id_tokens: list[str] = []
        self.release = threading.Event()
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, code: int, doc: dict[str, Any]) -> None:
                body = json.dumps(doc).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if stall != f"trickle-{self.command}":
                    self.wfile.write(body)
                    return
                for byte in body:  # each read answers well within any limit; the whole never
                    if idp.release.wait(0.2):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()

            def do_GET(self) -> None:
                if stall == "GET":
                    idp.release.wait(60)
                    return
                if stall == "404":
                    self._json(404, {"error": "not found"})
                    return
                if stall == "redirect" and self.path.startswith("/.well-known/"):
                    self.send_response(301)
                    self.send_header("Location", "/realm" + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._json(200, {"issuer": idp.url, "token_endpoint": idp.url + "/token"})

            def do_POST(self) -> None:
                if stall == "POST":
                    idp.release.wait(60)
                    return
                length = int(self.headers["Content-Length"])
                form = dict(p.split("=", 1) for p in self.rfile.read(length).decode().split("&"))
                spent = form.get("refresh_token", "")
                idp.received.append(spent)
                if spent not in idp.valid:
                    self._json(400, {"error": "invalid_grant"})
                    return
                idp.valid.discard(spent)
                rotated = f"r{len(idp.received) + 1}"
                idp.valid.add(rotated)
                idp.id_tokens.append(_jwt(int(time.time()) + 3600))
                self._json(200, {
                    "access_token": "at", "token_type": "Bearer", "expires_in": 3600,
                    "id_token": idp.id_tokens[-1], "refresh_token": rotated,
                })  # fmt: skip

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(pki.server_cert, pki.server_key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="idp", daemon=True)
        self.thread.start()

    def kubeconfig(self, pki: tls.TestPki) -> dict[str, Any]:
        """An OIDC context whose id-token expired in 2001."""
        config = kubeconfig_for_token("https://127.0.0.1:9")
        config["users"][0]["user"] = {"auth-provider": {"name": "oidc", "config": {
            "idp-issuer-url": self.url, "client-id": "desk", "client-secret": "s3-Cl1ent",
            "idp-certificate-authority-data": base64.b64encode(pki.ca_pem.encode()).decode(),
            "id-token": _jwt(1_000_000_000), "refresh-token": "r1",
        }}}  # fmt: skip
        return config

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def idp(pki: tls.TestPki, request: pytest.FixtureRequest) -> Iterator[_IdP]:
    server = _IdP(pki, getattr(request, "param", ""))
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.asyncio
async def test_a_refreshed_oidc_token_is_handed_back_to_be_stored(
    idp: _IdP, pki: tls.TestPki
) -> None:
    """The refreshed id-token and the rotated refresh token were never stored back: the next
    load refreshed again with the spent refresh token, refused by an IdP that rotates them (the
    cluster lost until imported again). The kubeconfig handed back is the one given, with the
    new tokens only (never the CA file the load used in its place)."""
    given = idp.kubeconfig(pki)
    before = json.loads(json.dumps(given))
    stored: list[dict[str, Any]] = []
    client = await KubeClient.open(
        given, name="sso-1", load_within_s=10, store_refreshed=stored.append
    )
    await client.aclose()
    assert given == before, "the caller's kubeconfig was changed"
    assert idp.received == ["r1"]
    (kept,) = stored
    expected = json.loads(json.dumps(before))
    provider = expected["users"][0]["user"]["auth-provider"]["config"]
    provider.update({"id-token": idp.id_tokens[-1], "refresh-token": "r2"})
    assert kept == expected
    assert idp.id_tokens[-1] not in redact(f"rejected {idp.id_tokens[-1]}")

    again, _ = await kubernetes.load_client(kept, "sso-1", within_s=10)  # no refresh needed
    again.close()
    assert idp.received == ["r1"]


@pytest.mark.parametrize("idp", ["GET", "POST", "trickle-GET", "trickle-POST"], indirect=True)
def test_an_identity_provider_that_never_answers_frees_the_load(
    idp: _IdP, pki: tls.TestPki
) -> None:
    """The discovery and token requests had no timeout: an issuer that never answers held a
    loader thread for good (after four of them, no cluster loaded). Each is now bounded by the
    load's limit, as a whole: bounded per read, an issuer sending its answer a byte at a time
    held the load for as long as it went on."""
    failed: list[BaseException] = []

    def load() -> None:
        try:
            load_api_client(idp.kubeconfig(pki), "sso-1", plugin_within_s=1)
        except BaseException as exc:  # handed to the test
            failed.append(exc)

    loading = threading.Thread(target=load, name="loading", daemon=True)
    started = time.monotonic()
    loading.start()
    loading.join(10)
    assert not loading.is_alive(), "the load still waits on the identity provider"
    assert time.monotonic() - started < 5
    (error,) = failed
    assert isinstance(error, KubeConfigInvalid)
    assert "identity provider could not be asked" in str(error)


@pytest.mark.parametrize("idp", ["redirect"], indirect=True)
def test_an_issuer_whose_discovery_url_redirects_is_followed(idp: _IdP, pki: tls.TestPki) -> None:
    """With urllib3's retries off (one attempt per request), redirects were off too: a
    discovery URL answering 301 made the Kubernetes client give up the refresh silently, and
    the load "succeeded" with the expired id-token (every call a 401)."""
    stored: list[dict[str, Any]] = []
    api, _ = load_api_client(
        idp.kubeconfig(pki), "sso-1", plugin_within_s=10, store_refreshed=stored.append
    )
    api.close()
    assert idp.received == ["r1"]
    assert api.configuration.api_key["BearerToken"] == f"Bearer {idp.id_tokens[-1]}"
    (kept,) = stored
    assert kept["users"][0]["user"]["auth-provider"]["config"]["refresh-token"] == "r2"


@pytest.mark.parametrize("idp", ["404"], indirect=True)
def test_an_issuer_without_a_discovery_document_fails_the_load(idp: _IdP, pki: tls.TestPki) -> None:
    """The Kubernetes client gives the refresh up without a word where discovery answers
    other than 200: the load went on with the expired id-token, every call a 401."""
    with pytest.raises(KubeConfigInvalid, match="discovery document answered HTTP 404"):
        load_api_client(idp.kubeconfig(pki), "sso-1", plugin_within_s=10)
    assert idp.received == []


def test_a_refresh_from_a_requests_hook_keeps_that_requests_deadline(
    idp: _IdP, pki: tls.TestPki
) -> None:
    """A refresh bounded by a deadline of its own runs inside an API request's (the client's
    refresh hook, before the request): the request's deadline is its again afterwards, or the
    request itself, unbounded as a whole, could be held by a trickling API server."""
    from collectors import deadline

    with deadline.Deadline() as request:  # a request whose hook finds the id-token expired
        api, _ = load_api_client(idp.kubeconfig(pki), "sso-1", plugin_within_s=10)
        api.close()
        assert idp.received == ["r1"]
        assert deadline._current.deadline is request


# -- a gcp auth provider -------------------------------------------------------------------------
def _gcp(tmp_path: Path, body: str | None, **config: str) -> dict[str, Any]:
    """A gcp auth-provider context whose cmd-path runs ``body`` (Python; given ``tmp_path``)."""
    if body is not None:
        helper = tmp_path / "helper.py"
        helper.write_text(body)
        config = {"cmd-path": sys.executable, "cmd-args": f"{helper} {tmp_path}", **config}
    kubeconfig = kubeconfig_for_token("https://127.0.0.1:9")
    kubeconfig["users"][0]["user"] = {"auth-provider": {"name": "gcp", "config": config}}
    return kubeconfig


@pytest.mark.asyncio
async def test_a_gcp_helper_that_never_answers_is_ended_with_its_load(tmp_path: Path) -> None:
    """Only exec plugins were bounded: a cmd-path that never answered ran on and held a loader
    thread for good."""
    config = _gcp(tmp_path, (
        "import os, sys, time\n"
        "open(os.path.join(sys.argv[1], 'pid'), 'w').write(str(os.getpid()))\n"
        "time.sleep(120)\n"
    ))  # fmt: skip
    with pytest.raises(CollectorTimeout):
        await kubernetes.load_client(config, "gke-1", within_s=1)
    await _ended(int((tmp_path / "pid").read_text()))


def test_a_gcp_helper_that_prints_too_much_is_ended_and_refused(tmp_path: Path) -> None:
    config = _gcp(tmp_path, (
        "import sys\n"
        "chunk = b'x' * 65536\n"
        "for _ in range(10_000):\n"  # 640 MB if read whole
        "    sys.stdout.buffer.write(chunk)\n"
    ))  # fmt: skip
    with pytest.raises(KubeConfigInvalid, match="printed more than 1,048,576 bytes"):
        load_api_client(config, "gke-1", plugin_within_s=20)


def test_a_gcp_helpers_token_is_read_registered_and_handed_back(tmp_path: Path) -> None:
    """Run through the bounded runner, the helper's answer is still read as the Kubernetes
    client reads it; its token is registered with the redactor and handed back to be kept."""
    token = f"ya29.{secrets.token_urlsafe(30)}"
    config = _gcp(tmp_path, (
        "import json\n"
        f"print(json.dumps({{'credential': {{'access_token': {token!r},\n"
        "    'token_expiry': '2099-01-01T00:00:00Z'}}))\n"
    ))  # fmt: skip
    stored: list[dict[str, Any]] = []
    api, expires = load_api_client(config, "gke-1", store_refreshed=stored.append)
    api.close()
    assert api.configuration.api_key["BearerToken"] == f"Bearer {token}"
    assert expires == 4070908800.0
    assert token not in redact(f"denied {token}")
    (kept,) = stored
    provider = kept["users"][0]["user"]["auth-provider"]["config"]
    assert (provider["access-token"], provider["expiry"]) == (token, "2099-01-01T00:00:00Z")

    failing = _gcp(tmp_path, "import sys\nsys.stderr.write('no login yet')\nsys.exit(3)\n")
    with pytest.raises(KubeConfigInvalid, match=r"returned 3\. no login yet"):
        load_api_client(failing, "gke-1")


def test_a_gcp_provider_without_cmd_path_says_what_it_needs() -> None:
    """gcloud's older kubeconfig (an access token, no cmd-path) whose token expired: without
    google-auth the load failed with a bare AttributeError ('NoneType' object has no attribute
    'token'), a crash of ``clusters validate``."""
    config = _gcp(Path(), None, **{"access-token": "ya29.old", "expiry": "2020-01-01T00:00:00Z"})
    with pytest.raises(KubeConfigInvalid, match="needs cmd-path or the google-auth package"):
        load_api_client(config, "gke-1")


@pytest.mark.asyncio
async def test_the_pool_keeps_a_refreshed_oidc_token_in_the_clusters_keyring_entry(
    idp: _IdP, pki: tls.TestPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's own clients (the pool's, and validation's) pass where to keep a refresh: the
    cluster's stored context. Without it the next start refreshed with the spent token and
    the cluster was lost."""
    ref = CredentialRef(kind=CredentialKind.KUBECONFIG_CONTEXT, key="sso-1-context")
    store = SecretStore(MemoryKeyring())
    store.put_json(ref, idp.kubeconfig(pki))
    cluster = Cluster(name="sso-1", api_server_url="https://127.0.0.1:9", credential=ref)
    pool = ClientPool(store)
    registered: list[str] = []
    monkeypatch.setattr(secrets_module, "register_secret", registered.append)
    try:
        for _ in range(2):  # a client made twice: the app started today and tomorrow
            await pool.kube(cluster)
            await pool.forget(cluster.id)
    finally:
        await pool.aclose()
    assert idp.received == ["r1"]  # the second load found a valid id-token stored
    kept = store.get_json(ref)
    assert kept is not None
    assert kept["users"][0]["user"]["auth-provider"]["config"]["refresh-token"] == "r2"
    whole = len(json.dumps(kept))  # its secrets registered, never the entry's whole text
    assert registered and max(map(len, registered)) < whole / 2
    assert (
        refreshed_into(Cluster(name="token-1", api_server_url="https://127.0.0.1:9"), store) is None
    )


def test_a_refresh_finishing_after_the_cluster_was_removed_is_not_stored() -> None:
    """A refresh handed back after ``registry.remove`` deleted the cluster's entry (or a
    re-import moved its credential to another entry) wrote the deleted entry back, client
    secret and new refresh token, where no cluster owns it and the orphan sweep never looks."""
    ref = CredentialRef(kind=CredentialKind.KUBECONFIG_CONTEXT, key="sso-2-context")
    store = SecretStore(MemoryKeyring())
    given = kubeconfig_for_token("https://127.0.0.1:9", "Zq7-first-id-token")
    store.put_json(ref, given)
    keep = refreshed_into(
        Cluster(name="sso-2", api_server_url="https://127.0.0.1:9", credential=ref), store
    )
    assert keep is not None
    store.delete(ref)  # the cluster removed while its load refreshed
    keep(kubeconfig_for_token("https://127.0.0.1:9", "Zq7-second-id-token"))
    assert store.get(ref) is None
    store.put_json(ref, given)  # while it is there, a refresh is kept
    keep(kubeconfig_for_token("https://127.0.0.1:9", "Zq7-third-id-token"))
    assert (store.get_json(ref) or {})["users"][0]["user"]["token"] == "Zq7-third-id-token"


def test_a_refresh_failing_outside_a_load_is_logged_not_left_for_the_next_load(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """In a request's thread (the client's refresh hook) no load reads the reason: it was
    left in the thread's state, and a later load in that thread could find it."""
    with caplog.at_level(logging.WARNING, logger="aiops.collectors.kube_config"):
        kube_config._failed("the identity provider's discovery document answered HTTP 404")
    assert not hasattr(kube_config._plugin_limit, "failed")
    assert "discovery document answered HTTP 404" in caplog.text
