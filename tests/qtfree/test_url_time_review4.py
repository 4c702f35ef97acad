"""A URL typed with a blank in it (a paste with a stray space or tab) is refused where a person
gives it, and one an older version stored still loads; an absolute time range that ends after
now, or starts before what the cache keeps, says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.models.cluster import refuse_query, validate_http_url
from aiops_desktop.models.time_range import TimeRange


@pytest.mark.parametrize(
    "url",
    [
        "https://api.prod-east.example :6443",
        "https://api.prod east.example:6443",
        "https://thanos querier.example/api",
        "https://a\tb.example",
        "https://thanos.example/prom\n",
        "https://thanos.example/pr\x7fom",
        " https://thanos.example",
    ],
)
def test_a_url_with_a_blank_or_control_character_is_refused_and_said(url: str) -> None:
    with pytest.raises(ValueError, match="blank or a control character") as refused:
        refuse_query(url, "API server URL")
    assert "API server URL" in str(refused.value)


def test_a_plain_url_is_still_taken() -> None:
    refuse_query("https://api.prod-east.example:6443", "API server URL")  # nothing said
    assert validate_http_url("https://thanos.example/prom/", require_https=True, what="x") == (
        "https://thanos.example/prom"
    )


def test_a_cluster_stored_with_a_blank_in_its_url_still_loads() -> None:
    """As a query stored by an older version: the cluster stays listed (its polls say what is
    wrong), never dropped as a damaged row."""
    stored = Cluster(
        name="prod-east",
        api_server_url="https://api.prod-east.example:6443",
        endpoints=[{"kind": EndpointKind.PROMETHEUS, "url": "https://thanos.example"}],
    ).model_dump(mode="json")
    stored["api_server_url"] = "https://api.prod-east.example :6443"
    stored["endpoints"][0]["url"] = "https://thanos querier.example"
    loaded = Cluster.model_validate(stored)
    assert loaded.name == "prod-east"
    assert loaded.api_server_url == "https://api.prod-east.example :6443"


NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
KEPT = timedelta(days=30)


def test_a_span_that_ends_after_now_is_refused() -> None:
    for start, end in (
        (NOW - timedelta(hours=1), NOW + timedelta(hours=1)),
        (NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1)),
        (NOW + timedelta(days=3650), NOW + timedelta(days=3650, hours=6)),
    ):
        with pytest.raises(ValueError, match="after now"):
            TimeRange.between(start, end, now=NOW, kept=KEPT)
    # a minute's slack: a clock a little behind another's
    chosen = TimeRange.between(NOW - timedelta(hours=1), NOW + timedelta(seconds=50), now=NOW)
    assert chosen.end == NOW + timedelta(seconds=50)


def test_a_span_that_starts_before_what_the_cache_keeps_is_refused() -> None:
    with pytest.raises(ValueError, match="30 days"):
        TimeRange.between(NOW - timedelta(days=400), NOW - timedelta(days=399), now=NOW,
                          kept=KEPT)  # fmt: skip
    with pytest.raises(ValueError, match="before the oldest"):
        TimeRange.between(NOW - timedelta(days=31), NOW - timedelta(days=29), now=NOW, kept=KEPT)
    oldest = TimeRange.between(NOW - KEPT, NOW - timedelta(days=29), now=NOW, kept=KEPT)
    assert oldest.bounds(NOW)[0] == NOW - KEPT
    # no retention given (a page that reads a server, not the cache): any past span
    far = TimeRange.between(NOW - timedelta(days=400), NOW - timedelta(days=399), now=NOW)
    assert far.end == NOW - timedelta(days=399)
