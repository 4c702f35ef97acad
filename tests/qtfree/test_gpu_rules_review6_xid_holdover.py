"""The anomaly rules grade an XID as the XID table (``resources/gpu/xid.json``) the GPU page
uses does, and a clock in HOLDOVER as the PTP page and the fleet do: an application's XID (13,
31, 43) or a clock holding over is a WARNING in the fleet, not a CRITICAL; an XID 79, the
table's other critical codes, an XID not in it and a clock gone FREERUN stay CRITICAL by rule
(README: "CRITICAL by rule only")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.models.enums import AnomalySeverity, FindingSeverity
from aiops_desktop.models.gpu import GpuState
from aiops_desktop.services.fleet.findings import anomaly_findings
from aiops_desktop.services.gpu_cnf.gpu import xid_table
from aiops_desktop.services.intelligence.anomalies import AnomalyService
from aiops_desktop.services.polling.catalog import load_catalog
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.store.anomalies import AnomalyRepository
from aiops_desktop.store.database import Database
from aiops_desktop.store.series import SeriesStore
from analysis.detect import SeriesInput, detect_anomalies
from analysis.rules import RuleHit, apply_rule, rule_for
from analysis.signals import SignalType

XID_METRIC = "DCGM_FI_DEV_XID_ERRORS"
TS = 1_700_000_000 + np.arange(40) * 15.0


def _xid_hit(code: float) -> RuleHit:
    check = rule_for(SignalType.GPU_EVENT, XID_METRIC, xid_table())
    assert check is not None
    hit = apply_rule(check, np.array([0.0, code]))[1]
    assert hit is not None
    return hit


@pytest.mark.parametrize("code", [13, 31, 43])
def test_an_application_xid_is_a_warning_named_by_its_meaning(code: int) -> None:
    info = xid_table()[code]
    hit = _xid_hit(code)
    assert hit.grade is AnomalySeverity.HIGH and hit.grade.level is FindingSeverity.WARNING
    assert f"XID {code}" in hit.reason and info.name in hit.reason
    assert info.meaning in hit.reason


def test_every_xid_of_the_table_reads_at_its_table_severity() -> None:
    for code, info in xid_table().items():
        level = _xid_hit(code).grade.level
        assert level.value == info.severity.value, code
    assert _xid_hit(79).grade is AnomalySeverity.CRITICAL


def test_an_xid_not_in_the_table_stays_critical() -> None:
    hit = _xid_hit(4321)
    assert hit.grade is AnomalySeverity.CRITICAL and "XID 4321" in hit.reason


def test_without_a_table_every_xid_stays_critical() -> None:
    """analysis reads no file: the table is handed in; a caller that hands none (a one-off
    look at a series) keeps every XID CRITICAL, as before."""
    check = rule_for(SignalType.GPU_EVENT, XID_METRIC)
    assert check is not None
    hit = apply_rule(check, np.array([0.0, 13.0]))[1]
    assert hit is not None and hit.grade is AnomalySeverity.CRITICAL


def _fleet_severity(metric: str, values: np.ndarray) -> list[FindingSeverity]:
    found = detect_anomalies(
        SeriesInput("ran-east", metric, {"Hostname": "n1"}, TS, values), xids=xid_table()
    )  # as the service hands it in
    return [f.severity for f in anomaly_findings(found).get("ran-east", [])]


def test_the_fleet_says_warning_for_an_xid_13_and_critical_for_an_xid_79() -> None:
    xid = np.zeros(40)
    xid[25:] = 13
    assert _fleet_severity(XID_METRIC, xid) == [FindingSeverity.WARNING]
    xid[25:] = 79
    assert _fleet_severity(XID_METRIC, xid) == [FindingSeverity.CRITICAL]


def test_holdover_is_a_warning_freerun_critical() -> None:
    states = np.ones(40)
    states[20:30] = 2.0  # HOLDOVER, then LOCKED again
    assert _fleet_severity("openshift_ptp_clock_state", states) == [FindingSeverity.WARNING]
    check = rule_for(SignalType.PTP_CLOCK_STATE, "openshift_ptp_clock_state")
    assert check is not None
    holdover, freerun = apply_rule(check, np.array([2.0, 0.0]))
    assert holdover is not None and holdover.grade is AnomalySeverity.HIGH
    assert freerun is not None and freerun.grade is AnomalySeverity.CRITICAL
    states[20:30] = 0.0  # FREERUN
    assert _fleet_severity("openshift_ptp_clock_state", states) == [FindingSeverity.CRITICAL]
    assert GpuState.WARNING.value == FindingSeverity.WARNING.value  # the scales compared above


@pytest.mark.asyncio
async def test_the_apps_detection_grades_an_xid_by_the_table_it_reads(tmp_path: Path) -> None:
    """The service hands the GPU page's XID table to the detection it runs (analysis reads
    no file): an XID 13 it finds is HIGH (the fleet's WARNING), an XID 79 CRITICAL."""
    db = Database(tmp_path / "cache.sqlite3")
    svc = AnomalyService(AnomalyRepository(db), EventBus(), live=LiveBuffers(),
                         series=SeriesStore(db), catalog=load_catalog())  # fmt: skip
    try:
        found = {}
        for code in (13, 79):
            xid = np.zeros(40)
            xid[25:] = code
            series = SeriesInput("ran-east", XID_METRIC, {"Hostname": f"n{code}"}, TS, xid)
            anomalies = await svc.analyse([series], keep=False)
            found[code] = {a.severity for a in anomalies}
        assert found == {13: {AnomalySeverity.HIGH}, 79: {AnomalySeverity.CRITICAL}}
    finally:
        svc.close()
        db.close()
