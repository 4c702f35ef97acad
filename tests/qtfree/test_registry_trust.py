"""Registry and files as an attacker or a crash would test them: a kill -9 inside `clusters
add` leaves no orphaned keyring secret behind (it is swept); no password rides in a URL; no
credential is sent over plain http off this machine; what the app writes is its owner's
alone; and an output never overwrites the cache."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.credentials import CredentialRef
from aiops_desktop.models.enums import CredentialKind
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.clusters.registry import RegistryError
from aiops_desktop.services.core import Core
from aiops_desktop.settings import resolve_paths
from tests.qtfree.cli_runner import run_cli

TOKEN = "tok-8d2e-killed-midway"
PROM = EndpointKind.PROMETHEUS

KILLED_ADD = textwrap.dedent(
    """
    import os, signal, sys
    from aiops_desktop.store.clusters import ClusterRepository

    def killed(self, cluster):  # the kill lands after the keyring write, before the commit
        os.kill(os.getpid(), signal.SIGKILL)

    ClusterRepository.save = killed
    from aiops_desktop.__main__ import main

    sys.argv = ["aiops-desktop", "--data-dir", sys.argv[1], "clusters", "add", "halfway",
                "--prometheus-url", "https://prom.example", "--token-stdin"]
    main()
    """
)


def test_a_kill_inside_clusters_add_leaves_no_orphaned_secret(
    tmp_path: Path,
    secret_service,  # type: ignore[no-untyped-def]
) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": secret_service.address}
    child = subprocess.run(
        [sys.executable, "-c", KILLED_ADD, str(home)],
        input=TOKEN, text=True, env=env, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert child.returncode == -9, child.stderr
    db = resolve_paths(home).db_path
    with sqlite3.connect(db) as conn:
        keys = conn.execute("SELECT service, key FROM credential_keys").fetchall()
        assert conn.execute("SELECT count(*) FROM clusters").fetchone()[0] == 0
    assert len(keys) == 1
    store = SecretStore(secret_service.backend())
    ref = CredentialRef(kind=CredentialKind.BEARER_TOKEN, service=keys[0][0], key=keys[0][1])
    assert store.get(ref) == TOKEN  # the secret the kill left behind

    done = run_cli(home, env, "clusters", "add", "next-0", "--prometheus-url", "https://p.example")
    assert done.returncode == 0, done.stderr
    assert store.get(ref) == TOKEN  # within its grace it may be a cluster being added now
    with sqlite3.connect(db) as conn:  # two minutes later
        conn.execute("UPDATE credential_keys SET written_at = '2026-01-01T00:00:00+00:00'")
    done = run_cli(home, env, "clusters", "add", "next-1", "--prometheus-url", "https://p.example")
    assert done.returncode == 0, done.stderr
    assert store.get(ref) is None  # swept by the next change of the registry
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM credential_keys").fetchone()[0] == 0


@pytest.mark.asyncio
async def test_a_failed_save_undoes_the_keyring_write(core: Core) -> None:
    def refuse(cluster):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    saved = core.registry._repo.save
    core.registry._repo.save = refuse  # type: ignore[method-assign]
    try:
        with pytest.raises(OSError, match="disk full"):
            await core.registry.add(
                ClusterSpec(name="undo-1", endpoint_urls={PROM: "https://p.example"}),
                ClusterSecrets(token=TOKEN),
            )
    finally:
        core.registry._repo.save = saved  # type: ignore[method-assign]
    assert await core.registry.sweep_orphans() == 0  # nothing was left to sweep
    assert core.registry._keys is not None and core.registry._keys.unowned() == []


@pytest.mark.asyncio
async def test_no_password_in_a_url_and_no_credential_in_clear(core: Core) -> None:
    with pytest.raises(RegistryError, match="credentials go to the OS keyring") as caught:
        await core.registry.add(
            ClusterSpec(name="userinfo-1", endpoint_urls={PROM: "https://admin:hunter2@p:9090"})
        )
    assert "hunter2" not in str(caught.value)
    with pytest.raises(RegistryError, match="over plain http to another machine"):
        await core.registry.add(  # was: stored, then refused at every request
            ClusterSpec(name="plain-1", endpoint_urls={PROM: "http://prom.example:9090"}),
            ClusterSecrets(endpoint_tokens={PROM: TOKEN}),
        )
    assert [c.name for c in core.registry.clusters()] == []
    await core.registry.add(  # without its token, it is another cluster's plain endpoint
        ClusterSpec(name="plain-1", endpoint_urls={PROM: "http://prom.example:9090"})
    )
    assert await core.pool.prometheus(core.registry.get("plain-1"))
    await core.registry.add(  # this machine itself (a port-forward) may take it
        ClusterSpec(name="forward-1", endpoint_urls={PROM: "http://127.0.0.1:9"}),
        ClusterSecrets(endpoint_tokens={PROM: TOKEN}),
    )
    assert await core.pool.prometheus(core.registry.get("forward-1"))


def test_what_the_app_writes_is_its_owners_alone(
    tmp_path: Path,
    secret_service,  # type: ignore[no-untyped-def]
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o755)  # a folder someone made loosely: kept so, its contents the owner's
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": secret_service.address}
    assert (
        run_cli(home, env, "clusters", "add", "own-1", "--prometheus-url", "https://p.x").returncode
        == 0
    )
    out = tmp_path / "site.aiops"
    assert run_cli(home, env, "capture", "export", "--clusters", "own-1", "--since", "1h",
                   "--out", str(out)).returncode == 3  # fmt: skip  # written; no samples (3)
    paths = resolve_paths(home)
    assert stat.S_IMODE(home.stat().st_mode) == 0o755  # not the app's to change
    for folder in (paths.log_dir, paths.reports_dir):  # made by the app
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for file in (paths.db_path, paths.log_file, out):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_an_output_never_overwrites_the_cache(
    tmp_path: Path,
    secret_service,  # type: ignore[no-untyped-def]
) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": secret_service.address}
    for name in ("east-1", "west-2"):
        run_cli(home, env, "clusters", "add", name, "--prometheus-url", "https://p.x")
    paths = resolve_paths(home)
    before = paths.db_path.stat().st_size
    cases = {
        str(paths.db_path): "one of the app's own files",
        f"{paths.db_path}-wal": "one of the app's own files",
        str(paths.settings_file): "one of the app's own files",
        str(tmp_path): "is a folder",
        str(tmp_path / "no" / "such" / "x.aiops"): "does not exist",
        "/dev/null": "not a regular file",
    }
    for target, said in cases.items():
        done = run_cli(home, env, "capture", "export", "--clusters", "east-1", "--out", target)
        assert done.returncode == 2 and said in done.stderr, (target, done.stderr)
        assert "Traceback" not in done.stderr
    report = run_cli(home, env, "report", "--out", str(paths.settings_file.with_suffix(".json")))
    assert report.returncode == 2 and "one of the app's own files" in report.stderr
    listed = run_cli(home, env, "clusters", "list")
    assert "east-1" in listed.stdout and "west-2" in listed.stdout
    assert paths.db_path.stat().st_size >= before


@pytest.mark.asyncio
async def test_a_kubeconfig_import_is_one_step(core: Core, tmp_path: Path) -> None:
    from tests.qtfree.kubeconfigs import write_kubeconfig

    writes = 0
    put_json = core.secrets.put_json

    def keyring_fails_on_the_second(ref, value):  # type: ignore[no-untyped-def]
        nonlocal writes
        writes += 1
        if writes == 2:
            raise OSError("the keyring went away")
        put_json(ref, value)

    core.secrets.put_json = keyring_fails_on_the_second  # type: ignore[method-assign]
    try:
        with pytest.raises(OSError, match="keyring went away"):
            await core.registry.import_kubeconfig(write_kubeconfig(tmp_path))
    finally:
        core.secrets.put_json = put_json  # type: ignore[method-assign]
    assert writes == 2
    assert core.registry.clusters() == []  # the first context was taken back
    assert await core.registry.load() == []
    assert core.registry._keys is not None and core.registry._keys.unowned() == []
    report = await core.registry.import_kubeconfig(write_kubeconfig(tmp_path), allow_exec=True)
    assert len(report.imported) == 3  # and a second try lands whole
