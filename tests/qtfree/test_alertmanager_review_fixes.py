"""Alertmanager's answer is read off the event loop (the UI thread in the app): parsing each
alert (pydantic, and redaction of every label and annotation) held the window 4.4 s for
5,000 alerts, at every poll; only the JSON decoding was off it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from typing import Any

import httpx
import pytest

import collectors.alertmanager as am
from aiops_desktop.models.alerts import Alert
from collectors.alertmanager import AlertmanagerClient
from collectors.errors import CollectorBadResponse
from collectors.http import BackendClient, HttpPolicy


def _alert(i: int, state: str = "active") -> dict[str, Any]:
    return {"fingerprint": f"{i:016x}", "startsAt": "2026-12-06T10:00:00Z",
            "status": {"state": state}, "labels": {"alertname": f"A{i}", "severity": "critical"},
            "annotations": {"summary": f"alert {i}"}}  # fmt: skip


def _client(payload: list[Any]) -> AlertmanagerClient:
    body = json.dumps(payload).encode()
    answer = httpx.MockTransport(lambda _: httpx.Response(200, content=body))
    http = BackendClient("http://am.invalid", name="am", policy=HttpPolicy(retries=0),
                         transport=answer)  # fmt: skip
    return AlertmanagerClient(http)


@pytest.mark.asyncio
@pytest.mark.parametrize("count", [3, 2_000])  # a small answer and one decoded in a worker
async def test_alerts_are_parsed_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    loop_thread = threading.get_ident()
    parsed_on: set[int] = set()
    parse = am.parse_alert

    def recorded(item: dict[str, Any], cluster: str) -> Alert:
        parsed_on.add(threading.get_ident())
        return parse(item, cluster)

    monkeypatch.setattr(am, "parse_alert", recorded)
    client = _client([_alert(i) for i in range(count)])
    try:
        found = await client.alerts("east-1")
    finally:
        await client.aclose()
    assert len(found) == count and found[0].cluster == "east-1"
    assert parsed_on and loop_thread not in parsed_on


@pytest.mark.asyncio
async def test_the_loop_keeps_running_while_alerts_are_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slow parse (here 20 x 20 ms) no longer stalls the loop for its whole length."""
    parse = am.parse_alert

    def slow(item: dict[str, Any], cluster: str) -> Alert:
        threading.Event().wait(0.02)
        return parse(item, cluster)

    monkeypatch.setattr(am, "parse_alert", slow)
    client = _client([_alert(i) for i in range(20)])
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        found = await client.alerts("east-1")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.aclose()
    assert len(found) == 20
    assert ticks >= 10  # 400 ms of parsing: the loop ran throughout, not once after it


@pytest.mark.asyncio
async def test_a_suppressed_and_a_malformed_alert_are_still_left_out() -> None:
    client = _client([_alert(1), {"fingerprint": 7}, _alert(2, "suppressed")])
    try:
        assert [a.name for a in await client.alerts("east-1")] == ["A1"]
        assert len(await client.alerts("east-1", silenced=True)) == 2
    finally:
        await client.aclose()
    client = _client([{"x": 1}])
    try:
        with pytest.raises(CollectorBadResponse, match="am"):
            await client.alerts("east-1")
    finally:
        await client.aclose()
