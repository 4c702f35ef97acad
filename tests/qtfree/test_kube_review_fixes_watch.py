"""Review fixes: a watch ERROR whose Status code is not a number is a bad answer (it was a
TypeError that ended the events watch for good, still shown as live); the events follow loop
outlives any error; a credential plugin that never answers is bounded by the caller's deadline,
in threads of its own that neither asyncio's default executor nor the app's exit wait for."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop.models import Cluster, CredentialKind
from aiops_desktop.models.credentials import CredentialRef
from aiops_desktop.models.enums import ValidationOutcome
from aiops_desktop.services.kube import session as session_module
from aiops_desktop.services.kube import validation
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from collectors import kubernetes
from collectors.errors import CollectorBadResponse, CollectorTimeout, KubeGone
from collectors.kube_config import kubeconfig_for_token
from collectors.kubernetes import KubeClient, WatchState
from tests.qtfree.test_kube_client_bounds import event_line, serving, watch_for

EVENT = {
    "metadata": {"name": "e1", "namespace": "ns", "uid": "u1", "resourceVersion": "6"},
    "type": "Warning", "reason": "BackOff", "involvedObject": {"kind": "Pod", "name": "p"},
    "message": "m", "lastTimestamp": "2026-01-01T00:00:00Z",
}  # fmt: skip


# -- 1. a watch ERROR with a code that is not a number -------------------------------------------
def test_a_status_code_that_is_not_an_int_is_a_bad_response() -> None:
    client = KubeClient.__new__(KubeClient)
    client.name = "c1"
    for code in ("410", True, 410.0, None, [410]):
        error = client._status_error(code, "Expired", {"message": "too old"})
        assert not isinstance(error, KubeGone), code
        assert error.status is None, code
        if code is not None:
            assert isinstance(error, CollectorBadResponse), code
    assert isinstance(client._status_error(410, "Expired", None), KubeGone)


@pytest.mark.integration
@pytest.mark.asyncio
async def test_a_watch_error_with_a_string_code_is_noted_and_the_watch_goes_on() -> None:
    """It raised TypeError out of watch(): the events watch ended, its state still live."""

    def route(path: str, query: dict[str, str]) -> tuple[int, Any]:
        if query.get("watch") == "true":
            error = {"kind": "Status", "code": "410", "reason": "Expired", "message": "too old"}
            return 200, event_line("ADDED", EVENT) + event_line("ERROR", error)
        return 200, {"items": [], "metadata": {"resourceVersion": "5"}}

    state = WatchState()
    async with serving(route) as (api, client):
        seen = await watch_for(client, 1.0, (0.2,), state)
    watches = [q for _, q in api.asked if q.get("watch") == "true"]
    assert len(watches) >= 2  # it went on after the bad ERROR, after a backoff
    assert [e.type for e in seen[:2]] == ["RELISTED", "ADDED"]
    assert state.failing and "too old" in state.failure
    assert state.relists == 0  # a code that is not a number is not a 410


# -- 2. the follow loop outlives any error ------------------------------------------------------
class _Registry:
    def get(self, name: str) -> str:
        return name


class _Pool:
    async def kube(self, cluster: object) -> object:
        return object()


@pytest.mark.asyncio
async def test_the_events_follow_loop_survives_an_unexpected_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug's error (not a CollectorError) ended the supervised task for good, the state
    never marked failed: now it is noted, the state failed, and the watch tried again."""
    calls: list[int] = []
    blocked = asyncio.Event()

    async def follow_events(
        client: object, timeline: object, *, state: WatchState, stop: asyncio.Event
    ) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise TypeError("'>=' not supported between instances of 'str' and 'int'")
        state.alive()
        blocked.set()
        await stop.wait()

    monkeypatch.setattr(session_module, "follow_events", follow_events)
    monkeypatch.setattr(session_module, "FOLLOW_RETRY_S", (0.01,))
    supervisor = TaskSupervisor()
    kube = session_module.KubeSession(_Registry(), _Pool(), None, supervisor)  # type: ignore[arg-type]
    _, state = kube.follow("c1")
    (task,) = supervisor._tasks
    async with asyncio.timeout(5):
        await blocked.wait()
    assert len(calls) == 2 and not task.done() and not supervisor.failures
    assert state.errors and "TypeError" in state.errors[0] and "str" in state.errors[0]
    assert not state.failing  # alive again once the retried watch showed life

    # a cancel (the app's shutdown) still ends it
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not supervisor.failures


@pytest.mark.asyncio
async def test_an_unexpected_error_marks_the_watch_failed_while_it_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def follow_events(
        client: object, timeline: object, *, state: WatchState, stop: asyncio.Event
    ) -> None:
        raise TypeError("a bug")

    monkeypatch.setattr(session_module, "follow_events", follow_events)
    monkeypatch.setattr(session_module, "FOLLOW_RETRY_S", (60.0,))
    supervisor = TaskSupervisor()
    kube = session_module.KubeSession(_Registry(), _Pool(), None, supervisor)  # type: ignore[arg-type]
    _, state = kube.follow("c1")
    (task,) = supervisor._tasks
    await asyncio.sleep(0.1)
    assert state.failing and "a bug" in state.failure and not task.done()
    kube.unfollow("c1")  # stop wakes its wait
    async with asyncio.timeout(5):
        await task
    assert not supervisor.failures


# -- 3. a credential plugin that never answers --------------------------------------------------
@contextlib.contextmanager
def hung_plugin(tmp_path: Path):  # type: ignore[no-untyped-def]
    """An exec plugin that answers nothing until the test ends (kubelogin waiting for a browser
    login), then exits: the thread left waiting on it ends, for the leftover-thread check."""
    release = tmp_path / "release"
    plugin = tmp_path / "hung-plugin.py"
    plugin.write_text(
        "import os, sys, time\n"
        "end = time.monotonic() + 60\n"
        "while not os.path.exists(sys.argv[1]) and time.monotonic() < end:\n"
        "    time.sleep(0.05)\n"
        "sys.exit(1)\n"
    )
    exec_user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(plugin), str(release)],
            "interactiveMode": "Never",
        }
    }
    try:
        yield exec_user
    finally:
        release.touch()


def _loader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(kubernetes.LOAD_THREAD_PREFIX)]


@pytest.mark.asyncio
async def test_validate_bounds_a_credential_plugin_that_never_answers(tmp_path: Path) -> None:
    """validate(timeout_s=1) waited for ever, holding a thread of asyncio's default executor."""
    with hung_plugin(tmp_path) as exec_user:
        config = kubeconfig_for_token("https://127.0.0.1:6443")
        config["users"][0]["user"] = exec_user

        class Secrets:
            def get_json(self, ref: object) -> dict[str, Any]:
                return config

        ref = CredentialRef(
            kind=CredentialKind.KUBECONFIG_CONTEXT, key="cluster/x/kubeconfig", context="ctx"
        )
        cluster = Cluster(name="lab-1", api_server_url="https://127.0.0.1:6443", credential=ref)
        t0 = time.monotonic()
        async with asyncio.timeout(8):
            result = await validation.validate(cluster, Secrets(), timeout_s=1)  # type: ignore[arg-type]
        assert time.monotonic() - t0 < 3
        assert result.outcome is ValidationOutcome.UNREACHABLE
        assert "credential plugin did not answer within 1 s" in result.reason
        # the thread still waiting on the plugin is the loader's own, and a daemon
        loaders = _loader_threads()
        assert loaders and all(t.daemon for t in loaders)
    end = time.monotonic() + 5
    while _loader_threads() and time.monotonic() < end:
        await asyncio.sleep(0.05)
    assert not _loader_threads()


@pytest.mark.asyncio
async def test_opening_a_client_is_bounded_by_its_own_deadline(tmp_path: Path) -> None:
    with hung_plugin(tmp_path) as exec_user:
        config = kubeconfig_for_token("https://127.0.0.1:6443")
        config["users"][0]["user"] = exec_user
        t0 = time.monotonic()
        with pytest.raises(CollectorTimeout, match="credential plugin did not answer within 1 s"):
            await KubeClient.open(config, name="lab-1", load_within_s=1)
        assert time.monotonic() - t0 < 2.5
    end = time.monotonic() + 5
    while _loader_threads() and time.monotonic() < end:
        await asyncio.sleep(0.05)
    assert not _loader_threads()
