"""Review fixes for reading kubeconfigs: a file many contexts name is read once and within a
total budget; the YAML is parsed by libyaml with the same guards; a CA bundle never carries a
private key into the cache; an exec plugin's ordinary environment values stay in the logs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from aiops_desktop import logs
from aiops_desktop.models import Cluster, CredentialKind, CredentialRef
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.clusters import kubeconfig
from aiops_desktop.services.clusters.kubeconfig import KubeconfigError, read_contexts
from aiops_desktop.store.clusters import ClusterRepository
from aiops_desktop.store.database import Database
from tests.memory_keyring import MemoryKeyring
from tests.qtfree.cli_runner import call_main

CERT = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUTESTCA\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nS0VZU0VDUkVUTUFURVJJQUw=\n-----END PRIVATE KEY-----\n"


def _config(folder: Path, contexts: int, cluster: str, user: str = "{token: t0123456789}") -> Path:
    names = "".join(
        f"- name: ctx-{i}\n  context: {{cluster: c, user: u}}\n" for i in range(contexts)
    )
    path = folder / "config"
    path.write_text(
        f"clusters:\n- name: c\n  cluster: {cluster}\n"
        f"users:\n- name: u\n  user: {user}\ncontexts:\n{names}"
    )
    return path


# -- defect 2: one referenced file, many contexts ---------------------------------------------
def test_a_file_many_contexts_name_is_read_once_and_within_a_total_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = 900_000  # under the per-file limit; 12 contexts hold 10.8 MB of it in all
    (tmp_path / "ca.pem").write_text(
        "-----BEGIN CERTIFICATE-----\n" + "A" * (size - 55) + "\n-----END CERTIFICATE-----\n"
    )
    assert (tmp_path / "ca.pem").stat().st_size == size
    path = _config(tmp_path, 12, "{server: 'https://api.k:6443', certificate-authority: ca.pem}")
    opened: list[Path] = []
    real = kubeconfig.read_bounded

    def counting(where: Path, *args: Any, **kwargs: Any) -> bytes:
        opened.append(Path(where).resolve())
        return real(where, *args, **kwargs)

    monkeypatch.setattr(kubeconfig, "read_bounded", counting)
    found = read_contexts(path)
    assert opened.count((tmp_path / "ca.pem").resolve()) == 1  # not once per context
    budget = kubeconfig.MAX_REFERENCED_TOTAL
    assert budget == 8 * 2**20
    fits = budget // size  # 9 contexts' copies fit in 8 MiB
    assert [c.usable for c in found] == [True] * fits + [False] * (12 - fits)
    refused = found[fits].error or ""
    assert str(path) in refused and f"{budget:,} bytes" in refused, refused
    assert found[0].ca_pem is found[fits - 1].ca_pem  # one text, not a copy per context


def test_a_context_refused_after_its_files_were_read_leaves_the_budget_to_the_others(
    tmp_path: Path,
) -> None:
    size = 900_000
    (tmp_path / "ca.pem").write_text(
        "-----BEGIN CERTIFICATE-----\n" + "A" * (size - 55) + "\n-----END CERTIFICATE-----\n"
    )
    refused = "".join(f"- name: bad-{i}\n  context: {{cluster: c, user: bad}}\n" for i in range(9))
    good = "".join(f"- name: ok-{i}\n  context: {{cluster: c, user: u}}\n" for i in range(9))
    path = tmp_path / "config"
    path.write_text(
        "clusters:\n- name: c\n  cluster: {server: 'https://api.k:6443', "
        "certificate-authority: ca.pem}\n"
        "users:\n- name: u\n  user: {token: t0123456789}\n"
        "- name: bad\n  user: {exec: {command: oc, env: [{name: LD_PRELOAD, value: x.so}]}}\n"
        f"contexts:\n{refused}{good}"
    )
    found = read_contexts(path)
    assert all("LD_PRELOAD" in (c.error or "") for c in found[:9])  # read its CA, then refused
    assert all(c.usable for c in found[9:])  # 9 copies fit: the refused ones hold none


# -- defect 7: libyaml, with the same guards --------------------------------------------------
ALIAS_BOMB = "a: &a [x, x, x]\nb: &b [*a, *a, *a]\ncontexts: [*b]\n"


def _nested(levels: int) -> str:
    """A document whose deepest node is ``levels`` deep (the root mapping is one)."""
    inner = levels - 2  # the root mapping and the scalar
    return "contexts: " + "[" * inner + "1" + "]" * inner


@pytest.fixture(params=["libyaml", "python"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test runs with PyYAML's C loader and, as where libyaml is missing, without."""
    if request.param == "python":
        monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    elif not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("PyYAML is built without libyaml here")
    return str(request.param)


def test_libyaml_parses_a_kubeconfig_where_pyyaml_has_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("PyYAML is built without libyaml here")
    made: list[str] = []

    class Counting(yaml.CSafeLoader):
        def __init__(self, stream: Any) -> None:
            made.append("c")
            super().__init__(stream)

    monkeypatch.setattr(yaml, "CSafeLoader", Counting)
    found = read_contexts(_config(tmp_path, 2, "{server: 'https://api.k:6443'}"))
    assert made and all(c.usable for c in found)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (ALIAS_BOMB, "uses YAML aliases"),
        (_nested(kubeconfig.MAX_DEPTH + 1), "nests deeper than 32 levels"),
        ("contexts: " + "{a: " * 40 + "1" + "}" * 40, "nests deeper than 32 levels"),
        ("contexts: " + "[" * 5000 + "]" * 5000, "nests deeper than 32 levels"),
        ("contexts:\n" + "".join(" " * i + "- \n" for i in range(40)), "nests deeper"),
    ],
)
def test_both_loaders_refuse_aliases_and_deep_nesting(
    tmp_path: Path, loader: str, content: str, message: str
) -> None:
    path = tmp_path / "config"
    path.write_text(content)
    with pytest.raises(KubeconfigError, match=message):
        read_contexts(path)


def test_both_loaders_read_what_the_guards_allow_as_before(tmp_path: Path, loader: str) -> None:
    path = tmp_path / "config"
    path.write_text(_nested(kubeconfig.MAX_DEPTH))  # as deep as allowed: a kubeconfig's shape
    (only,) = read_contexts(path)  # read, not refused as too deep
    assert only.error == "a context without a name"
    path.write_text(
        "anchored: &only {x: 1}\n"  # an anchor no alias uses expands nothing
        "clusters:\n- name: c\n  cluster: {server: 'https://api.k:6443'}\n"
        "users:\n- name: u\n  user:\n    token: t0123456789\n"
        "    auth-provider:\n"
        "      {name: oidc, config: {expiry: 2026-01-01T00:00:00Z, raw: !!binary aGk=}}\n"
        "contexts:\n- name: one\n  context: {cluster: c, user: u}\n"
        "- name: two\n  context: {cluster: c, user: u}\n"
    )
    first, second = read_contexts(path)
    assert first.usable and second.usable
    config = first.payload["users"][0]["user"]["auth-provider"]["config"]  # type: ignore[index]
    assert config == {"expiry": "2026-01-01T00:00:00Z", "raw": "aGk="}  # text, as kubectl reads


def test_a_kubeconfig_over_1_mib_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    """A real kubeconfig of 50 clusters, each with its own CA bundle and client certificate
    and key inline (~10 KB a context), is about 500 KB; past 1 MiB the parse alone took
    seconds (4 MB of small entries: 100 s, 681 MiB)."""
    path = _config(tmp_path, 1, "{server: 'https://api.k:6443'}")
    with path.open("a") as out:
        out.write("# " + "x" * (2**20 - path.stat().st_size - 3) + "\n")
    assert path.stat().st_size == 2**20
    (context,) = read_contexts(path)  # at the limit: read
    assert context.usable
    with path.open("a") as out:
        out.write("#")
    with pytest.raises(KubeconfigError, match="larger than 1,048,576 bytes"):
        read_contexts(path)


def test_a_context_finds_the_first_entry_of_its_name(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(
        "clusters:\n- name: c\n  cluster: {server: 'https://first.k:6443'}\n"
        "- name: c\n  cluster: {server: 'https://second.k:6443'}\n"
        "- name: 7\n  cluster: {server: 'https://number.k:6443'}\n"
        "users:\n- name: u\n  user: {token: t0123456789}\n"
        "contexts:\n- name: one\n  context: {cluster: c, user: u}\n"
        "- name: two\n  context: {cluster: '7', user: u}\n"
    )
    one, two = read_contexts(path)
    assert one.server == "https://first.k:6443"
    assert "names cluster '7', which is not in the file" in (two.error or "")  # 7 is no '7'


# -- defect 3: a private key in a CA bundle ---------------------------------------------------
def test_a_certificate_authority_holding_a_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bundle.pem").write_text(CERT + KEY)
    (context,) = read_contexts(
        _config(tmp_path, 1, "{server: 'https://api.k:6443', certificate-authority: bundle.pem}")
    )
    assert not context.usable and context.ca_pem is None and context.payload is None
    assert "private key" in (context.error or "") and "certificate-authority" in (
        context.error or ""
    )
    assert "S0VZ" not in (context.error or "")


def test_certificate_authority_data_holding_a_key_is_refused(tmp_path: Path) -> None:
    import base64

    data = base64.b64encode((CERT + KEY).encode()).decode()
    (context,) = read_contexts(
        _config(
            tmp_path, 1, f"{{server: 'https://api.k:6443', certificate-authority-data: {data}}}"
        )
    )
    assert not context.usable and "private key" in (context.error or "")


def test_the_cluster_model_refuses_a_key_as_its_endpoints_do() -> None:
    with pytest.raises(ValidationError) as cluster_refused:
        Cluster(name="lab", api_server_url="https://api.k:6443", ca_bundle_pem=CERT + KEY)
    with pytest.raises(ValidationError) as endpoint_refused:
        Endpoint(kind="PROMETHEUS", url="https://p.example", ca_bundle_pem=CERT + KEY)
    said = [e["msg"] for e in cluster_refused.value.errors()]
    assert said == [e["msg"] for e in endpoint_refused.value.errors()]
    assert "private key" in said[0]
    assert Cluster(name="lab", api_server_url="https://api.k:6443", ca_bundle_pem=CERT)


def test_the_cli_refuses_a_ca_file_holding_a_key(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(CERT + KEY)
    code, _, err = call_main(
        tmp_path / "home", "clusters", "add", "ca-1", "--api-url", "https://a.example",
        "--ca-file", str(bundle),
    )  # fmt: skip
    assert code == 2 and str(bundle) in err and "private key" in err, err
    assert "S0VZ" not in err


def test_a_stored_cluster_holding_a_key_is_skipped_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A row an older version wrote (the key in its CA bundle) is skipped with a notice that
    names the cluster, never the key; the rest of the clusters are listed."""
    db = Database(tmp_path / "cache.db")
    try:
        repo = ClusterRepository(db)
        kept = Cluster(name="kept", api_server_url="https://kept.k:6443", ca_bundle_pem=CERT)
        old = Cluster(name="older", api_server_url="https://old.k:6443", ca_bundle_pem=CERT)
        repo.save(kept).result()
        repo.save(old).result()
        db.write(
            lambda conn: conn.execute(
                "UPDATE clusters SET doc = json_set(doc, '$.ca_bundle_pem', ?) WHERE name = ?",
                (CERT + KEY, "older"),
            )
        ).result()
        with caplog.at_level(logging.WARNING, logger="aiops.store"):
            assert [c.name for c in repo.list()] == ["kept"]
        (notice,) = repo.damaged()
        assert "'older'" in notice and "S0VZ" not in notice
        assert "S0VZ" not in caplog.text and "'older'" in caplog.text
    finally:
        db.close()


# -- defect 6: exec plugin environment values -------------------------------------------------
def test_only_secret_named_exec_variables_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "_known_secrets", set())  # this test's registrations only
    env = [
        {"name": "AWS_PROFILE", "value": "default"},
        {"name": "AWS_REGION", "value": "us-east-1"},
        {"name": "AWS_SESSION_TOKEN", "value": "FwoGZXIvYXdzEXAMPLESESSION"},
        {"name": "OIDC_CLIENT_SECRET", "value": "oidc-s3cr3t-value"},
    ]
    payload = {
        "users": [{"name": "u", "user": {"exec": {"command": "aws", "env": env}}}],
        "clusters": [{"name": "c", "cluster": {"server": "https://api.k:6443"}}],
    }
    store = SecretStore(MemoryKeyring())
    ref = CredentialRef(kind=CredentialKind.KUBECONFIG_CONTEXT, key="cluster/x/kubeconfig")
    line = "namespace default in us-east-1: FwoGZXIvYXdzEXAMPLESESSION oidc-s3cr3t-value"
    store.put_json(ref, payload)
    assert logs.redact(line) == "namespace default in us-east-1: [REDACTED] [REDACTED]"
    monkeypatch.setattr(logs, "_known_secrets", set())
    assert store.get_json(ref) == payload  # a stored payload read back: the same rule
    assert logs.redact(line) == "namespace default in us-east-1: [REDACTED] [REDACTED]"


#: credential variables whose names have no secret word (a reviewer's list): each is redacted
UNMARKED_CREDENTIALS = (
    "TF_TOKEN_app_terraform_io", "GITHUB_PAT", "KUBE_BEARER", "TELEPORT_IDENTITY",
    "KUBECTL_OIDC_REFRESH", "HUAWEICLOUD_SK", "OCI_CLI_KEY_CONTENT", "STACKIT_SERVICE_ACCOUNT_KEY",
)  # fmt: skip


@pytest.mark.parametrize("name", UNMARKED_CREDENTIALS)
def test_exec_credentials_without_a_secret_word_are_redacted(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "_known_secrets", set())
    value = f"v-{name}-Zz9Q7xK2mW"
    env = [
        {"name": name, "value": value},
        {"name": "AWS_REGION", "value": "us-east-1"},
        {"name": "AWS_PROFILE", "value": "default"},
    ]
    payload = {"users": [{"name": "u", "user": {"exec": {"command": "auth", "env": env}}}]}
    SecretStore(MemoryKeyring()).put_json(
        CredentialRef(kind=CredentialKind.KUBECONFIG_CONTEXT, key="cluster/x/kubeconfig"), payload
    )
    # the value quoted alone (a NAME=value pair is caught by the redactor's patterns as well)
    line = f"exec plugin failed: profile default in us-east-1: credential {value} rejected"
    assert logs.redact(line) == (
        "exec plugin failed: profile default in us-east-1: credential [REDACTED] rejected"
    )


@pytest.mark.parametrize(
    ("name", "value", "redacted"),
    [
        ("AWS_DEFAULT_REGION", "eu-west-2", False),  # a setting's name
        ("GOOGLE_CLOUD_REGION", "europe-west4", False),
        ("OCI_CLI_PROFILE", "prod-admin-01", False),
        ("AZURE_LOG_LEVEL", "verbose", False),
        ("LC_ALL", "en_US.UTF-8", False),
        ("KUBECONFIG", "/home/ann/.kube/config", False),
        ("AWS_STS_REGIONAL_ENDPOINTS", "regional", False),  # a plain word is no secret
        ("AWS_SDK_LOAD_CONFIG", "true", False),
        ("AZURE_ENDPOINT", "https://u:Pa55w0rd@login.example", True),  # a URL may carry one
        ("VSPHERE_PASS", "sunshine", True),  # a secret's name: even a plain word
        ("OKTA_PRIVATE_KEY", "abcdefghijklmnop", True),
        ("ROSA_OFFLINE_TOKEN", "short1", True),
    ],
)
def test_exec_values_are_kept_only_by_a_setting_name_or_a_plain_word(
    name: str, value: str, redacted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "_known_secrets", set())
    payload = {"users": [{"user": {"exec": {"env": [{"name": name, "value": value}]}}}]}
    SecretStore(MemoryKeyring()).put_json(
        CredentialRef(kind=CredentialKind.KUBECONFIG_CONTEXT, key="cluster/x/kubeconfig"), payload
    )
    assert (logs.redact(f"<{value}>") == "<[REDACTED]>") is redacted
