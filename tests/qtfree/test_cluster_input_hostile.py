"""Hostile or broken input where clusters are added and connected: a token of two lines, a
path under ``~nosuchuser``, a kubeconfig whose auth provider hides its arguments, a proxy, an
integer Python will not read, a JWT whose expiry is out of range. Each ends in a clear error
that holds no secret, never in a traceback."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from aiops_desktop.cli.args import read_secret_file, read_stdin
from aiops_desktop.models import AuthMethod, CredentialKind, CredentialRef
from aiops_desktop.models.errors import UsageError
from aiops_desktop.secrets import SecretsError, SecretStore
from aiops_desktop.services.clusters.kubeconfig import KubeconfigError, read_contexts
from collectors.errors import CollectorError, KubeConfigInvalid
from collectors.http import BackendClient, EndpointAuth
from collectors.kube_config import bearer_expiry, kubeconfig_for_token, load_api_client
from collectors.kubernetes import KubeClient
from tests.memory_keyring import MemoryKeyring

SECOND = "k7Qz9SECRETLINE2xYw3"
TWO_LINES = "sha256~AbCdEfGhIjKlMnOpQrStUv\n" + SECOND


# -- a token of two lines --------------------------------------------------------------------
def test_the_cli_refuses_a_token_file_or_stdin_of_two_lines(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TWO_LINES + "\n")
    with pytest.raises(UsageError, match="one line") as refused:
        read_secret_file(str(token_file), "token")
    assert SECOND not in str(refused.value) and "AbCdEf" not in str(refused.value)
    with pytest.raises(UsageError, match="one line") as refused:
        read_stdin(io.StringIO(TWO_LINES + "\n"), "token")
    assert SECOND not in str(refused.value)
    # one line with its newline is a token; a CA bundle of many lines is no token
    token_file.write_text("sha256~AbCdEfGhIjKlMnOpQrStUv\n")
    assert read_secret_file(str(token_file), "token") == "sha256~AbCdEfGhIjKlMnOpQrStUv"
    token_file.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    assert read_secret_file(str(token_file), "CA bundle").count("\n") == 2


def test_the_keyring_refuses_a_bearer_token_of_two_lines() -> None:
    backend = MemoryKeyring()
    store = SecretStore(backend)
    ref = CredentialRef(kind=CredentialKind.BEARER_TOKEN, key="cluster/x/api")
    with pytest.raises(SecretsError, match="one line") as refused:
        store.put(ref, TWO_LINES)
    assert SECOND not in str(refused.value) and "AbCdEf" not in str(refused.value)
    assert backend.store == {}
    store.put(ref, "sha256~AbCdEfGhIjKlMnOpQrStUv")  # one line: stored
    assert store.get(ref) == "sha256~AbCdEfGhIjKlMnOpQrStUv"


@pytest_asyncio.fixture
async def silent_server() -> AsyncIterator[int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.asyncio
async def test_a_header_httpx_will_not_send_is_a_collector_error_without_it(
    silent_server: int,
) -> None:
    client = BackendClient(
        f"http://127.0.0.1:{silent_server}",
        name="hub-1",
        auth=EndpointAuth(AuthMethod.BEARER, token=TWO_LINES),
    )
    try:
        with pytest.raises(CollectorError) as failed:
            await client.get_json("/api/v1/query", {"query": "up"})
    finally:
        await client.aclose()
    assert SECOND not in str(failed.value) and "AbCdEf" not in str(failed.value)
    assert "header" in str(failed.value)
    # nor a token that is not ASCII
    client = BackendClient(
        f"http://127.0.0.1:{silent_server}",
        name="hub-1",
        auth=EndpointAuth(AuthMethod.BEARER, token="sha256~tökenSECRET"),
    )
    try:
        with pytest.raises(CollectorError, match="header") as failed:
            await client.get_json("/api/v1/query", {"query": "up"})
    finally:
        await client.aclose()
    assert "SECRET" not in str(failed.value)


@pytest.mark.asyncio
async def test_a_header_http_client_will_not_send_is_an_invalid_config_without_it(
    silent_server: int,
) -> None:
    config = kubeconfig_for_token(f"http://127.0.0.1:{silent_server}", TWO_LINES)
    client = await KubeClient.open(config, name="lab-1", timeout_s=5)
    try:
        with pytest.raises(KubeConfigInvalid) as failed:
            await client.get("/version")
    finally:
        await client.aclose()
    assert SECOND not in str(failed.value) and "AbCdEf" not in str(failed.value)
    assert "header" in str(failed.value)


# -- an auth provider's command, arguments included --------------------------------------------
def gcp_kubeconfig(folder: Path, config: str) -> Path:
    path = folder / "config"
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        "clusters: [{name: c, cluster: {server: 'https://api.example:6443'}}]\n"
        "users:\n- name: u\n  user:\n    auth-provider:\n      name: gcp\n"
        f"      config: {config}\n"
        "contexts: [{name: gke, context: {cluster: c, user: u}}]\n"
    )
    return path


def test_a_gcp_providers_arguments_are_shown_and_bound_by_the_consent(tmp_path: Path) -> None:
    python = sys.executable
    (benign,) = read_contexts(
        gcp_kubeconfig(tmp_path, f"{{cmd-path: {python}, cmd-args: --version}}")
    )
    (evil,) = read_contexts(
        gcp_kubeconfig(tmp_path, f"{{cmd-path: {python}, cmd-args: '-c import  os'}}")
    )
    assert benign.runs is not None and evil.runs is not None
    assert f"{python} --version" in benign.runs
    assert f"{python} -c import os" in evil.runs  # as the client runs it: split on spaces
    assert benign.runs != evil.runs  # a consent to one is no consent to the other
    (keyed,) = read_contexts(gcp_kubeconfig(
        tmp_path, f"{{cmd-path: {python}, cmd-args: --version, token-key: '{{.tok}}'}}"
    ))  # fmt: skip
    assert keyed.runs is not None and "{.tok}" in keyed.runs
    # a secret-named argument is hidden, and the fingerprint still tells commands apart
    (one,) = read_contexts(
        gcp_kubeconfig(tmp_path, "{cmd-path: helper, cmd-args: --token=AAAA1111}")
    )
    (two,) = read_contexts(
        gcp_kubeconfig(tmp_path, "{cmd-path: helper, cmd-args: --token=BBBB2222}")
    )
    assert one.runs and "AAAA1111" not in one.runs and "fingerprint" in one.runs
    assert one.runs != two.runs
    # arguments the client cannot split are refused for that context
    (listed,) = read_contexts(gcp_kubeconfig(tmp_path, "{cmd-path: helper, cmd-args: [a, b]}"))
    assert listed.error and "cmd-args" in listed.error


# -- ~nosuchuser -------------------------------------------------------------------------------
def test_a_path_under_an_unknown_users_home_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n"
        "- {name: good, cluster: {server: 'https://api.good.example:6443'}}\n"
        "- {name: bad, cluster: {server: 'https://api.bad.example:6443', "
        "certificate-authority: '~nosuchuser/ca.crt'}}\n"
        "users: [{name: u, user: {token: sha256~abcdefghijklmnopqrstuvwxyz0123}}]\n"
        "contexts:\n- {name: good, context: {cluster: good, user: u}}\n"
        "- {name: bad, context: {cluster: bad, user: u}}\n"
    )
    contexts = {c.context: c for c in read_contexts(path)}
    assert contexts["good"].usable  # one context's bad path costs that context only
    assert "~nosuchuser" in (contexts["bad"].error or "")
    with pytest.raises(KubeconfigError, match="~nosuchuser"):
        read_contexts("~nosuchuser/config")
    with pytest.raises(UsageError, match="~nosuchuser"):
        read_secret_file("~nosuchuser/t", "token")


# -- a number Python will not read -------------------------------------------------------------
def test_an_integer_of_thousands_of_digits_is_a_kubeconfig_error(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(
        "apiVersion: v1\nkind: Config\npreferences: {x: " + "9" * 5000 + "}\n"
        "clusters: []\nusers: []\ncontexts: [{name: a, context: {cluster: a}}]\n"
    )
    with pytest.raises(KubeconfigError, match="number") as refused:
        read_contexts(path)
    assert "9" * 100 not in str(refused.value)


# -- a proxy the kubeconfig chose --------------------------------------------------------------
def test_a_kubeconfig_proxy_url_is_refused_before_any_traffic(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n"
        "- {name: c, cluster: {server: 'https://api.prod.example:6443', "
        "proxy-url: 'http://someone:pa55word@proxy.evil.example:3128'}}\n"
        "- {name: d, cluster: {server: 'https://api.lab.example:6443'}}\n"
        "users: [{name: u, user: {token: sha256~abcdefghijklmnopqrstuvwxyz0123}}]\n"
        "contexts:\n- {name: prod, context: {cluster: c, user: u}}\n"
        "- {name: lab, context: {cluster: d, user: u}}\n"
    )
    contexts = {c.context: c for c in read_contexts(path)}
    prod = contexts["prod"]
    assert not prod.usable and prod.payload is None
    assert "proxy-url" in (prod.error or "") and "proxy.evil.example:3128" in (prod.error or "")
    assert "pa55word" not in (prod.error or "")
    assert contexts["lab"].usable
    # a context stored before this check is not obeyed either
    stored = kubeconfig_for_token("https://api.prod.example:6443", "sha256~abcdefghijklmnop")
    stored["clusters"][0]["cluster"]["proxy-url"] = "http://127.0.0.1:3128"
    with pytest.raises(KubeConfigInvalid, match="proxy-url"):
        load_api_client(stored, "prod")


# -- a JWT whose expiry is out of range --------------------------------------------------------
def test_a_jwt_with_an_expiry_out_of_range_has_no_known_expiry() -> None:
    def jwt(claims: bytes) -> str:
        body = base64.urlsafe_b64encode(claims).decode().rstrip("=")
        return (
            f"{base64.urlsafe_b64encode(json.dumps({'alg': 'none'}).encode()).decode()}.{body}.sig"
        )

    assert bearer_expiry(jwt(b'{"exp": 1' + b"0" * 309 + b"}")) is None  # past a float
    for exp in (b"-1e300", b"1e300", b"Infinity", b"NaN"):  # no date: unknown, as for opaque
        assert bearer_expiry(jwt(b'{"exp": ' + exp + b"}")) is None
    assert bearer_expiry(jwt(b'{"exp": 1700000000}')) == 1700000000.0
    # and the client loads (its expiry unknown), not an OverflowError
    api, expires = load_api_client(
        kubeconfig_for_token("https://127.0.0.1:1", jwt(b'{"exp": 1' + b"0" * 309 + b"}")), "c"
    )
    api.close()
    assert expires is None
