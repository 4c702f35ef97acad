"""What the registry does with the keyring entries it wrote when a change no longer needs them
(a removal, a failed add, an endpoint replaced), also while the keyring is unavailable; and
what it never shows of a secret (an exec plugin's arguments, a password in a URL)."""

from __future__ import annotations

import contextlib
import io
import textwrap
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from aiops_desktop.models import AuthMethod, ClusterKind, EndpointKind
from aiops_desktop.models.cluster import validate_http_url
from aiops_desktop.models.credentials import CredentialRef
from aiops_desktop.models.enums import CredentialKind
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.secrets import SecretStore, SecretsUnavailableError
from aiops_desktop.services.clusters import registry as registry_module
from aiops_desktop.services.clusters.kubeconfig import read_contexts
from aiops_desktop.services.clusters.registry import CredentialsNotDeletedError, RegistryError
from aiops_desktop.services.core import Core

PROM = EndpointKind.PROMETHEUS
TOKEN = "tok-5f1c-left-behind"
ENDPOINT_TOKEN = "prom-tok-9a7e-own"


def keyring_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Secret Service is locked or gone: every delete says so."""

    def refuse(self: SecretStore, ref: CredentialRef) -> bool:
        raise SecretsUnavailableError("Failed to unlock the collection")

    monkeypatch.setattr(SecretStore, "delete", refuse)


def records(core: Core) -> list[str]:
    return [str(r[0]) for r in core.db.fetch_all("SELECT key FROM credential_keys")]


# -- 1. a removal while the keyring is unavailable -------------------------------------------
@pytest.mark.asyncio
async def test_a_removal_while_the_keyring_is_down_says_so_and_the_sweep_deletes_it_later(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    await core.registry.load()
    cluster = await core.registry.add(
        ClusterSpec(name="prod-1", api_server_url="https://api.prod-1:6443"),
        ClusterSecrets(token=TOKEN),
    )
    ref = cluster.credential
    assert ref is not None
    with monkeypatch.context() as down:
        keyring_down(down)
        with pytest.raises(CredentialsNotDeletedError, match="could not be deleted") as caught:
            await core.registry.remove("prod-1")
        assert caught.value.cluster.name == "prod-1" and caught.value.kept == [ref]
        assert "removed" in str(caught.value) and TOKEN not in str(caught.value)
        assert [c.name for c in core.registry.clusters()] == []  # the cluster is gone
        assert records(core) == [ref.key]  # its entry is still known, for the sweep
        assert await core.registry.sweep_orphans() == 0  # still down: kept again
        assert records(core) == [ref.key]
    monkeypatch.setattr(registry_module, "ORPHAN_GRACE", timedelta(seconds=-60))
    assert core.secrets.get(ref) == TOKEN
    assert await core.registry.sweep_orphans() == 1  # the keyring is back
    assert core.secrets.get(ref) is None and records(core) == []


@pytest.mark.asyncio
async def test_a_sweep_while_the_keyring_is_down_keeps_what_it_could_not_delete(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    await core.registry.load()
    ref = CredentialRef(kind=CredentialKind.BEARER_TOKEN, key=f"cluster/{uuid4()}/api")
    assert core.registry._keys is not None
    core.registry._keys.record([ref], uuid4()).result()  # a crash after record and put
    core.secrets.put(ref, TOKEN)
    monkeypatch.setattr(registry_module, "ORPHAN_GRACE", timedelta(seconds=-60))
    with monkeypatch.context() as down:
        keyring_down(down)
        assert await core.registry.sweep_orphans() == 0
    assert records(core) == [ref.key]
    assert await core.registry.sweep_orphans() == 1
    assert core.secrets.get(ref) is None and records(core) == []


@pytest.mark.asyncio
async def test_a_failed_add_whose_undo_cannot_delete_keeps_the_record(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(cluster):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    await core.registry.load()
    with monkeypatch.context() as down:
        down.setattr(core.registry._repo, "save", refuse)
        keyring_down(down)
        with pytest.raises(OSError, match="disk full"):
            await core.registry.add(
                ClusterSpec(name="undo-2", endpoint_urls={PROM: "https://p.example"}),
                ClusterSecrets(token=TOKEN),
            )
    (key,) = records(core)  # written, not deleted: the sweep's to finish
    monkeypatch.setattr(registry_module, "ORPHAN_GRACE", timedelta(seconds=-60))
    assert await core.registry.sweep_orphans() == 1
    ref = CredentialRef(kind=CredentialKind.BEARER_TOKEN, key=key)
    assert core.secrets.get(ref) is None and records(core) == []


def test_clusters_remove_says_when_a_credential_stays_in_the_keyring(
    tmp_path: Path,
    secret_service,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aiops_desktop.cli import main

    home = tmp_path / "home"

    def cli(*args: str, stdin: str = "") -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(["--data-dir", str(home), *args], stdin=io.StringIO(stdin), out=out)
        return code, out.getvalue(), err.getvalue()

    code, _, err = cli(
        "clusters", "add", "prod-1", "--api-url", "https://api.prod-1:6443", "--token-stdin",
        stdin=TOKEN,
    )  # fmt: skip
    assert code == 0, err
    keyring_down(monkeypatch)
    code, out, err = cli("clusters", "remove", "prod-1")
    assert code == 3, err  # partial: removed, one credential left for a later sweep
    assert "removed prod-1" in out and "and its credentials" not in out
    assert "could not be deleted from the OS keyring" in err and TOKEN not in out + err


# -- 2. an exec plugin's secret arguments ----------------------------------------------------
KUBECONFIG = textwrap.dedent(
    """\
    apiVersion: v1
    kind: Config
    clusters:
    - name: corp
      cluster: {server: "https://api.corp.example:6443"}
    contexts:
    - name: corp-oidc
      context: {cluster: corp, user: oidc}
    users:
    - name: oidc
      user:
        exec:
          apiVersion: client.authentication.k8s.io/v1beta1
          command: kubectl
          args: [oidc-login, get-token, --oidc-issuer-url=https://sso.corp.example,
                 --oidc-client-id=kube, --oidc-client-secret=SECRET_A, --token, SECRET_B,
                 --api-key=SECRET_C, --password, SECRET_D, -v, '1']
    """
)


def write(folder: Path, **values: str) -> Path:
    text = KUBECONFIG
    for name, value in values.items():
        text = text.replace(name, value)
    folder.mkdir(exist_ok=True)
    (folder / "config").write_text(text)
    return folder / "config"


def test_what_an_exec_plugin_runs_is_shown_without_its_secret_arguments(tmp_path: Path) -> None:
    values = {"SECRET_A": "Zx9-client-secret", "SECRET_B": "tok-b-4711", "SECRET_C": "ak-c-0815",
              "SECRET_D": "pw-d-1234"}  # fmt: skip
    (ctx,) = read_contexts(write(tmp_path / "a", **values))
    shown = ctx.runs or ""
    for value in values.values():
        assert value not in shown
    assert shown.startswith("kubectl oidc-login get-token --oidc-issuer-url=https://sso.corp.")
    assert "--oidc-client-id=kube" in shown and "-v 1" in shown  # the rest, as it is
    assert "--oidc-client-secret=" in shown and "--token " in shown and "--api-key=" in shown
    # what is shown still binds to the exact command: another secret shows otherwise
    (other,) = read_contexts(write(tmp_path / "b", **{**values, "SECRET_A": "another-one"}))
    assert other.runs != ctx.runs


@pytest.mark.asyncio
async def test_an_import_message_hides_the_secret_and_consent_binds_the_exact_command(
    core: Core, tmp_path: Path
) -> None:
    await core.registry.load()
    path = write(tmp_path, SECRET_A="Zx9-client-secret")
    report = await core.registry.import_kubeconfig(path)
    ((_, why),) = report.skipped
    assert "Zx9-client-secret" not in why and "--oidc-client-secret=" in why
    (shown,) = await core.registry.preview_kubeconfig(path)
    assert shown.runs and "Zx9-client-secret" not in shown.runs
    consent = {"corp-oidc": shown.runs}
    write(tmp_path, SECRET_A="Zx9-swapped-after")  # the file changed after the preview
    changed = await core.registry.import_kubeconfig(path, consented=consent)
    assert changed.imported == [] and len(changed.skipped) == 1
    write(tmp_path, SECRET_A="Zx9-client-secret")
    ticked = await core.registry.import_kubeconfig(path, consented=consent)
    assert [c.name for c in ticked.imported] == ["corp-oidc"]


# -- 3. a password in a URL ------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "htps://admin:Hunter2-pw@prom.example",
        "https://admin:Hunter2-pw@",
        "admin:Hunter2-pw@prom.example",
        "https://admin:Hunter2-pw/x@prom.example",
        "https://admin:Hunter2-pw@prom.example:99999",
    ],
)
def test_no_message_of_the_url_check_echoes_a_password(url: str) -> None:
    for require_https in (True, False):
        with pytest.raises(ValueError) as caught:
            validate_http_url(url, require_https=require_https, what="endpoint URL")
        assert "Hunter2" not in str(caught.value)


@pytest.mark.asyncio
async def test_a_mistyped_url_with_a_password_is_refused_without_it(core: Core) -> None:
    await core.registry.load()
    for spec in (
        ClusterSpec(name="lab-1", endpoint_urls={PROM: "htps://admin:Hunter2-pw@prom.example"}),
        ClusterSpec(name="lab-2", api_server_url="http://admin:Hunter2-pw@api:6443"),
    ):
        with pytest.raises(RegistryError) as caught:
            await core.registry.add(spec)
        assert "Hunter2" not in str(caught.value)


# -- 4. a fleet hub's token --------------------------------------------------------------------
@pytest.mark.asyncio
async def test_without_an_api_server_the_token_given_is_the_endpoints(core: Core) -> None:
    await core.registry.load()
    hub = await core.registry.add(
        ClusterSpec(name="acm-hub", kind=ClusterKind.FLEET,
                    endpoint_urls={PROM: "https://thanos.hub.example"}),
        ClusterSecrets(token=TOKEN),
    )  # fmt: skip
    prom = hub.endpoint(PROM)
    assert prom is not None and prom.auth is AuthMethod.BEARER
    assert prom.credential is not None and prom.credential == hub.credential
    assert core.secrets.get(prom.credential) == TOKEN
    # with an API server the token is the API server's, and an endpoint's only when asked
    spoke = await core.registry.add(
        ClusterSpec(name="spoke-1", api_server_url="https://api.spoke-1:6443",
                    endpoint_urls={PROM: "https://thanos.spoke-1.example"}),
        ClusterSecrets(token=TOKEN),
    )  # fmt: skip
    assert spoke.endpoint(PROM).auth is AuthMethod.NONE  # type: ignore[union-attr]


def test_the_cli_fleet_hub_example_sends_its_token(
    tmp_path: Path,
    secret_service,  # type: ignore[no-untyped-def]
) -> None:
    import json

    from aiops_desktop.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(
            ["--data-dir", str(tmp_path / "home"), "clusters", "add", "acm-hub", "--kind",
             "fleet", "--type", "hub", "--prometheus-url", "https://thanos.hub.example",
             "--token-stdin", "--json"],
            stdin=io.StringIO(TOKEN + "\n"), out=out,
        )  # fmt: skip
    assert code == 0, err.getvalue()
    doc = json.loads(out.getvalue())
    (prom,) = doc["endpoints"]
    assert prom["auth"] == "BEARER" and prom["credential"] == doc["credential"]


# -- 5. set-endpoint and the endpoint's own token ----------------------------------------------
async def _with_endpoint_token(core: Core) -> CredentialRef:
    await core.registry.load()
    cluster = await core.registry.add(
        ClusterSpec(name="ran-east", api_server_url="https://api.ran-east:6443",
                    endpoint_urls={PROM: "https://thanos.ran-east.example"}),
        ClusterSecrets(token=TOKEN, endpoint_tokens={PROM: ENDPOINT_TOKEN}),
    )  # fmt: skip
    ref = cluster.endpoint(PROM).credential  # type: ignore[union-attr]
    assert ref is not None and core.secrets.get(ref) == ENDPOINT_TOKEN
    return ref


@pytest.mark.asyncio
async def test_set_endpoint_keeps_the_own_token_of_a_moved_endpoint_and_deletes_a_dropped_one(
    core: Core,
) -> None:
    ref = await _with_endpoint_token(core)
    moved = await core.registry.set_endpoint("ran-east", PROM, "https://thanos2.ran-east.example")
    prom = moved.endpoint(PROM)
    assert prom is not None and prom.url == "https://thanos2.ran-east.example"
    assert prom.auth is AuthMethod.BEARER and prom.credential == ref
    assert core.secrets.get(ref) == ENDPOINT_TOKEN
    forwarded = await core.registry.set_endpoint("ran-east", PROM, "http://127.0.0.1:9090")
    assert forwarded.endpoint(PROM).credential == ref  # type: ignore[union-attr]  # loopback
    with pytest.raises(RegistryError, match="plain http") as caught:  # never in clear
        await core.registry.set_endpoint("ran-east", PROM, "http://thanos.ran-east.example")
    assert ENDPOINT_TOKEN not in str(caught.value)
    assert core.registry.get("ran-east").endpoint(PROM).url == "http://127.0.0.1:9090"  # type: ignore[union-attr]
    removed = await core.registry.set_endpoint("ran-east", PROM, None)
    assert removed.endpoint(PROM) is None
    assert core.secrets.get(ref) is None and ref.key not in records(core)
    assert removed.credential is not None and core.secrets.get(removed.credential) == TOKEN


@pytest.mark.asyncio
async def test_set_endpoint_to_the_cluster_token_deletes_the_own_one(core: Core) -> None:
    ref = await _with_endpoint_token(core)
    shared = await core.registry.set_endpoint(
        "ran-east", PROM, "https://thanos.ran-east.example", use_cluster_token=True
    )
    assert shared.endpoint(PROM).credential == shared.credential  # type: ignore[union-attr]
    assert core.secrets.get(ref) is None and ref.key not in records(core)
    assert core.secrets.get(shared.credential) == TOKEN  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_set_endpoint_while_the_keyring_is_down_leaves_the_dropped_token_to_the_sweep(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = await _with_endpoint_token(core)
    with monkeypatch.context() as down:
        keyring_down(down)
        with pytest.raises(CredentialsNotDeletedError, match="could not be deleted"):
            await core.registry.set_endpoint("ran-east", PROM, None)
    assert core.registry.get("ran-east").endpoint(PROM) is None  # the change itself is made
    monkeypatch.setattr(registry_module, "ORPHAN_GRACE", timedelta(seconds=-60))
    assert await core.registry.sweep_orphans() == 1
    assert core.secrets.get(ref) is None and ref.key not in records(core)
    cluster = core.registry.get("ran-east")  # the cluster's own credential is untouched
    assert cluster.credential is not None and core.secrets.get(cluster.credential) == TOKEN
