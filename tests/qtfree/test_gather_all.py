"""Reads done side by side end together: one failing stops and waits for its siblings, so
no read is left running unsupervised (CI found a pods list still cancelling after its
inventory had failed: asyncio.gather returns at the first error and leaves the rest)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from aiops_desktop.services.kube.inventory import take_inventory
from aiops_desktop.services.runtime.gathering import gather_all


def _others() -> set[asyncio.Task[object]]:
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current and not t.done()}


@pytest.mark.asyncio
async def test_the_answers_come_in_order() -> None:
    async def value(v: int, delay: float) -> int:
        await asyncio.sleep(delay)
        return v

    assert await gather_all(value(1, 0.02), value(2, 0.0)) == [1, 2]
    assert await gather_all() == []


@pytest.mark.asyncio
async def test_a_failure_stops_and_waits_for_the_others() -> None:
    ended: list[str] = []

    async def fails() -> None:
        await asyncio.sleep(0.01)
        raise ValueError("the nodes list was refused")

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.05)  # a read that takes a while to end (its thread)
            ended.append("slow")

    with pytest.raises(ValueError, match="refused"):
        await gather_all(fails(), slow())
    assert ended == ["slow"] and not _others()


@pytest.mark.asyncio
async def test_a_cancel_stops_and_waits_for_every_read() -> None:
    ended: list[int] = []

    async def slow(i: int) -> None:
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.02 * i)  # one ends at once, one takes a while (an aclose)
            ended.append(i)

    task = asyncio.ensure_future(gather_all(slow(0), slow(5)))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(ended) == [0, 5] and not _others()
    ended.clear()
    with pytest.raises(TimeoutError):  # as a poll's limit ends it
        async with asyncio.timeout(0.01):
            await gather_all(slow(0), slow(5))
    assert sorted(ended) == [0, 5] and not _others()


@pytest.mark.asyncio
async def test_a_reads_own_cancel_stops_and_waits_for_the_others() -> None:
    ended: list[str] = []
    shared = asyncio.get_running_loop().create_future()

    async def awaits_shared() -> None:
        await shared  # cancelled by someone else

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            ended.append("slow")

    asyncio.get_running_loop().call_later(0.01, shared.cancel)
    with pytest.raises(asyncio.CancelledError):
        await gather_all(slow(), awaits_shared())
    assert ended == ["slow"] and not _others()


class _Client:
    """The nodes list is refused at once; the pods list takes long (16,000 pods)."""

    name = "alpha"

    def __init__(self) -> None:
        self.pods_ended = False

    async def list(self, path: str) -> tuple[list[dict[str, object]], str | None]:
        if path.endswith("nodes"):
            raise PermissionError("nodes is forbidden")
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.02)
            self.pods_ended = True
        return [], None


@pytest.mark.asyncio
async def test_an_inventory_whose_nodes_fail_leaves_no_pods_read_running() -> None:
    client = _Client()
    with pytest.raises(PermissionError):
        await take_inventory(client)  # type: ignore[arg-type]
    assert client.pods_ended and not _others()


@pytest.mark.asyncio
async def test_a_read_that_swallows_its_cancel_holds_no_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aiops_desktop.services.runtime import gathering

    monkeypatch.setattr(gathering, "ENDS_WITHIN_S", 0.1)
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await release.wait()

    started = asyncio.get_running_loop().time()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await gather_all(stubborn())
    assert asyncio.get_running_loop().time() - started < 2.0
    release.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
