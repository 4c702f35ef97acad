"""`aiops-desktop analyse` run again over a breach that began before its window goes on with
the stored episode (as the service's history analysis does): each run stored a new identity
marked open (its start: the window's first sample), and nothing ever ended those."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop.models import utcnow
from aiops_desktop.models.errors import EXIT_OK
from aiops_desktop.services.queries import console
from aiops_desktop.settings import resolve_paths
from tests.qtfree.cli_runner import call_main
from tests.qtfree.range_prometheus import RangePrometheus


def _freerun(query: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
    """One PTP clock in FREERUN (state 0) all along: 0 at each step of the range asked."""
    n = int((end - start) // step) + 1
    values = [[start + i * step, "0"] for i in range(n)]
    return [{"metric": {"__name__": query, "node": "du-1"}, "values": values}]


@pytest.fixture
def freerun() -> Iterator[RangePrometheus]:
    server = RangePrometheus(_freerun)
    yield server
    server.stop()


def test_analyse_run_again_over_one_ongoing_breach_stores_one_episode(
    tmp_path: Path, freerun: RangePrometheus, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = call_main(tmp_path, "clusters", "add", "lab-1", "--prometheus-url",
                             freerun.url)  # fmt: skip
    assert code == 0, err
    began = utcnow()
    for run in range(3):  # 5 minutes apart: each window begins after the breach began
        later = began + timedelta(minutes=5 * run)
        monkeypatch.setattr(console, "utcnow", lambda at=later: at)
        code, out, err = call_main(tmp_path, "analyse", "--query", "openshift_ptp_clock_state",
                                   "--since", "20m", "--step", "1m", "--json")  # fmt: skip
        assert code == EXIT_OK, err
        [found] = json.loads(out)["anomalies"]
        assert found["severity"] == "CRITICAL"
    with closing(sqlite3.connect(resolve_paths(tmp_path).db_path)) as db:
        rows = db.execute("SELECT COUNT(*) FROM anomalies").fetchone()[0]
    assert rows == 1  # one episode, its start before the first window: not one a run
