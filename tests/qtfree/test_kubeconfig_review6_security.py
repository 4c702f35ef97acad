"""Sixth review of the kubeconfig import: a file the kubeconfig names outside its own folder
(another tool's credential cache in ``~/.kube``) is read only with the user's say, and a JSON
credential cache is no bearer token; a relative exec command runs from the kubeconfig's folder
as the consent showed it; a refused plugin argument is never quoted (a secret's value); a
kubeconfig Windows PowerShell wrote (UTF-16) is read."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from aiops_desktop.services.clusters.kubeconfig import KubeconfigError, read_contexts
from aiops_desktop.services.core import Core
from collectors.errors import KubeConfigInvalid
from collectors.kube_config import load_api_client

SERVER = "https://api.lab.example.net:6443"
REFRESH = "CiQ-Zq8vN3kL0pXr7Tw2yB5cD9eF1gH4jK6m-refresh"
CACHED = json.dumps(
    {"id_token": "eyJhbGciOi.eyJzdWIi.c2ln", "refresh_token": REFRESH}, separators=(",", ":")
)
TOKEN = "sha256~Qw3rTy7uIoP1aS2dF4gH6jK8lZ0xC9vB"


def _kubeconfig(path: Path, user: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {{server: "{SERVER}"}}
users:
- name: me
  user: {user}
contexts:
- name: lab
  context: {{cluster: lab, user: me}}
""")
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    return home


# -- 1: a file outside the kubeconfig's folder ---------------------------------------------------
def test_a_file_in_kube_named_from_elsewhere_needs_the_users_say(home: Path) -> None:
    cached = home / ".kube" / "tokens" / "lab"
    cached.parent.mkdir(parents=True)
    cached.write_text(TOKEN + "\n")
    path = _kubeconfig(home / "Downloads" / "lab" / "config", '{tokenFile: "~/.kube/tokens/lab"}')
    (ctx,) = read_contexts(path)
    assert ctx.usable and ctx.runs is not None
    assert "outside the kubeconfig's folder" in ctx.runs and repr(str(cached)) in ctx.runs
    assert TOKEN not in ctx.runs  # what it names, never what it holds


def test_a_file_in_the_kubeconfigs_own_folder_needs_no_say(home: Path) -> None:
    (home / ".kube").mkdir()
    (home / ".kube" / "lab-token").write_text(TOKEN + "\n")
    (ctx,) = read_contexts(_kubeconfig(home / ".kube" / "config", "{tokenFile: lab-token}"))
    assert ctx.usable and ctx.runs is None


@pytest.mark.asyncio
async def test_a_file_from_elsewhere_is_imported_only_with_consent(core: Core, home: Path) -> None:
    (home / ".kube").mkdir()
    (home / ".kube" / "lab-token").write_text(TOKEN + "\n")
    path = _kubeconfig(home / "Downloads" / "lab" / "config", '{tokenFile: "~/.kube/lab-token"}')
    await core.registry.load()
    careful = await core.registry.import_kubeconfig(path)
    assert careful.imported == [] and [c for c, _why in careful.skipped] == ["lab"]
    assert "--allow-exec" in careful.skipped[0][1] and TOKEN not in careful.skipped[0][1]
    (ctx,) = read_contexts(path)
    ticked = await core.registry.import_kubeconfig(path, consented={"lab": ctx.runs or ""})
    assert [c.api_server_url for c in ticked.imported] == [SERVER]


@pytest.mark.parametrize("where", ["~/.kube/cache/oidc-login/3f9a1c", "cache"])
def test_a_json_credential_cache_is_no_bearer_token(home: Path, where: str) -> None:
    """kubelogin's cache is one line of JSON without a blank: it passed as a token, and its
    refresh token went to the server the file names."""
    for cache in (home / ".kube" / "cache" / "oidc-login" / "3f9a1c", home / "lab" / "cache"):
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(CACHED + "\n")
    (ctx,) = read_contexts(_kubeconfig(home / "lab" / "config", f'{{tokenFile: "{where}"}}'))
    assert not ctx.usable and ctx.payload is None
    assert "JSON" in (ctx.error or "") and REFRESH not in (ctx.error or "")


def test_an_inline_json_token_is_refused_too(tmp_path: Path) -> None:
    (ctx,) = read_contexts(_kubeconfig(tmp_path / "config", '{token: \'["a","b"]\'}'))
    assert not ctx.usable and "JSON" in (ctx.error or "")


# -- 2: a relative exec command -------------------------------------------------------------------
def _helper(folder: Path, token: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    helper = folder / "helper.py"
    answer = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": token},
    }
    helper.write_text(f"#!{sys.executable}\nprint({json.dumps(answer)!r})\n")
    helper.chmod(0o755)


EXEC = "{exec: {apiVersion: client.authentication.k8s.io/v1, command: ./helper.py}}"


def test_a_relative_exec_command_runs_from_the_kubeconfigs_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    _helper(site, "sha256~consented-helper-Zq8vN3kL0pXr")
    _helper(tmp_path / "elsewhere", "sha256~another-binary-Tw2yB5cD9eF1")
    (ctx,) = read_contexts(_kubeconfig(site / "config", EXEC))
    shown = str(site / "helper.py")
    assert ctx.runs == shown and ctx.exec_command == shown  # what the consent names
    assert ctx.payload is not None
    assert ctx.payload["users"][0]["user"]["exec"]["command"] == shown
    monkeypatch.chdir(tmp_path / "elsewhere")  # where the app happens to be started
    api, _expires = load_api_client(ctx.payload, "lab")
    assert api.configuration.api_key["BearerToken"] == "Bearer sha256~consented-helper-Zq8vN3kL0pXr"


def test_a_bare_exec_command_stays_looked_up_on_path(tmp_path: Path) -> None:
    exec_ = "{exec: {apiVersion: client.authentication.k8s.io/v1, command: kubelogin}}"
    (ctx,) = read_contexts(_kubeconfig(tmp_path / "config", exec_))
    assert ctx.runs == "kubelogin" and ctx.exec_command == "kubelogin"


def test_a_relative_command_stored_before_is_never_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _helper(tmp_path, "sha256~another-binary-Tw2yB5cD9eF1")
    (ctx,) = read_contexts(_kubeconfig(tmp_path / "config", EXEC))
    assert ctx.payload is not None
    ctx.payload["users"][0]["user"]["exec"]["command"] = "./helper.py"  # as stored before
    monkeypatch.chdir(tmp_path)
    with pytest.raises(KubeConfigInvalid, match="relative"):
        load_api_client(ctx.payload, "lab")


# -- 3: a refused argument is not quoted ---------------------------------------------------------
def test_a_refused_exec_argument_is_never_quoted(tmp_path: Path) -> None:
    secret = "Zq8%2Fs3cr3t-VALUE-77"
    exec_ = (
        "{exec: {apiVersion: client.authentication.k8s.io/v1, command: kubelogin, "
        f"args: [get-token, '--oidc-client-secret={secret}']}}}}"
    )
    (ctx,) = read_contexts(_kubeconfig(tmp_path / "config", exec_))
    said = ctx.error or ""
    assert not ctx.usable and "cmd.exe" in said
    assert "s3cr3t" not in said and "'%'" in said and "argument 2" in said


# -- 4: a kubeconfig's encoding -------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
def test_a_kubeconfig_with_a_byte_order_mark_is_read(tmp_path: Path, encoding: str) -> None:
    """Windows PowerShell 5.1's ``kubectl config view --raw > cfg`` writes UTF-16 with a BOM."""
    text = _kubeconfig(tmp_path / "config", f"{{token: {TOKEN}}}").read_text()
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    (tmp_path / "config").write_bytes(bom + text.encode(encoding))
    (ctx,) = read_contexts(tmp_path / "config")
    assert ctx.usable and ctx.server == SERVER


def test_an_undecodable_kubeconfig_says_its_encoding_is_the_problem(tmp_path: Path) -> None:
    path = _kubeconfig(tmp_path / "config", f"{{token: {TOKEN}}}")
    path.write_bytes(path.read_text().replace("lab", "läb").encode("latin-1"))
    with pytest.raises(KubeconfigError, match="UTF-8") as raised:
        read_contexts(path)
    assert "codec" not in str(raised.value)
