"""Second review of the Kubernetes page, the Qt-free part: an event's words are cut where the
event is read (core/v1 Events have no limit on a message; 500 messages of 100 KB held the UI
thread 4 s per redraw, once a second), and the cut says so."""

from __future__ import annotations

from typing import Any

from aiops_desktop.services.kube.inventory import EVENT_TEXT_CHARS, event_row


def hostile_event(size: int) -> dict[str, Any]:
    return {
        "metadata": {"uid": "u1", "namespace": "t1", "name": "e1"},
        "type": "W" * size,
        "reason": "R" * size,
        "count": 1,
        "involvedObject": {"kind": "Pod", "namespace": "t1", "name": "p" * size},
        "lastTimestamp": "2026-12-01T00:00:00Z",
        "message": "x" * size,
    }


def test_a_long_event_message_reason_object_and_type_are_cut_and_marked() -> None:
    row = event_row(hostile_event(100_000))
    for text in (row.message, row.reason, row.object, row.type):
        assert len(text) <= EVENT_TEXT_CHARS
        assert text.endswith("…")  # the cut is visible
    assert row.message.startswith("x" * 1000)
    assert row.object.startswith("Pod/t1/ppp")


def test_an_event_of_ordinary_length_is_kept_whole() -> None:
    row = event_row(hostile_event(EVENT_TEXT_CHARS - 10))
    assert row.message == "x" * (EVENT_TEXT_CHARS - 10)
    assert row.reason == "R" * (EVENT_TEXT_CHARS - 10)
    assert "…" not in row.object
