"""The words the wall, the Fleet page and the dashboard share come from one Qt-free place:
a cluster's sources not read (``ClusterTruth.unknown``), a source's last poll answered
(``SourceStatus.answered``) and how old a hub's newest sample is (``hub_sample_text``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiops_desktop.models.fleet import ClusterTruth, Coverage, Health
from aiops_desktop.models.polling import SourceStatus, hub_sample_text

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_unknown_lists_sources_neither_read_nor_recorded() -> None:
    truth = ClusterTruth(
        "east-1", "east-1", None, Health.STALE, None, None, [],
        {"metrics": Coverage.READ, "alerts": Coverage.STALE, "k8s": Coverage.RECORDED,
         "logs": Coverage.NOT_CONFIGURED, "traces": Coverage.NO_DATA,
         "health": Coverage.UNREACHABLE},
    )  # fmt: skip
    assert truth.unknown() == [
        "alerts stale", "logs not configured", "traces no data yet", "health unreachable",
    ]  # fmt: skip


def test_answered_is_a_last_poll_that_succeeded_without_errors_since() -> None:
    status = SourceStatus("east-1", "alerts", 10.0)
    assert not status.answered  # never polled
    status.last_success = NOW
    assert status.answered
    status.consecutive_errors = 1
    assert not status.answered  # answered once, failing now


def test_hub_sample_text_says_the_hub_newest_sample_age() -> None:
    assert hub_sample_text(None) == ""
    assert hub_sample_text(timedelta(minutes=20).total_seconds()) == (
        " · the hub's newest sample 20 min ago"
    )
    assert hub_sample_text(240.0, whose="") == " · newest sample 4 min ago"
