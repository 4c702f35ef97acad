"""A watch the server ends at once with nothing sent (a proxy that cannot stream) is a failure,
as client-go's reflector says "very short watch": it was called alive each time, the events
timeline never moved again and the page said it was live."""

from __future__ import annotations

import time
from typing import Any

import pytest

from collectors import kubernetes
from collectors.kubernetes import WatchState
from tests.qtfree.test_kube_client_bounds import event_line, serving, watch_for

LISTED = {"items": [], "metadata": {"resourceVersion": "5"}}
EVENT = {
    "metadata": {"name": "e1", "namespace": "ns", "uid": "u1", "resourceVersion": "6"},
    "type": "Warning", "reason": "BackOff", "involvedObject": {"kind": "Pod", "name": "p"},
}  # fmt: skip


def watching(answer: bytes, *, delay_s: float = 0.0) -> Any:
    """A route: the list, then every watch answered ``answer`` (after ``delay_s``)."""

    def route(path: str, query: dict[str, str]) -> tuple[int, Any]:
        if query.get("watch") != "true":
            return 200, LISTED
        time.sleep(delay_s)
        return 200, answer

    return route


# -- 1. a watch ended at once, empty -------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.asyncio
async def test_a_watch_ended_at_once_with_nothing_sent_fails_and_backs_off() -> None:
    state = WatchState()
    async with serving(watching(b"")) as (api, client):
        seen = await watch_for(client, 1.2, (0.4,), state)
    watches = [q for _, q in api.asked if q.get("watch") == "true"]
    assert [e.type for e in seen] == ["RELISTED"]
    assert 2 <= len(watches) <= 5, len(watches)  # at once, then one each 0.4 s
    assert state.failing, "an empty watch ended at once was called alive"
    assert "ended the watch of /api/v1/events at once" in state.failure
    assert state.reconnects == len(watches)


@pytest.mark.integration
@pytest.mark.asyncio
async def test_a_watch_that_sent_a_bookmark_or_an_event_or_lived_long_is_alive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bookmark = event_line("BOOKMARK", {"metadata": {"resourceVersion": "7"}})
    for answer in (bookmark, event_line("ADDED", EVENT)):
        state = WatchState()
        async with serving(watching(answer)) as (_api, client):
            await watch_for(client, 0.5, (0.2,), state)
        assert not state.failing and not state.errors, answer
    monkeypatch.setattr(kubernetes, "SHORT_WATCH_S", 0.0)  # any watch outlives it
    state = WatchState()
    async with serving(watching(b"")) as (_api, client):
        await watch_for(client, 0.6, (0.2,), state)
    assert state.reconnects >= 1 and not state.failing and not state.errors


@pytest.mark.integration
@pytest.mark.asyncio
async def test_a_watch_slow_to_answer_then_ended_empty_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Timed from the answer, not the request: over a slow link (an edge cluster over a VPN)
    connecting took the whole window, and every empty watch was called alive."""
    monkeypatch.setattr(kubernetes, "SHORT_WATCH_S", 0.2)
    state = WatchState()
    async with serving(watching(b"", delay_s=0.3)) as (_api, client):
        await watch_for(client, 1.0, (0.2,), state)
    assert state.reconnects >= 1 and state.failing, "a slow, empty watch was called alive"
