"""Writing a long report from the app: its charts are drawn on the UI thread (a widget is
grabbed), the files laid out and written in a worker thread, so the window stays live; the
files hold everything a report written in one go does."""

from __future__ import annotations

import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

import ui.presenters.reports as presenter_module
from aiops_desktop.models.reports import Report, ReportType
from aiops_desktop.services.outputs.reports import claim_paths
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from analysis.reports.build import (
    DEFAULT_ROW_LIMIT,
    ClusterFacts,
    PanelData,
    ReportInputs,
    build_report,
)
from ui.presenters.reports import ReportsPresenter
from ui.theme import Theme

UNTIL = datetime(2026, 11, 27, 6, tzinfo=UTC)
SINCE = UNTIL - timedelta(days=7)


def _long_report(alerts: int = 300) -> Report:
    """A week's detailed report of 2 clusters, each with ``alerts`` alerts fired and its
    memory chart."""
    clusters = []
    for c in range(2):
        history = [(SINCE + timedelta(minutes=30 * i), SINCE + timedelta(minutes=30 * i + 10),
                    "warning", "KubePodCrashLooping", f"Pod du-{c}/vdu-{i} is restarting")
                   for i in range(alerts)]  # fmt: skip
        t = np.arange(SINCE.timestamp(), UNTIL.timestamp(), 300.0)
        panels = {"node_memory": PanelData("Node memory used", "percent",
                                           {"n1": (t, 40 + np.sin(t / 5000) * 10)})}  # fmt: skip
        clusters.append(ClusterFacts(f"ran-{c}", "ONLINE", 100, alert_history=history,
                                     panels=panels))  # fmt: skip
    return build_report(ReportInputs(ReportType.DETAILED, SINCE, UNTIL, UNTIL, clusters))


def pdf_text(pdf: Path) -> str:
    done = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    return " ".join(done.stdout.split())


class _Reports:
    """What the presenter asks of the report service."""

    def __init__(self, folder: Path, report: Report) -> None:
        self.folder, self.report = folder, report

    async def make(self, *_args: Any) -> Report:
        return self.report

    def path_for(self, report: Report, fmt: str) -> Path:
        return self.folder / f"{report.type.value}.{fmt}"

    def new_paths(self, report: Report, formats: list[str]) -> list[Path]:
        return claim_paths([self.path_for(report, fmt) for fmt in formats])

    def prune(self) -> list[Path]:
        return []

    def kept(self) -> list[Path]:
        return []


def test_a_long_report_is_written_off_the_ui_thread(  # type: ignore[no-untyped-def]
    qtbot, qloop, theme: Theme, tmp_path: Path, monkeypatch
) -> None:
    on_ui_thread: list[bool] = []
    real = presenter_module.write_report_files

    def spy(*args: Any) -> list[Path]:
        on_ui_thread.append(threading.current_thread() is threading.main_thread())
        return real(*args)

    monkeypatch.setattr(presenter_module, "write_report_files", spy)
    presenter = ReportsPresenter(reports=_Reports(tmp_path, _long_report()),  # type: ignore[arg-type]
                                 theme=theme, tasks=TaskSupervisor())  # fmt: skip
    done: list[list[str]] = []
    listed: list[list[Any]] = []
    presenter.sig_done.connect(done.append)
    presenter.sig_listed.connect(listed.append)
    try:
        presenter.generate(ReportType.DETAILED, None, timedelta(days=7), ["pdf", "html", "md"])
        qtbot.waitUntil(lambda: bool(listed), timeout=120_000)
    finally:
        presenter.close()
    assert on_ui_thread == [False]
    assert sorted(Path(p).suffix for p in done[0]) == [".html", ".md", ".pdf"]
    text = pdf_text(tmp_path / "detailed.pdf")
    cut = f"(300 fired, 300 resolved; the {DEFAULT_ROW_LIMIT} latest of 300)"
    assert text.count(cut) == 2 and "ran-1" in text and "Node memory used" in text
    assert "Pod du-1/vdu-299 is restarting" in text  # the latest kept
    assert "Pod du-1/vdu-249 is restarting" not in text
    html = (tmp_path / "detailed.html").read_text()
    assert html.count("data:image/png;base64,") == 2  # each cluster's chart


def test_a_report_that_fails_midway_leaves_no_empty_claimed_file(
    tmp_path: Path, theme: Theme, monkeypatch: Any
) -> None:
    """Its files are claimed empty first (``claim_paths``); one not written because writing
    failed was listed among the reports as an empty file."""
    import pytest

    import ui.report_pdf as writing

    report = _long_report(alerts=3)
    md, js = claim_paths([tmp_path / "r.md", tmp_path / "r.json"])

    def broken(*_args: Any) -> str:
        raise OSError("disk full")

    monkeypatch.setitem(writing.WRITERS, "json", broken)
    with pytest.raises(OSError, match="disk full"):
        writing.write_report_files(report, [md, js], theme)
    assert md.stat().st_size > 0  # written before the failure: kept
    assert not js.exists()


def test_a_link_planted_under_the_partial_name_is_never_written_through(
    tmp_path: Path, theme: Theme
) -> None:
    """A report is written beside its name first (``.NAME.partial``), then moved into place:
    a link planted under that name (a shared folder) had the report written over the link's
    target, and the report's own name became the link."""
    from ui.report_pdf import write_report_files

    victim = tmp_path / "victim"
    victim.write_text("the person's kubeconfig\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    outs = [shared / "r.md", shared / "r.pdf"]
    for out in outs:
        (shared / f".{out.name}.partial").symlink_to(victim)
    write_report_files(_long_report(alerts=3), outs, theme)
    assert victim.read_text() == "the person's kubeconfig\n"
    for out in outs:
        assert not out.is_symlink() and out.stat().st_size > 1000
    # written in a folder of its own (0700) beside it, gone once moved into place: nothing
    # of the shared folder's is ever opened by name
    assert sorted(p.name for p in shared.iterdir()) == sorted(
        [".r.md.partial", ".r.pdf.partial", "r.md", "r.pdf"])  # fmt: skip
    assert "KubePodCrashLooping" in pdf_text(shared / "r.pdf")
