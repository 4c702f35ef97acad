"""Review of kubeconfig imports: what the contexts an import stores share inline counts
against one total per import, those left out cost nothing (and only a secret's own text goes
to the redactor, when stored or read), an inline token is checked as a tokenFile's is (one line
of visible ASCII: a Rancher token's ':' too); a symlink loop refuses one context (or the
file), never the whole read with an exception; a damaged cache row with a context's name costs
that context its name, not the import."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop import secrets as secrets_module
from aiops_desktop.logs import redact, register_secret
from aiops_desktop.models import CredentialKind, CredentialRef
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.clusters import kubeconfig
from aiops_desktop.services.clusters.kubeconfig import KubeconfigError, read_contexts
from aiops_desktop.services.core import Core
from aiops_desktop.settings import resolve_paths
from tests.memory_keyring import MemoryKeyring
from tests.qtfree.cli_runner import call_main

#: a shared user's inline client certificate and key, each ~100 KB: every context's keyring
#: entry holds its own copy of both
BLOB = base64.b64encode(b"\x8e\x11K-review-blob" * 5_000).decode()
TOKEN = "sha256~Rv3wInlineTokenChecked0123456789"


def _shared_user_config(folder: Path, contexts: int, user: str) -> Path:
    names = "".join(
        f"- name: ctx-{i}\n  context: {{cluster: c, user: u}}\n" for i in range(contexts)
    )
    path = folder / "config"
    path.write_text(
        "clusters:\n- name: c\n  cluster: {server: 'https://api.k:6443'}\n"
        f"users:\n- name: u\n  user: {user}\ncontexts:\n{names}"
    )
    return path


# -- 4: inline data many contexts share ---------------------------------------------------------
def _stored(backend: MemoryKeyring) -> list[int]:
    """The sizes of the kubeconfig entries an import wrote."""
    return [len(v) for (_, k), v in backend.store.items() if k.endswith("/kubeconfig")]


@pytest.mark.asyncio
async def test_inline_data_many_contexts_share_counts_against_one_total(tmp_path: Path) -> None:
    user = f"{{client-certificate-data: {BLOB}, client-key-data: {BLOB}}}"
    path = _shared_user_config(tmp_path, 100, user)
    assert path.stat().st_size < kubeconfig.MAX_KUBECONFIG_BYTES
    assert all(c.usable for c in read_contexts(path))  # the preview offers each
    backend = MemoryKeyring()
    core = Core.open(resolve_paths(tmp_path / "home"), secrets=SecretStore(backend))
    try:
        await core.registry.load()
        report = await core.registry.import_kubeconfig(path)
    finally:
        await core.shutdown()
    held = _stored(backend)
    budget = kubeconfig.MAX_STORED_TOTAL
    assert sum(held) <= budget < sum(held) + held[0]  # as many as fit, and no more
    fits = len(held)
    assert len(report.imported) == fits
    assert [name for name, _ in report.skipped] == [f"ctx-{i}" for i in range(fits, 100)]
    refused = report.skipped[0][1]
    assert str(path) in refused and f"{budget:,} bytes" in refused, refused
    assert BLOB not in refused


@pytest.mark.asyncio
async def test_a_context_refused_for_the_total_leaves_room_to_a_smaller_one(
    tmp_path: Path,
) -> None:
    big = "".join(f"- name: big-{i}\n  context: {{cluster: c, user: u}}\n" for i in range(100))
    path = tmp_path / "config"
    path.write_text(
        "clusters:\n- name: c\n  cluster: {server: 'https://api.k:6443'}\n"
        f"users:\n- name: u\n  user: {{client-certificate-data: {BLOB}, "
        f"client-key-data: {BLOB}}}\n- name: small\n  user: {{token: {TOKEN}}}\n"
        f"contexts:\n{big}- name: small\n  context: {{cluster: c, user: small}}\n"
    )
    core = Core.open(resolve_paths(tmp_path / "home"), secrets=SecretStore(MemoryKeyring()))
    try:
        await core.registry.load()
        report = await core.registry.import_kubeconfig(path)
    finally:
        await core.shutdown()
    skipped = [name for name, _ in report.skipped]
    assert "big-99" in skipped and "small" not in skipped, report.skipped


@pytest.mark.asyncio
async def test_only_the_contexts_stored_count_against_the_total(tmp_path: Path) -> None:
    """Contexts left out of an import, or before the one added, cost the total nothing: the
    100th of a file whose 100 contexts would not fit together is imported on its own."""
    user = f"{{client-certificate-data: {BLOB}, client-key-data: {BLOB}}}"
    path = _shared_user_config(tmp_path, 100, user)
    backend = MemoryKeyring()
    core = Core.open(resolve_paths(tmp_path / "home"), secrets=SecretStore(backend))
    try:
        await core.registry.load()
        report = await core.registry.import_kubeconfig(path, contexts=["ctx-99", "ctx-98"])
        assert sorted(c.display_name for c in report.imported) == ["ctx-98", "ctx-99"]
        assert report.skipped == []
        cluster, _ = await core.registry.add_from_kubeconfig(
            ClusterSpec(name="only-one"), path, "ctx-97"
        )
        assert cluster.credential is not None and cluster.credential.context == "ctx-97"
    finally:
        await core.shutdown()
    assert len(_stored(backend)) == 3


@pytest.mark.parametrize(
    "token",
    [
        "t" * 1_000_000,  # far over a token's 16,384 characters
        "Rv3wTwo\nLines0123",
        "Rv3w with blanks 0123",
        "Rv3wHeader0123\r\nX-Injected: 1",
        "Rv3wControl\x000123",
        "Rv3wUmlaut\u00fc0123",  # not ASCII: http.client sends Latin-1, servers read UTF-8
    ],
)
def test_an_inline_token_is_checked_as_a_token_file_s(tmp_path: Path, token: str) -> None:
    path = _shared_user_config(tmp_path, 3, json.dumps({"token": token}))
    found = read_contexts(path)
    assert not any(c.usable for c in found)
    error = found[0].error or ""
    assert "token" in error and "not sent to the server" in error, error
    assert token not in error


def test_an_inline_token_of_token_characters_is_taken(tmp_path: Path) -> None:
    (ctx,) = read_contexts(_shared_user_config(tmp_path, 1, f"{{token: {TOKEN}}}"))
    assert ctx.usable and ctx.auth == "token", ctx.error


#: Rancher writes its kubeconfigs' tokens as ``<token name>:<secret>``; kubectl and the
#: Kubernetes client send them as they are
RANCHER_TOKEN = "kubeconfig-user-7ct5p.c-m-abcd1234:4xkx9q2lrd5mhfq7vtpwrs8lc7xwhc6gsmbh9h7zt5n2"


def test_a_rancher_token_inline_or_in_a_token_file_is_taken(tmp_path: Path) -> None:
    (inline,) = read_contexts(_shared_user_config(tmp_path, 1, f'{{token: "{RANCHER_TOKEN}"}}'))
    assert inline.usable, inline.error
    assert kubeconfig.bearer_token(inline.payload) == RANCHER_TOKEN
    (tmp_path / "rancher-token").write_text(f"{RANCHER_TOKEN}\n")
    (from_file,) = read_contexts(_shared_user_config(tmp_path, 1, "{tokenFile: rancher-token}"))
    assert from_file.usable, from_file.error
    assert kubeconfig.bearer_token(from_file.payload) == RANCHER_TOKEN


@pytest.mark.parametrize(
    "token", ["Rv3w with blanks 0123", "Rv3wTwo\nLines0123", "Rv3wControl\x070123"]
)
def test_a_token_file_is_held_to_the_inline_token_s_rule(tmp_path: Path, token: str) -> None:
    (tmp_path / "token-file").write_text(token)
    (ctx,) = read_contexts(_shared_user_config(tmp_path, 1, "{tokenFile: token-file}"))
    assert not ctx.usable and "not sent to the server" in (ctx.error or ""), ctx.error


def test_put_json_registers_a_payload_s_secrets_not_its_whole_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registered: list[str] = []
    monkeypatch.setattr(secrets_module, "register_secret", registered.append)
    key = "Rv3wClientKeyPem-Leaf-5521"
    payload: dict[str, Any] = {
        "users": [{"name": "u", "user": {"token": TOKEN, "client-key-data": key}}],
        "clusters": [{"name": "c", "cluster": {"server": "https://api.k:6443"}}],
    }
    ref = CredentialRef(kind=CredentialKind.KUBECONFIG_CONTEXT, key="cluster/x/kubeconfig")
    backend = MemoryKeyring()
    SecretStore(backend).put_json(ref, payload)
    assert sorted(registered) == sorted([TOKEN, key])
    # what is registered still blanks the payload's secrets from a line that quotes it whole
    for value in registered:
        register_secret(value)
    line = redact(f"stored {backend.store[(ref.service, ref.key)]}")
    assert TOKEN not in line and key not in line and "https://api.k:6443" in line


def test_get_json_registers_a_payload_s_secrets_not_its_whole_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each client load reads its context's entry: the whole text (a megabyte with a CA
    bundle) was registered again, and held for the process's life."""
    key = "Rv3wClientKeyPem-Leaf-7731"
    payload: dict[str, Any] = {
        "users": [{"name": "u", "user": {"token": TOKEN, "client-key-data": key}}],
        "clusters": [{"name": "c", "cluster": {"server": "https://api.k:6443"}}],
    }
    ref = CredentialRef(kind=CredentialKind.KUBECONFIG_CONTEXT, key="cluster/y/kubeconfig")
    store = SecretStore(MemoryKeyring())
    store.put_json(ref, payload)
    registered: list[str] = []
    monkeypatch.setattr(secrets_module, "register_secret", registered.append)
    assert store.get_json(ref) == payload
    assert sorted(registered) == sorted([TOKEN, key])


def test_a_bare_token_read_is_registered_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """``get`` (a bearer token) and ``get_json`` of an entry that is no JSON object (a key an
    older version stored alone) register the text: it is the secret."""
    ref = CredentialRef(kind=CredentialKind.BEARER_TOKEN, key="cluster/z/api")
    bare = "sha256~Rv3wBareTokenRead0123456789"
    store = SecretStore(MemoryKeyring())
    store.put(ref, bare)
    registered: list[str] = []
    monkeypatch.setattr(secrets_module, "register_secret", registered.append)
    assert store.get(ref) == bare and registered == [bare]
    registered.clear()
    with pytest.raises(ValueError):
        store.get_json(ref)
    assert registered == [bare]
    registered.clear()
    store.put(ref, "73519024688")  # a key of digits alone: JSON, but no object
    registered.clear()
    with pytest.raises(ValueError):  # not what the app stored (said as such by its callers)
        store.get_json(ref)
    assert registered == ["73519024688"]


@pytest.mark.asyncio
async def test_an_import_writes_no_more_than_the_total_to_the_keyring(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    core = Core.open(resolve_paths(tmp_path / "home"), secrets=SecretStore(backend))
    try:
        await core.registry.load()
        user = f"{{client-certificate-data: {BLOB}, client-key-data: {BLOB}}}"
        report = await core.registry.import_kubeconfig(_shared_user_config(tmp_path, 100, user))
        assert report.imported and report.skipped
        assert sum(map(len, backend.store.values())) <= kubeconfig.MAX_STORED_TOTAL
    finally:
        await core.shutdown()


# -- 6: symlink loops ---------------------------------------------------------------------------
LOOPED = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://api.good:6443"}},
           {name: c2, cluster: {server: "https://api.other:6443"}}]
users: [{name: u, user: {tokenFile: a}}, {name: u2, user: {token: Rv3wGood0123456}}]
contexts: [{name: good, context: {cluster: c2, user: u2}},
           {name: looped, context: {cluster: c, user: u}}]
"""


def _looped_config(folder: Path) -> Path:
    os.symlink("b", folder / "a")
    os.symlink("a", folder / "b")
    path = folder / "config"
    path.write_text(LOOPED)
    return path


def test_a_symlink_loop_a_context_names_refuses_that_context(tmp_path: Path) -> None:
    good, looped = read_contexts(_looped_config(tmp_path))
    assert good.usable, good.error
    assert not looped.usable and "symlink loop" in (looped.error or ""), looped.error
    assert "tokenFile" in (looped.error or "")


def test_a_kubeconfig_path_in_a_symlink_loop_is_refused_with_why(tmp_path: Path) -> None:
    os.symlink("loop-b", tmp_path / "loop-a")
    os.symlink("loop-a", tmp_path / "loop-b")
    with pytest.raises(KubeconfigError, match="symlink loop"):
        read_contexts(tmp_path / "loop-a")
    (tmp_path / "kc").symlink_to(tmp_path / "loop-a")  # a folder of the path in a loop
    with pytest.raises(KubeconfigError, match="symlink loop"):
        read_contexts(tmp_path / "kc" / "config")


def test_cli_import_with_a_symlink_loop_imports_the_good_context(
    tmp_path: Path, secret_service: Any
) -> None:
    path = _looped_config(tmp_path)
    code, out, err = call_main(tmp_path / "home", "clusters", "import-kubeconfig", str(path))
    assert "Traceback" not in err and "RuntimeError" not in err, err
    assert "symlink loop" in out + err, out + err
    code, out, err = call_main(tmp_path / "home", "clusters", "list")
    assert code == 0 and "api.other" in out, out + err


# -- 8: a damaged cache row with a context's name ----------------------------------------------
KC = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://api.prod:6443"}},
           {name: s, cluster: {server: "https://api.staging:6443"}}]
users: [{name: u, user: {token: Rv3wDamaged0123456}}]
contexts: [{name: staging, context: {cluster: s, user: u}},
           {name: prod, context: {cluster: c, user: u}}]
"""


@pytest.mark.asyncio
async def test_a_damaged_row_with_a_context_s_name_costs_that_name_not_the_import(
    tmp_path: Path,
) -> None:
    paths = resolve_paths(tmp_path / "home")
    backend = MemoryKeyring()
    old, new = tmp_path / "old", tmp_path / "config"
    old.write_text(KC.replace("{name: staging, context: {cluster: s, user: u}},\n", ""))
    new.write_text(KC)
    core = Core.open(paths, secrets=SecretStore(backend))
    try:
        await core.registry.load()
        await core.registry.import_kubeconfig(old)
    finally:
        await core.shutdown()
    with closing(sqlite3.connect(paths.db_path)) as conn:  # a field a newer version added
        conn.execute("UPDATE clusters SET doc = json_set(doc, '$.newer_field', 1) "
                     "WHERE name = 'prod'")  # fmt: skip
        conn.commit()
    core = Core.open(paths, secrets=SecretStore(backend))
    try:
        await core.registry.load()
        assert core.registry.clusters() == []  # the damaged row is not read
        report = await core.registry.import_kubeconfig(new)
        assert sorted(c.name for c in report.imported) == ["prod-2", "staging"], report.skipped
        assert sorted(c.name for c in core.registry.clusters()) == ["prod-2", "staging"]
    finally:
        await core.shutdown()


def test_a_capture_s_keyring_says_why_to_a_payload_read_too() -> None:
    ref = CredentialRef(kind=CredentialKind.KUBECONFIG_CONTEXT, key="cluster/c/kubeconfig")
    for read in (secrets_module.NoSecrets().get, secrets_module.NoSecrets().get_json):
        with pytest.raises(secrets_module.SecretsError, match="a capture holds no credentials"):
            read(ref)
