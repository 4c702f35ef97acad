"""What a capture says of its span against what the live cache says of the same period (found
in review): a past span's export left out an episode that began in it and was at its worst
after its end (a FREERUN begun 02:36, worst 02:39, the span ending 02:38), which the live
report of the period lists; and a capture's report never said where its data begins (it
took the capture's start for it), where the live report of the same cache did."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from aiops_desktop.models import EndpointKind, utcnow
from aiops_desktop.models.anomalies import LASTED, STILL_OPEN_NOTE, Anomaly, AnomalyFilter
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.models.reports import ReportType
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import export_capture, open_capture
from aiops_desktop.services.outputs.reports import gather
from aiops_desktop.store.capture import CLOCK_SKEW
from tests.site_data import build_site


def _episode(one: Anomaly, instance: str, **times: object) -> Anomaly:
    at = times["started_at"]
    return one.model_copy(update={
        "id": uuid.uuid4(), "metric": "node_memory", "labels": {"instance": instance},
        "open": False, **times,
        "explanation": f"memory above its usual range{LASTED}6 points from {at:%H:%M:%S}",
    })  # fmt: skip


@pytest.mark.asyncio
async def test_an_episode_begun_in_a_past_span_and_worst_after_it_is_exported(
    core: Core, tmp_path: Path
) -> None:
    await build_site(core)  # east's memory sampled every minute to now
    until = (utcnow() - timedelta(minutes=150)).replace(microsecond=0)
    one = core.anomalies.repo.list()[0]
    later = _episode(  # begun 2 min before the end, at its worst 1 min after it, over at 4
        one, "east-node-0", started_at=until - timedelta(minutes=2),
        timestamp=until + timedelta(minutes=1), last_at=until + timedelta(minutes=4),
    )  # fmt: skip
    after = _episode(  # begun after the end: not of the span
        one, "west-node-0", started_at=until + timedelta(minutes=1),
        timestamp=until + timedelta(minutes=2), last_at=until + timedelta(minutes=3),
    )  # fmt: skip
    await asyncio.wrap_future(core.anomalies.repo.save([later, after]))
    live = await gather(core.reports, ReportType.DETAILED, ["east"], timedelta(hours=1), until)
    listed = [a.identity for f in live.clusters for a in f.anomalies]
    assert later.identity in listed  # the live report of the period lists it

    out = tmp_path / "past.aiops"
    await export_capture(core, out, clusters=["east", "west"], since=timedelta(hours=1),
                         until=until)  # fmt: skip
    opened = await asyncio.to_thread(open_capture, out)
    try:
        kept = {a.identity: a for a in opened.anomalies.repo.list() if a.metric == "node_memory"}
        assert sorted(kept) == [later.identity]
        then = kept[later.identity]
        # as it stood at the span's end: begun, going on (seen to the end), its worst point
        # as stored (the record holds one worst point: which came by the end is not known)
        assert then.started_at == later.started_at
        assert then.timestamp == later.timestamp
        assert then.last_at == until and then.open
        assert then.explanation == f"memory above its usual range{STILL_OPEN_NOTE}"
        going = opened.anomalies.repo.list(AnomalyFilter(open_only=True))
        assert later.identity in {a.identity for a in going}
        await opened.registry.load()
        told = await gather(opened.reports, ReportType.DETAILED, ["east"], timedelta(hours=1),
                            until)  # fmt: skip
        assert later.identity in [a.identity for f in told.clusters for a in f.anomalies]
    finally:
        await opened.shutdown()


@pytest.mark.asyncio
async def test_an_episode_at_its_worst_past_what_an_open_accepts_does_not_refuse_the_export(
    core: Core, tmp_path: Path
) -> None:
    """One begun in the span whose worst point came more than the clock skew an open allows
    after its end is not what an open reads (it would refuse the capture): the export keeps
    to the open's bounds."""
    await build_site(core)
    until = (utcnow() - CLOCK_SKEW - timedelta(hours=3)).replace(microsecond=0)
    one = core.anomalies.repo.list()[0]
    long_after = _episode(
        one, "east-node-0", started_at=until - timedelta(minutes=5),
        timestamp=until + CLOCK_SKEW + timedelta(hours=1), last_at=utcnow() - timedelta(hours=1),
    )  # fmt: skip
    await asyncio.wrap_future(core.anomalies.repo.save([long_after]))
    out = tmp_path / "past.aiops"
    await export_capture(core, out, clusters=["east"], since=timedelta(hours=2), until=until)
    opened = await asyncio.to_thread(open_capture, out)
    try:
        assert all(a.metric != "node_memory" for a in opened.anomalies.repo.list())
    finally:
        await opened.shutdown()


@pytest.mark.asyncio
async def test_a_captures_report_says_where_its_data_begins(core: Core, tmp_path: Path) -> None:
    """Checks begun 2 h before a 12 h capture's end: the live report says the data begins
    there; the capture's said its start, 12 h before, so never that the first 10 h are not
    known."""
    prom = {EndpointKind.PROMETHEUS: "http://127.0.0.1:9"}
    await core.registry.add(ClusterSpec(name="ran-east", endpoint_urls=prom))
    now = core.now()
    for minutes in range(120, -1, -30):
        await core.registry.apply_check("ran-east", {EndpointKind.PROMETHEUS: True}, None,
                                        at=now - timedelta(minutes=minutes))  # fmt: skip
    live = await gather(core.reports, ReportType.DETAILED, ["ran-east"], timedelta(hours=12))
    assert live.known_from == now - timedelta(minutes=120)
    out = tmp_path / "site.aiops"
    await export_capture(core, out, clusters=["ran-east"], since=timedelta(hours=12))
    opened = await asyncio.to_thread(open_capture, out)
    try:
        await opened.registry.load()
        told = await gather(opened.reports, ReportType.DETAILED, ["ran-east"],
                            timedelta(hours=12))  # fmt: skip
        assert told.known_from == live.known_from
    finally:
        await opened.shutdown()
