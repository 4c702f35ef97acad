"""Two processes sharing one cache (the window and the CLI): a name the other one registered
since this one read the cache is refused as a duplicate (not a raw sqlite3 error, and no
secret left in the keyring), and a kubeconfig import takes a free name instead of failing
and taking back every context it had already registered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from aiops_desktop.models import CredentialRef, utcnow
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.clusters.registry import DuplicateClusterError
from aiops_desktop.services.core import Core
from aiops_desktop.settings import resolve_paths
from tests.qtfree.kubeconfigs import TOKEN, write_kubeconfig

API = "https://api.prod-1.example:6443"


@pytest_asyncio.fixture
async def cli(tmp_path: Path, secret_service) -> AsyncIterator[Core]:  # type: ignore[no-untyped-def]
    """A second process over the same cache and keyring as ``core``."""
    opened = Core.open(
        resolve_paths(tmp_path / "home"), secrets=SecretStore(secret_service.backend())
    )
    yield opened
    await opened.shutdown()


def _spy_puts(core: Core) -> list[CredentialRef]:
    """The keyring entries ``core`` writes."""
    written: list[CredentialRef] = []
    secrets: Any = core.secrets
    put, put_json = secrets.put, secrets.put_json

    def spy_put(ref: CredentialRef, value: str) -> None:
        written.append(ref)
        put(ref, value)

    def spy_put_json(ref: CredentialRef, value: dict[str, Any]) -> None:
        written.append(ref)
        put_json(ref, value)

    secrets.put, secrets.put_json = spy_put, spy_put_json
    return written


@pytest.mark.asyncio
async def test_a_name_another_process_just_registered_is_a_duplicate(core: Core, cli: Core) -> None:
    await core.registry.load()  # the window read the cache before the CLI's add
    await cli.registry.add(ClusterSpec(name="prod-1", api_server_url=API))
    written = _spy_puts(core)
    with pytest.raises(DuplicateClusterError, match="'prod-1' is already registered"):
        await core.registry.add(
            ClusterSpec(name="prod-1", api_server_url=API), ClusterSecrets(token=TOKEN)
        )
    assert len(written) == 1 and core.secrets.get(written[0]) is None  # deleted again
    assert core.registry._keys is not None  # and no record of it left for the sweep
    assert core.registry._keys.unowned(utcnow() + timedelta(days=1)) == []
    assert [c.name for c in core.registry.clusters()] == []


@pytest.mark.asyncio
async def test_an_import_takes_a_free_name_when_another_process_took_one(
    core: Core, cli: Core, tmp_path: Path
) -> None:
    await core.registry.load()
    await cli.registry.add(ClusterSpec(name="admin", api_server_url=API))
    report = await core.registry.import_kubeconfig(write_kubeconfig(tmp_path))
    names = sorted(c.name for c in report.imported)
    assert names == ["admin-2", "default-api-ocp-prod-example-com-6443-kube-admin"]
    stored = sorted(c.name for c in await core.registry.load())
    assert stored == ["admin", "admin-2", "default-api-ocp-prod-example-com-6443-kube-admin"]
    admin = core.registry.get("admin-2")
    assert admin.credential is not None and admin.credential.context == "admin"
    assert core.secrets.get_json(admin.credential) is not None


@pytest.mark.asyncio
async def test_a_named_kubeconfig_context_taken_meanwhile_is_a_duplicate(
    core: Core, cli: Core, tmp_path: Path
) -> None:
    """A name the person chose is never changed behind their back: refused."""
    await core.registry.load()
    await cli.registry.add(ClusterSpec(name="prod-1", api_server_url=API))
    written = _spy_puts(core)
    with pytest.raises(DuplicateClusterError, match="'prod-1' is already registered"):
        await core.registry.add_from_kubeconfig(
            ClusterSpec(name="prod-1"), write_kubeconfig(tmp_path), "admin"
        )
    assert len({r.key for r in written}) == 1 and core.secrets.get_json(written[0]) is None


@pytest.mark.asyncio
async def test_a_rename_to_a_name_another_process_just_took_is_a_duplicate(
    core: Core, cli: Core
) -> None:
    """The rename was kept in memory before the cache refused it: the window showed prod-2
    while the cache still held prod-1 under that id."""
    await core.registry.add(ClusterSpec(name="prod-1", api_server_url=API))
    await cli.registry.add(ClusterSpec(name="prod-2", api_server_url=API))
    with pytest.raises(DuplicateClusterError, match="'prod-2' is already registered"):
        await core.registry.change("prod-1", lambda c: c.model_copy(update={"name": "prod-2"}))
    assert core.registry.get("prod-1").name == "prod-1"
    assert [c.name for c in core.registry.clusters()] == ["prod-1"]
