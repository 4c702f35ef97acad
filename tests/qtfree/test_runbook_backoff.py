"""The kubelet names two back-offs ``BackOff``: restarting a container that keeps failing,
and pulling an image it cannot get. Each event gets its own runbook entry: an image that
does not pull is not a crash loop (whose advice is to read the previous container's logs and
roll back)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aiops_desktop.services.intelligence.incidents import event_signals
from aiops_desktop.services.intelligence.rca import RcaService

NOW = datetime(2026, 12, 4, 8, 30, tzinfo=UTC)


def _entries(message: str) -> list[str]:
    seen = (NOW - timedelta(minutes=3)).isoformat()
    event = {"type": "Warning", "reason": "BackOff", "message": message,
             "involvedObject": {"kind": "Pod", "namespace": "ran-du", "name": "du-l1-0"},
             "firstTimestamp": seen, "lastTimestamp": seen, "metadata": {"uid": "u1"}}  # fmt: skip
    (signal,) = event_signals("ran-east", [event], NOW)
    runbook = RcaService.__new__(RcaService).runbook
    text = f"{signal.reason} {signal.subject} {signal.alert_name or ''}"
    return [e.check for e in runbook.for_texts([(text, signal.source)])]


@pytest.mark.parametrize(
    ("message", "says", "never"),
    [
        ('Back-off pulling image "registry.local/ran/du:4.2"', "pull secret", "--previous"),
        ("Back-off restarting failed container du in pod du-l1-0", "--previous", "pull secret"),
    ],
)
def test_each_back_off_gets_its_own_next_check(message: str, says: str, never: str) -> None:
    checks = _entries(message)
    assert len(checks) == 1
    assert says in checks[0] and never not in checks[0]
