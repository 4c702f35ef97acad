"""Review 6 of the cluster registry: an add (or an import's context) cancelled while the
cache's writer already has its row leaves nothing, or a whole cluster; never a row that
comes back (``adopt_added``) without the keyring entries its add deleted."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future
from pathlib import Path

import pytest
import pytest_asyncio

from aiops_desktop.models import Cluster
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.core import Core
from aiops_desktop.settings import resolve_paths
from tests.memory_keyring import MemoryKeyring
from tests.qtfree.kubeconfigs import write_kubeconfig

PROD_TOKEN = "sha256~cancelled-add-token-5f2a9c"


@pytest_asyncio.fixture
async def opened(tmp_path: Path) -> AsyncIterator[tuple[Core, MemoryKeyring]]:
    keyring = MemoryKeyring()
    core = Core.open(resolve_paths(tmp_path / "home"), secrets=SecretStore(keyring))
    await core.registry.load()
    yield core, keyring
    await core.shutdown()


async def _cancel_while_committing(core: Core, adding: Callable[[], Awaitable[object]]) -> None:
    """Run ``adding``, and cancel it once the writer has run its row's save but not yet
    committed it (the rest of the writer's batch still runs); the batch then commits."""
    repo = core.registry._repo
    real_save = repo.save
    ran, release = threading.Event(), threading.Event()

    def rest_of_batch(conn: object) -> None:
        ran.set()
        release.wait(10)

    def held_save(cluster: Cluster) -> Future[Cluster]:
        saved = real_save(cluster)
        repo._db.write(rest_of_batch)
        return saved

    repo.save = held_save  # type: ignore[method-assign]
    task = asyncio.ensure_future(adding())
    assert await asyncio.to_thread(ran.wait, 10)
    task.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    repo.save = real_save  # type: ignore[method-assign]


@pytest.mark.asyncio
async def test_an_add_cancelled_while_its_row_commits_leaves_no_cluster_without_its_token(
    opened: tuple[Core, MemoryKeyring],
) -> None:
    core, keyring = opened
    await _cancel_while_committing(core, lambda: core.registry.add(
        ClusterSpec(name="prod-1", api_server_url="https://api.prod-1:6443"),
        ClusterSecrets(token=PROD_TOKEN),
    ))  # fmt: skip
    rows = await asyncio.to_thread(core.db.fetch_all, "SELECT name FROM clusters")
    assert [r[0] for r in rows] == []
    assert await core.registry.adopt_added() == []
    assert core.registry.clusters() == []
    assert keyring.store == {}


@pytest.mark.asyncio
async def test_an_import_cancelled_while_a_context_commits_leaves_no_cluster_without_it(
    opened: tuple[Core, MemoryKeyring], tmp_path: Path
) -> None:
    core, keyring = opened
    path = write_kubeconfig(tmp_path)
    context = "default/api-ocp-prod-example-com:6443/kube:admin"
    await _cancel_while_committing(core, lambda: core.registry.import_kubeconfig(path, [context]))
    rows = await asyncio.to_thread(core.db.fetch_all, "SELECT name FROM clusters")
    assert [r[0] for r in rows] == []
    assert await core.registry.adopt_added() == []
    assert keyring.store == {}


@pytest.mark.asyncio
async def test_a_cancelled_add_whose_committed_row_cannot_be_deleted_keeps_its_token(
    opened: tuple[Core, MemoryKeyring],
) -> None:
    core, _ = opened

    def refused(cluster_id: object) -> Future[bool]:
        failed: Future[bool] = Future()
        failed.set_exception(OSError("disk I/O error"))
        return failed

    core.registry._repo.delete = refused  # type: ignore[method-assign]
    await _cancel_while_committing(core, lambda: core.registry.add(
        ClusterSpec(name="prod-1", api_server_url="https://api.prod-1:6443"),
        ClusterSecrets(token=PROD_TOKEN),
    ))  # fmt: skip
    [adopted] = await core.registry.adopt_added()
    assert adopted.credential is not None
    assert core.secrets.get(adopted.credential) == PROD_TOKEN
