"""Review of the handover's GPU and PTP reads from a capture: a capture made before a PTP
query existed (GNSS, DPLL) answers it "not_configured", nothing lost, as the fleet reads it;
the handover had said PTP "not read" for every cluster and the CLI exited 3. And the period's
incidents are read in a worker."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from aiops_desktop.models.metrics import ClusterOutcome, lost_reads
from aiops_desktop.models.reports import ReportType
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.settings import resources_dir

OLDER = ("gnss_status", "phase_status", "frequency_status")  # queries a capture may predate


def test_a_query_a_capture_did_not_record_lost_nothing() -> None:
    unrecorded = ClusterOutcome("ran-hub", False, 0.0, reason="not_configured",
                                error="this query was not recorded in the capture")  # fmt: skip
    failed = ClusterOutcome("ran-hub", False, 0.0, reason="timed_out", error="timed out")
    assert lost_reads([unrecorded, failed], recorded=True) == [failed]
    assert lost_reads([unrecorded, failed], recorded=False) == [unrecorded, failed]


def _older_capture(folder: Path) -> Path:
    """The sample capture less the PTP queries added after it could have been made."""
    path = folder / "older.aiops"
    shutil.copy(resources_dir() / "samples" / "sample.aiops", path)
    db = sqlite3.connect(path)
    try:
        key = "recorded_answers"
        answers = json.loads(db.execute("SELECT value FROM app_meta WHERE key=?",
                                        (key,)).fetchone()[0])  # fmt: skip
        gone = [k for k in answers if any(q in k for q in OLDER)]
        assert gone, "the sample records the newer PTP queries"
        for k in gone:
            del answers[k]
        db.execute("UPDATE app_meta SET value=? WHERE key=?", (json.dumps(answers), key))
        db.commit()
    finally:
        db.close()
    return path


@pytest.mark.asyncio
async def test_a_handover_of_an_older_capture_reads_its_ptp(tmp_path: Path) -> None:
    core = await asyncio.to_thread(open_capture, _older_capture(tmp_path))
    try:
        await core.registry.load()
        report, unread = await core.reports.make_told(ReportType.HANDOVER, None,
                                                      timedelta(hours=2))  # fmt: skip
    finally:
        await core.shutdown()
    assert not [line for line in unread if "PTP" in line], unread
    assert report.sections
