"""Reading every context of a kubeconfig, with precise reasons for the ones that fail."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from aiops_desktop.services.clusters.kubeconfig import (
    KubeconfigError,
    bearer_token,
    cluster_name_for,
    read_contexts,
)
from tests.qtfree.kubeconfigs import CA_PEM, TOKEN, write_kubeconfig


def test_every_context_is_read_with_its_auth(tmp_path: Path) -> None:
    contexts = {c.context: c for c in read_contexts(write_kubeconfig(tmp_path))}
    assert len(contexts) == 5
    tok = contexts["default/api-ocp-prod-example-com:6443/kube:admin"]
    assert tok.usable and tok.auth == "token" and tok.ca_pem == CA_PEM
    assert tok.cluster_name == "default-api-ocp-prod-example-com-6443-kube-admin"
    assert tok.server == "https://api.ocp-prod.example.com:6443"
    assert bearer_token(tok.payload) == TOKEN
    assert tok.payload and tok.payload["current-context"] == tok.context

    cert = contexts["admin"]
    assert cert.auth == "client-certificate"
    user = cert.payload["users"][0]["user"]  # type: ignore[index]
    assert "client-key" not in user  # the file reference was inlined
    assert base64.b64decode(user["client-key-data"]).startswith(b"-----BEGIN EC PRIVATE KEY")

    oidc = contexts["lab-oidc"]
    assert oidc.auth == "exec" and oidc.exec_command == "oc"
    assert oidc.insecure_skip_tls_verify
    assert any("will NOT be verified" in w for w in oidc.warnings)

    assert "names user 'nobody'" in (contexts["broken-user"].error or "")
    assert "is not an https URL" in (contexts["insecure-http"].error or "")


def test_missing_referenced_file_is_reported_for_that_context(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path)
    (tmp_path / "certs" / "admin.key").unlink()
    contexts = {c.context: c for c in read_contexts(path)}
    assert "client-key file" in (contexts["admin"].error or "")
    assert contexts["lab-oidc"].usable


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("clusters: [\n  - broken", "not valid YAML at line"),
        ("just a string", "no 'contexts' list"),
        ("contexts: []", "has no contexts"),
    ],
)
def test_unusable_files_give_precise_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config"
    path.write_text(content)
    with pytest.raises(KubeconfigError, match=message):
        read_contexts(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="does not exist"):
        read_contexts(tmp_path / "nope")


@pytest.mark.parametrize(
    ("context", "name"),
    [("admin@Prod_Cluster", "admin-prod-cluster"), ("x", "x-ctx"), ("a" * 80, "a" * 63)],
)
def test_cluster_names_from_contexts(context: str, name: str) -> None:
    assert cluster_name_for(context) == name


# -- a kubeconfig is hostile until checked (issue 14, item 6) --------------------------------

ALIAS_BOMB = """\
a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
contexts: [*i]
"""


def _ctx_doc(n: int) -> str:
    contexts = "".join(f"  - name: c{i}\n    context: {{cluster: k, user: u}}\n" for i in range(n))
    return (
        "clusters:\n  - name: k\n    cluster: {server: 'https://api.k:6443'}\n"
        "users:\n  - name: u\n    user: {token: t}\n"
        f"contexts:\n{contexts}"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (ALIAS_BOMB, "uses YAML aliases"),  # 600 bytes that would expand into gigabytes
        ("contexts: " + "[" * 5000 + "]" * 5000, "nests deeper than 32 levels"),
        ("contexts: " + "{a: " * 100 + "1" + "}" * 100, "nests deeper than 32 levels"),
        (_ctx_doc(501), "501 contexts; at most 500"),
        ("contexts: 7", "no 'contexts' list"),
        ("- a\n- b", "no 'contexts' list"),
        ("\udcff", "cannot be read"),
    ],
)
def test_a_crafted_kubeconfig_is_refused_with_a_reason(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "config"
    path.write_bytes(content.encode("utf-8", errors="surrogateescape"))
    with pytest.raises(KubeconfigError, match=message):
        read_contexts(path)


def test_a_kubeconfig_that_is_not_a_regular_file_or_too_big(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="not a regular file"):
        read_contexts("/dev/zero")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(KubeconfigError, match="not a regular file"):
        read_contexts(fifo)  # opened without blocking, never read
    big = tmp_path / "big"
    big.write_bytes(b"# " + b"x" * 2**20)
    with pytest.raises(KubeconfigError, match="larger than 1,048,576 bytes"):
        read_contexts(big)


@pytest.mark.parametrize(
    ("user", "reason"),
    [
        ("{tokenFile: /dev/zero}", "outside the kubeconfig's folder"),
        ("{tokenFile: ~/.git-credentials}", "outside the kubeconfig's folder"),
        ("{tokenFile: config}", "does not hold a bearer token"),  # the file itself: YAML
        ("{tokenFile: [1, 2]}", "tokenFile is not a file name"),
        ("{client-certificate: /dev/urandom, client-key: k}", "outside the kubeconfig's folder"),
        ("{auth-provider: {name: oidc, config: [1]}}", "config is not a mapping"),
        ("{exec: {command: sh, args: oops}}", "args or env is not a list"),
        ("{exec: oc}", "'exec' is not a mapping"),
        ("{auth-provider: [x]}", "'auth-provider' is not a mapping"),
        ("[not, a, mapping]", ""),
    ],
)
def test_a_crafted_user_spoils_only_its_own_context(tmp_path: Path, user: str, reason: str) -> None:
    path = tmp_path / "config"
    path.write_text(
        "clusters:\n  - name: k\n    cluster: {server: 'https://api.k:6443'}\n"
        f"users:\n  - name: bad\n    user: {user}\n  - name: good\n    user: {{token: t}}\n"
        "contexts:\n"
        "  - name: evil\n    context: {cluster: k, user: bad}\n"
        "  - name: fine\n    context: {cluster: k, user: good}\n"
    )
    contexts = {c.context: c for c in read_contexts(path)}
    assert contexts["fine"].usable
    evil = contexts["evil"]
    if reason:
        assert not evil.usable and reason in (evil.error or ""), evil.error
    else:  # a user that is not a mapping reads as no user at all: anonymous, and said so
        assert evil.auth == "none" and any("anonymous" in w for w in evil.warnings)


@pytest.mark.parametrize(
    "doc",
    [
        "clusters: {a: 1}\ncontexts:\n  - name: x\n    context: {cluster: k}\n",
        "clusters: []\ncontexts:\n  - name: x\n    context: [1]\n",
        "clusters: []\ncontexts:\n  - 17\n  - name: [1]\n  - {name: y, context: {cluster: [1]}}\n",
        "clusters:\n  - name: k\n    cluster: {server: 7}\ncontexts:\n"
        "  - {name: z, context: {cluster: k}}\n",
        "clusters:\n  - name: k\n"
        "    cluster: {server: 'https://k', certificate-authority-data: 5}\n"
        "contexts:\n  - {name: z, context: {cluster: k}}\n",
    ],
)
def test_fields_of_the_wrong_type_are_reasons_not_tracebacks(tmp_path: Path, doc: str) -> None:
    path = tmp_path / "config"
    path.write_text(doc)
    contexts = read_contexts(path)
    assert contexts and all(not c.usable and c.error for c in contexts)


def test_a_kubeconfig_from_elsewhere_is_shown_in_full_and_reads_only_its_own_files(
    tmp_path: Path,
) -> None:
    """What a context runs (the whole command line), the files it read, and no file outside
    its folder (a link out of it included); a server URL's password is never shown, and an
    unquoted timestamp stays text."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "creds").write_text("https://alice:ghp_Secret123@github.com\n")
    folder = tmp_path / "given"
    folder.mkdir()
    (folder / "token").write_text("sha256~Zk9TZXN0VG9rZW4\n")
    (folder / "link").symlink_to(tmp_path / "outside" / "creds")
    path = folder / "config"
    path.write_text(
        "clusters:\n  - name: k\n    cluster: {server: 'https://api.k:6443'}\n"
        "  - name: pw\n    cluster: {server: 'https://admin:Pa55w0rd@api.pw:6443'}\n"
        "users:\n"
        "  - name: runner\n    user:\n      exec:\n        command: sh\n"
        "        args: ['-c', 'id; echo {}']\n"
        "        env: [{name: HOOK, value: v}]\n"
        "  - name: oidc\n    user:\n      auth-provider:\n        name: oidc\n"
        "        config: {idp-issuer-url: 'https://idp.example', expiry: 2024-05-01T10:00:00Z}\n"
        "  - name: filed\n    user: {tokenFile: token}\n"
        "  - name: linked\n    user: {tokenFile: link}\n"
        "contexts:\n"
        "  - name: runs\n    context: {cluster: k, user: runner}\n"
        "  - name: asks\n    context: {cluster: k, user: oidc}\n"
        "  - name: filed\n    context: {cluster: k, user: filed}\n"
        "  - name: linked\n    context: {cluster: k, user: linked}\n"
        "  - name: pw\n    context: {cluster: pw, user: filed}\n"
    )
    contexts = {c.context: c for c in read_contexts(path)}
    assert contexts["runs"].runs == "sh -c 'id; echo {}' (environment: HOOK=v)"
    assert contexts["asks"].runs == "auth-provider oidc: idp-issuer-url https://idp.example"
    assert contexts["asks"].usable  # the timestamp is text, stored as JSON
    assert contexts["filed"].runs is None and contexts["filed"].files == [
        f"tokenFile {folder / 'token'}"
    ]
    assert "outside the kubeconfig's folder" in (contexts["linked"].error or "")
    said = contexts["pw"].error or ""
    assert "user name or password" in said and "Pa55w0rd" not in said


def test_a_kubeconfig_in_the_home_folder_reads_none_of_its_neighbours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its own folder is no root when it is the home folder (``~/.vault-token`` was read as
    a tokenFile and sent), nor are hidden files below its folder."""
    home = tmp_path / "home"
    (home / "project" / ".secrets").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    (home / ".vault-token").write_text("hvs.CAESIJ0secretvaulttoken\n")
    (home / "project" / ".secrets" / "t").write_text("hvs.CAESIJ0secretvaulttoken\n")
    (home / "project" / "token").write_text("sha256~Zk9TZXN0VG9rZW4\n")
    config = (
        "clusters:\n  - name: k\n    cluster: {server: 'https://api.k:6443'}\n"
        "users:\n  - name: u\n    user: {tokenFile: %s}\n"
        "contexts:\n  - name: c\n    context: {cluster: k, user: u}\n"
    )
    (home / "cluster.yaml").write_text(config % ".vault-token")
    (home / "project" / "hidden.yaml").write_text(config % ".secrets/t")
    (home / "project" / "fine.yaml").write_text(config % "token")
    for path in (home / "cluster.yaml", home / "project" / "hidden.yaml"):
        (ctx,) = read_contexts(path)
        assert "outside the kubeconfig's folder" in (ctx.error or ""), path
    (ctx,) = read_contexts(home / "project" / "fine.yaml")
    assert ctx.usable and ctx.files == [f"tokenFile {home / 'project' / 'token'}"]


@pytest.mark.parametrize(
    "server",
    ["https://api.lab.example.com :6443", "https://api.lab.example.com:6443\t",
     "https://api.lab.example.com:6443?access_token=sha256~Zq8vN3kL0pXr7Tw2yB5cD9eF1gH4jK6m"],
)  # fmt: skip
def test_a_server_with_a_blank_or_a_query_is_refused_as_typed_ones_are(
    tmp_path: Path, server: str
) -> None:
    """A kubeconfig's server is a URL a person gives, as one typed in Add cluster: a stray
    blank (every poll then failed on a host no one typed) or a query (listed and exported
    with captures) makes the context unusable, with why, and never echoes the query."""
    path = tmp_path / "config"
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: lab\n  cluster:\n    server: {json.dumps(server)}\n"
        "users:\n- name: me\n  user:\n    token: sha256~Qw3rTy7uIoP1aS2dF4gH6jK8lZ0xC9vB\n"
        "contexts:\n- name: lab\n  context:\n    cluster: lab\n    user: me\n"
    )
    (ctx,) = read_contexts(path)
    assert not ctx.usable and ctx.server is None
    assert "blank or a control character" in (ctx.error or "") or "query" in (ctx.error or "")
    assert "access_token" not in (ctx.error or "") and "sha256~" not in (ctx.error or "")
