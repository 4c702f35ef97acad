"""The PTP board's PtpConfig profiles: read from every cluster at once, one cluster's failure
(a locked keyring, an API server that does not answer) its own, and its last profiles kept.
The board waited for each cluster in turn (three dead API servers: their timeouts added up
on every refresh), and one keyring error failed the whole board."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aiops_desktop.models import Cluster
from aiops_desktop.models.ptp import Threshold
from aiops_desktop.secrets import SecretsUnavailableError
from aiops_desktop.services.kube import session as session_module
from aiops_desktop.services.kube.session import PTPCONFIGS, KubeSession

WIDE = {"spec": {"profile": [{"name": "wide", "ptpClockThreshold": {"maxOffsetThreshold": 500}}],
                 "recommend": [{"profile": "wide", "priority": 1,
                                "match": [{"nodeName": "du-1"}]}]}}  # fmt: skip


def _cluster(name: str) -> Cluster:
    return Cluster(name=name, api_server_url=f"https://api.{name}.example:6443")


class _Registry:
    def __init__(self, names: list[str]) -> None:
        self._clusters = [_cluster(n) for n in names]

    def clusters(self) -> list[Cluster]:
        return list(self._clusters)


def _session(names: list[str]) -> KubeSession:
    return KubeSession(_Registry(names), None, None, None)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_one_clusters_keyring_error_is_its_own() -> None:
    session = _session(["ran-a", "ran-b"])

    async def objects(name: str, path: str, **_kw: Any) -> list[dict[str, Any]]:
        if name == "ran-b":
            raise SecretsUnavailableError("keyring is locked")
        return [WIDE] if path == PTPCONFIGS else []

    session.objects = objects  # type: ignore[method-assign]
    found, unread = await session.ptp_thresholds()
    assert found[("ran-a", "du-1")] == Threshold(-100, 500, 5, "wide")
    assert len(unread) == 1 and unread[0].startswith("ran-b: ") and "keyring" in unread[0]


@pytest.mark.asyncio
async def test_the_clusters_are_read_at_once_and_a_silent_one_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_module, "PROFILES_WITHIN_S", 0.2)
    session = _session(["ran-a", "down-1", "down-2", "down-3"])
    reading, most = 0, 0

    async def objects(name: str, path: str, **_kw: Any) -> list[dict[str, Any]]:
        nonlocal reading, most
        reading += 1
        most = max(most, reading)
        try:
            if name.startswith("down"):
                await asyncio.sleep(30)  # an API server that never answers
            return [WIDE] if path == PTPCONFIGS else []
        finally:
            reading -= 1

    session.objects = objects  # type: ignore[method-assign]
    found, unread = await session.ptp_thresholds()
    assert most >= 3  # side by side, not one after another
    assert ("ran-a", "du-1") in found
    assert sorted(u.split(":")[0] for u in unread) == ["down-1", "down-2", "down-3"]
    assert all("not read within" in u for u in unread)


@pytest.mark.asyncio
async def test_a_cluster_that_fails_keeps_its_last_profiles() -> None:
    session = _session(["ran-a"])
    failing = False

    async def objects(name: str, path: str, **_kw: Any) -> list[dict[str, Any]]:
        if failing:
            raise SecretsUnavailableError("keyring is locked")
        return [WIDE] if path == PTPCONFIGS else []

    session.objects = objects  # type: ignore[method-assign]
    first, _ = await session.ptp_thresholds()
    failing = True
    found, unread = await session.ptp_thresholds()
    assert found == first  # du-1 keeps its +500 ns band, not the default +/-50
    assert "its last profiles used" in unread[0]
