"""The XID rule runs live: the catalog polls DCGM's XID gauge (``gpu_xid_errors``), a live
series is named by its panel, and that name is a GPU event, so a new XID code is a CRITICAL
anomaly by rule (no panel polled it: XIDs were fleet findings only)."""

from __future__ import annotations

import numpy as np

from aiops_desktop.models.anomalies import AnomalyMethod, AnomalySeverity
from aiops_desktop.services.polling.catalog import load_catalog
from analysis.detect import SeriesInput, detect_anomalies
from analysis.signals import SignalType, classify


def test_the_catalog_polls_the_xid_gauge_as_a_gpu_event() -> None:
    (panel,) = [p for p in load_catalog() if "DCGM_FI_DEV_XID_ERRORS" in p.promql]
    assert panel.id == "gpu_xid_errors"
    assert classify(panel.id, panel.unit) is SignalType.GPU_EVENT


def test_a_new_xid_on_the_panel_is_critical_by_rule() -> None:
    ts = 1_700_000_000 + np.arange(40) * 15.0
    codes = np.zeros(40)
    codes[25:] = 79
    found = detect_anomalies(
        SeriesInput("ran-east", "gpu_xid_errors", {"Hostname": "gpu-1", "gpu": "3"}, ts, codes),
        unit="code",
    )
    (xid,) = found
    assert xid.method is AnomalyMethod.DOMAIN_RULE and xid.severity is AnomalySeverity.CRITICAL
    assert "XID 79" in xid.explanation
