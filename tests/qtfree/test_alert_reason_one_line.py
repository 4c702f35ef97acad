"""An alert's name and summary become a finding's subject and reason as one printable line: a
summary's line breaks made a fixed-height Fleet tile and the Ctrl+K palette's rows many lines
tall, and a right-to-left override made the text read other than it is."""

from __future__ import annotations

from datetime import UTC, datetime

from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.cnf import NodeSync
from aiops_desktop.models.enums import AlertSeverity
from aiops_desktop.services.fleet.findings import ALERT_TEXT_CHARS, alert_findings, sriov_findings


def test_an_alerts_reason_and_subject_are_one_printable_line() -> None:
    alert = Alert(fingerprint="f", cluster="ran-east", name="Node\nDown\u202e",
                  labels={"instance": "du-4\r\n:9100"}, severity=AlertSeverity.CRITICAL,
                  annotations={"summary": "ok\n\n\n\nall good\u202e KO 97 PCB\tnow"},
                  starts_at=datetime(2026, 12, 7, tzinfo=UTC))  # fmt: skip
    (finding,) = alert_findings([alert])
    assert finding.reason == "ok all good KO 97 PCB now"
    assert finding.subject == "Node Down (du-4 :9100)"


def test_a_long_summary_is_still_cut_to_its_most() -> None:
    alert = Alert(fingerprint="f", cluster="ran-east", name="X", severity=AlertSeverity.WARNING,
                  annotations={"summary": "line\n" * 1000},
                  starts_at=datetime(2026, 12, 7, tzinfo=UTC))  # fmt: skip
    (finding,) = alert_findings([alert])
    assert len(finding.reason) == ALERT_TEXT_CHARS and finding.reason.endswith("…")
    assert "\n" not in finding.reason


def test_an_sriov_error_is_one_line_in_its_finding() -> None:
    row = NodeSync(node="worker-1", status="Failed", error="VF\nconfig\u202e failed")
    (finding,) = sriov_findings("ran-east", [row])["ran-east"]
    assert finding.reason == "SR-IOV sync Failed: VF config failed"
