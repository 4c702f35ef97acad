"""The command line's third review: the window's ``--force`` (for ``--screenshot``) is its own
option, refused without ``--screenshot`` (it silently dropped ``report``'s own --force given
before the command); ``analyse`` counts as too short a series none of whose points the
detectors can judge (a series of exactly ANOMALY_MIN_POINTS was an all-clear); a report lists
a member that two hubs name once, under the first (it was written once per hub)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import uuid
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aiops_desktop import qt_boot
from aiops_desktop.cli import build_parser
from aiops_desktop.models.anomalies import ANOMALY_MIN_POINTS
from aiops_desktop.models.errors import EXIT_EXISTS, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from aiops_desktop.models.reports import ReportType
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.services.outputs.reports import gather
from aiops_desktop.settings import resolve_paths, resources_dir
from analysis.methods import iqr, mad, zscore
from tests.qtfree.cli_runner import call_main, run_cli
from tests.qtfree.range_prometheus import RangePrometheus
from tests.qtfree.test_cli_review2_data import _spiked

SAMPLE = resources_dir() / "samples" / "sample.aiops"
NOTES = "# last night: 3 open tickets\n"


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    """A copy of the bundled sample capture: the sample itself is never opened here."""
    copy = tmp_path / "site.aiops"
    shutil.copy(SAMPLE, copy)
    return copy


# -- 1: the window's --force is its own, and only with --screenshot ----------------------------


def test_the_windows_force_is_not_a_commands_force() -> None:
    parser = build_parser()
    assert parser.parse_args(["report", "--out", "x.md", "--force"]).force is True
    shot = parser.parse_args(["--screenshot", "w.png", "--force"])
    assert shot.screenshot_force is True and not hasattr(shot, "force")
    walled = parser.parse_args(["--screenshot", "w.png", "--force", "wall"])
    assert walled.screenshot_force is True
    assert parser.parse_args(["--screenshot", "w.png"]).screenshot_force is False


@pytest.mark.parametrize(
    "command",
    [["report", "--type", "executive", "--out", "NOTES"], ["clusters", "list"], ["fleet"]],
    ids=["report", "clusters-list", "fleet"],
)
def test_force_before_a_command_is_a_usage_error(
    tmp_path: Path, capture: Path, command: list[str]
) -> None:
    notes = tmp_path / "handover.md"
    notes.write_text(NOTES)
    argv = [str(notes) if a == "NOTES" else a for a in command]
    code, out, err = call_main(tmp_path / "home", "--capture", str(capture), "--force", *argv)
    assert code == EXIT_USAGE, out + err
    last = err.strip().splitlines()[-1]
    assert "--force" in last and "--screenshot" in last, err
    assert out == "" and notes.read_text() == NOTES


def test_a_reports_own_force_after_it_still_replaces(tmp_path: Path, capture: Path) -> None:
    notes = tmp_path / "handover.md"
    notes.write_text(NOTES)
    code, _, err = call_main(tmp_path / "home", "--capture", str(capture), "report",
                             "--type", "executive", "--out", str(notes))  # fmt: skip
    assert code == EXIT_EXISTS and notes.read_text() == NOTES, err
    # the report itself is drawn by Qt: in a process of its own (this run blocks Qt)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = run_cli(tmp_path / "home", env, "--capture", str(capture), "report",
                   "--type", "executive", "--out", str(notes), "--force")  # fmt: skip
    assert done.returncode == EXIT_OK, done.stderr
    assert notes.read_text() != NOTES


def test_the_window_reads_the_screenshots_own_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run_qt checks --screenshot by ``screenshot_force`` (a ``force`` of a command's is not
    the window's): refused without it, on to the window with it."""
    paths = resolve_paths(tmp_path / "home")
    notes = tmp_path / "handover-notes.md"
    notes.write_text(NOTES)
    opened: list[Path] = []

    def window(args: argparse.Namespace, *_: Any, **__: Any) -> int:
        opened.append(args.screenshot)
        return 0

    monkeypatch.setattr(qt_boot, "_run_qt", window)
    parser = build_parser()
    # a namespace that also holds a command's force (True): the window must not read it
    refused = parser.parse_args(["--screenshot", str(notes)])
    refused.force = True
    assert qt_boot.run_qt(refused, paths, program=None) == EXIT_EXISTS  # type: ignore[arg-type]
    assert not opened and notes.read_text() == NOTES
    forced = parser.parse_args(["--screenshot", str(notes), "--force"])
    assert qt_boot.run_qt(forced, paths, program=None) == 0  # type: ignore[arg-type]
    assert opened == [notes.resolve()]


# -- 2: analyse: a series with no point the detectors can judge is too short --------------------


@pytest.mark.parametrize("finite", [ANOMALY_MIN_POINTS - 1, ANOMALY_MIN_POINTS,
                                    ANOMALY_MIN_POINTS + 1, ANOMALY_MIN_POINTS + 5])  # fmt: skip
@pytest.mark.parametrize("gaps", [0, 10], ids=["whole", "with-gaps"])
def test_unjudged_is_what_the_detectors_judge_none_of(finite: int, gaps: int) -> None:
    """Counted by the points with a value (a NaN is none), as the detectors count them."""
    from analysis.detect import unjudged

    values = np.r_[np.full(finite - 1, 10.0), 1000.0]
    values = np.insert(values, range(0, 2 * gaps, 2)[:gaps], np.nan) if gaps else values
    ts = np.arange(values.size, dtype=float) * 60
    judged = any(np.isfinite(m(ts, values).scores).any() for m in (zscore, mad, iqr))
    assert unjudged(values) is (not judged)
    assert unjudged(values) is (finite <= ANOMALY_MIN_POINTS)


def _analyse(home: Path, query: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = call_main(home, "--role", "viewer", "analyse", "--query", query,
                               "--since", "1h", "--step", "1m", "--methods", "ZSCORE,MAD,IQR",
                               "--json")  # fmt: skip
    return code, json.loads(out), err


def test_analyse_of_exactly_the_least_points_is_too_short(tmp_path: Path) -> None:
    # a series that began ANOMALY_MIN_POINTS - 1 minutes ago (that many points a minute
    # apart), and one a minute older
    began = {"least": (ANOMALY_MIN_POINTS - 1) * 60.0, "one_more": ANOMALY_MIN_POINTS * 60.0}
    prometheus = RangePrometheus(_spiked(began))
    try:
        code, _, err = call_main(tmp_path, "clusters", "add", "lab-1", "--prometheus-url",
                                 prometheus.url)  # fmt: skip
        assert code == 0, err
        code, doc, err = _analyse(tmp_path, "least")  # none judged
        assert code == EXIT_PARTIAL, err
        assert doc["too_short"] == 1 and doc["anomalies"] == []
        assert f"at most {ANOMALY_MIN_POINTS} points" in err and "1 of 1 series" in err
        # one more: its last point is judged, nothing said short (its window is judged in
        # part: it began within the hour)
        code, doc, err = _analyse(tmp_path, "one_more")
        assert code == EXIT_OK, err
        assert doc["too_short"] == 0 and "partial" not in err and doc["partly_judged"] == 1
    finally:
        prometheus.stop()


# -- 3: a member two hubs name: once in a report, under the first ------------------------------


def _second_hub(capture: Path) -> None:
    """A second fleet hub naming the same members (a Thanos beside an ACM hub)."""
    with closing(sqlite3.connect(capture)) as con:
        doc, updated = con.execute("SELECT doc, updated_at FROM clusters").fetchone()
        hub = json.loads(doc)
        hub.update(id=str(uuid.uuid4()), name="ran-hub-b")
        con.execute("INSERT INTO clusters (id, name, doc, updated_at) VALUES (?, ?, ?, ?)",
                    (hub["id"], hub["name"], json.dumps(hub), updated))  # fmt: skip
        # listed in its manifest too (a record of a cluster it does not list is refused)
        (raw,) = con.execute("SELECT value FROM app_meta WHERE key = 'capture_manifest'").fetchone()
        manifest = json.loads(raw)
        manifest["clusters"] = [*manifest["clusters"], "ran-hub-b"]
        con.execute("UPDATE app_meta SET value = ? WHERE key = 'capture_manifest'",
                    (json.dumps(manifest, sort_keys=True),))  # fmt: skip
        con.commit()


@pytest.mark.asyncio
async def test_a_member_of_two_hubs_is_reported_once(capture: Path) -> None:
    _second_hub(capture)
    core = await asyncio.to_thread(open_capture, capture)
    try:
        await core.registry.load()
        assert [h.name for h in core.registry.hubs_of("ran-east")] == ["ran-hub", "ran-hub-b"]
        one = await gather(core.reports, ReportType.HANDOVER, ["ran-east"], timedelta(hours=1))
        assert [f.name for f in one.clusters] == ["ran-east"]
        fleet = await gather(core.reports, ReportType.HANDOVER, None, timedelta(hours=1))
        names = [f.name for f in fleet.clusters]
        assert len(names) == len(set(names)), names
        assert {"ran-hub", "ran-hub-b", "ran-east", "ran-west"} <= set(names)
        # under the first hub: its section, then its members', then the second hub's own
        assert names.index("ran-hub") < names.index("ran-east") < names.index("ran-hub-b")
    finally:
        await core.shutdown()
