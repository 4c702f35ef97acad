"""Domain models: the names, numbers and validation rules docs/architecture.md#rules lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from aiops_desktop.models import (
    AnomalyMethod,
    AnomalySeverity,
    AnomalyType,
    Cluster,
    ClusterType,
    Endpoint,
    EndpointKind,
    QueryType,
    Sensitivity,
)
from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.chat import ChatMessage, ChatSession, Persona
from aiops_desktop.models.enums import ChatRole, PersonaName
from aiops_desktop.models.metrics import MetricQuery
from aiops_desktop.models.observability import Span
from aiops_desktop.models.ptp import ClockState as PtpClockState
from aiops_desktop.models.reports import Report, ReportType


@pytest.mark.parametrize("name", ["abc", "prod-east-1", "a" * 63, "0-edge-9"])
def test_good_cluster_names(name: str) -> None:
    assert Cluster(name=name, api_server_url="https://api:6443").name == name


@pytest.mark.parametrize("name", ["ab", "Prod", "-lead", "trail-", "a_b", "a" * 64, "dot.ted"])
def test_bad_cluster_names_say_what_is_wrong(name: str) -> None:
    with pytest.raises(ValidationError, match=r"not DNS-style|at least 3|at most 63"):
        Cluster(name=name, api_server_url="https://api:6443")


def test_api_url_must_be_https_and_something_must_be_reachable() -> None:
    with pytest.raises(ValidationError, match="expected https://"):
        Cluster(name="abc", api_server_url="http://api:6443")
    with pytest.raises(ValidationError, match="invalid port"):
        Cluster(name="abc", api_server_url="https://api:99999")
    with pytest.raises(ValidationError, match="needs an API server URL or at least one endpoint"):
        Cluster(name="abc")
    fleet = Cluster(
        name="hub", endpoints=[Endpoint(kind=EndpointKind.PROMETHEUS, url="http://t:9090/")]
    )
    assert fleet.endpoint(EndpointKind.PROMETHEUS).url == "http://t:9090"  # type: ignore[union-attr]


def test_display_name_and_score_ranges() -> None:
    with pytest.raises(ValidationError, match="at most 128"):
        Cluster(name="abc", api_server_url="https://a", display_name="x" * 129)
    with pytest.raises(ValidationError, match="less than or equal to 100"):
        Cluster(name="abc", api_server_url="https://a", status={"health_score": 101})


def test_check_intervals_by_type() -> None:
    got = {
        t: Cluster(name="abc", api_server_url="https://a", cluster_type=t).check_interval_s
        for t in ClusterType
    }
    assert got == {
        ClusterType.HUB: 15,
        ClusterType.SPOKE: 30,
        ClusterType.EDGE: 60,
        ClusterType.FAR_EDGE: 120,
    }


def test_endpoint_auth_needs_a_credential_and_ca_has_no_key() -> None:
    with pytest.raises(ValidationError, match="has no credential"):
        Endpoint(kind=EndpointKind.PROMETHEUS, url="https://p", auth="BEARER")
    with pytest.raises(ValidationError, match="not a private key"):
        Endpoint(
            kind=EndpointKind.PROMETHEUS,
            url="https://p",
            ca_bundle_pem="-----BEGIN PRIVATE KEY-----",
        )


def test_sensitivity_and_severity_mapping() -> None:
    assert [s.threshold for s in Sensitivity] == [3.0, 2.5, 2.0, 1.5]
    assert AnomalySeverity.from_ratio(3.1) is AnomalySeverity.HIGH
    assert AnomalySeverity.from_ratio(3.0) is AnomalySeverity.MEDIUM
    assert AnomalySeverity.from_ratio(2.01) is AnomalySeverity.MEDIUM
    assert AnomalySeverity.from_ratio(2.0) is AnomalySeverity.LOW


def test_anomaly_severity_must_match_its_score() -> None:
    common = {
        "cluster": "c",
        "metric": "m",
        "method": AnomalyMethod.MAD,
        "timestamp": datetime.now(UTC),
        "threshold": 2.5,
        "confidence": 0.9,
        "type": AnomalyType.SPIKE,
        "actual": 10.0,
        "explanation": "x",
    }
    assert (
        Anomaly(score=8.0, severity=AnomalySeverity.HIGH, **common).severity is AnomalySeverity.HIGH
    )
    with pytest.raises(ValidationError, match="does not match"):
        Anomaly(score=8.0, severity=AnomalySeverity.LOW, **common)
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        Anomaly(score=8.0, severity=AnomalySeverity.HIGH, **{**common, "confidence": 1.5})


def test_ptp_clock_state_from_metric_value() -> None:
    assert [PtpClockState.from_metric(v) for v in (0, 1, 2, 7, None, float("nan"))] == [
        PtpClockState.FREERUN,
        PtpClockState.LOCKED,
        PtpClockState.HOLDOVER,
        PtpClockState.UNKNOWN,
        PtpClockState.UNKNOWN,
        PtpClockState.UNKNOWN,
    ]


def test_range_query_and_timeout_bounds() -> None:
    now = datetime.now(UTC)
    with pytest.raises(ValidationError, match="start must be before"):
        MetricQuery(promql="up", query_type=QueryType.RANGE, start=now, end=now - timedelta(1))
    with pytest.raises(ValidationError, match="less than or equal to 300"):
        MetricQuery(promql="up", timeout_s=301)
    assert MetricQuery(promql="up").timeout_s == 30


def test_chat_context_window_and_persona_tools() -> None:
    session = ChatSession(
        messages=[ChatMessage(role=ChatRole.USER, content=str(i)) for i in range(60)]
    )
    window = session.context_window()
    assert len(window) == 50 and window[0].content == "10"
    with pytest.raises(ValidationError, match="unknown tools"):
        Persona(
            name=PersonaName.GPU_EXPERT, title="GPU", system_prompt="x", allowed_tools=["rm_rf"]
        )


def test_span_ids_are_hex_and_report_range() -> None:
    with pytest.raises(ValidationError, match="not hexadecimal"):
        Span(
            trace_id="zz", span_id="01", service_name="s", operation="o", start_ns=0, duration_ns=1
        )
    now = datetime.now(UTC)
    report = Report(
        type=ReportType.HANDOVER, title="t", since=now - timedelta(hours=12), until=now,
        clusters=[], generated_at=now, summary=[], sections=[], recommendations=[],
    )  # fmt: skip
    assert report.expires_at - report.generated_at == timedelta(days=90)


def test_a_hub_s_members_are_plausible_names_and_bounded() -> None:
    """A hub's members come from its series' labels or a capture's record: outside text shown
    in views and reports; what is not a plausible cluster name is not a member."""
    from aiops_desktop.models.cluster import MOST_MEMBERS, ClusterStatus

    crafted = ["ran-east", "<img src='/etc/hostname'><b>ran-west</b>", "x" * 5000, "", "ai-lab"]
    assert ClusterStatus(members=crafted).members == ["ran-east", "ai-lab"]
    many = [f"c{i}" for i in range(MOST_MEMBERS + 5)]
    assert len(ClusterStatus(members=many).members) == MOST_MEMBERS
