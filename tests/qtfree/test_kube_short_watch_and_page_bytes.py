"""A watch the server ends at once with nothing sent (a proxy that cannot stream) is a failure,
as client-go's reflector says "very short watch": it was called alive each time, the events
timeline never moved again and the page said it was live. A list page far larger than the
``limit`` it asked for needs can be is refused unparsed: ``json.loads`` of a 64 MiB page held
the GIL, and so the UI thread, 3.1 s."""

from __future__ import annotations

import time
from typing import Any

import pytest

from collectors import kubernetes
from collectors.errors import CollectorResponseTooLarge
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
    monkeypatch.setattr(kubernetes, "SHORT_WATCH_S", 0.1)
    state = WatchState()
    async with serving(watching(b"", delay_s=0.2)) as (_api, client):
        await watch_for(client, 0.6, (0.2,), state)
    assert state.reconnects >= 1 and not state.failing and not state.errors


# -- 2. a list page far past its limit -----------------------------------------------------------
def test_a_page_may_hold_the_scale_targets_pods_and_far_less_than_a_body() -> None:
    """500 pods at 25 KiB each (managedFields, CNI annotations) are read; 64 MiB are not."""
    page = kubernetes.LIST_PAGE * kubernetes.PAGE_ITEM_BYTES
    assert kubernetes.LIST_PAGE * 25 * 1024 <= page <= 16 * 2**20 < kubernetes.MAX_BODY_BYTES


@pytest.mark.integration
@pytest.mark.asyncio
async def test_a_list_page_far_past_its_limit_is_refused_unparsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kubernetes, "LIST_PAGE", 512)
    monkeypatch.setattr(kubernetes, "PAGE_ITEM_BYTES", 4096)  # a page: 2 MiB at most
    item = {"metadata": {"name": "p", "annotations": {"a": "x" * 2000}}}
    whole = {"kind": "PodList", "metadata": {}, "items": [item] * 2000}  # ~4 MiB, limit ignored
    parsed: list[int] = []
    loads = kubernetes.json.loads

    def counted(raw: Any) -> Any:
        parsed.append(len(raw))
        return loads(raw)

    monkeypatch.setattr(kubernetes.json, "loads", counted)

    def route(path: str, query: dict[str, str]) -> tuple[int, Any]:
        if path == "/api/v1/nodes":  # within the bound: 512 items, 1 MiB
            return 200, {**whole, "items": [item] * int(query["limit"])}
        return 200, whole

    async with serving(route) as (api, client):
        with pytest.raises(CollectorResponseTooLarge) as refused:
            await client.list("/api/v1/pods")
        assert parsed == []  # refused before it was parsed
        said = str(refused.value)
        assert "sent 4 MiB for one page of 512 of /api/v1/pods: it ignores the limit" in said
        assert "a page is read up to 2 MiB" in said
        items, _ = await client.list("/api/v1/nodes")  # a page within the bound is read
        assert len(items) == 512
        one = await client.get("/api/v1/namespaces/ns/pods/p")  # one object: as before
        assert len(one["items"]) == 2000
    assert [q.get("limit") for _, q in api.asked] == ["512", "512", None]
