"""Review of a report's claimed files (``claim_paths``: created empty first, its own names):
the app quitting while the report's charts are drawn, or a chart failing, lets them go, in
the app and on the command line (they stayed as empty files listed among the reports)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import ui.presenters.reports as presenter_module
from aiops_desktop.models.reports import ReportType
from aiops_desktop.services.outputs.reports import claim_paths
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.ui.test_report_writing import _long_report, _Reports
from ui import report_pdf
from ui.presenters.reports import ReportsPresenter
from ui.theme import Theme

FORMATS = ["pdf", "html", "md"]


class ChartFailed(RuntimeError):
    """A chart that could not be drawn."""


def _failing_chart(*_args: Any) -> Any:
    raise ChartFailed("the chart could not be drawn")


def test_quitting_while_the_charts_are_drawn_leaves_no_empty_reports(  # type: ignore[no-untyped-def]
    qtbot, qloop, theme: Theme, tmp_path: Path, monkeypatch
) -> None:
    tasks = TaskSupervisor()
    quitting: list[asyncio.Task[None]] = []
    real = presenter_module.chart_image

    def drawn_as_the_app_quits(*args: Any) -> Any:
        if not quitting:  # the window closes: every task cancelled at its next await
            quitting.append(asyncio.ensure_future(tasks.shutdown()))
        return real(*args)

    monkeypatch.setattr(presenter_module, "chart_image", drawn_as_the_app_quits)
    presenter = ReportsPresenter(reports=_Reports(tmp_path, _long_report(3)),  # type: ignore[arg-type]
                                 theme=theme, tasks=tasks)  # fmt: skip
    done: list[list[str]] = []
    presenter.sig_done.connect(done.append)
    try:
        presenter.generate(ReportType.DETAILED, None, timedelta(days=7), FORMATS)
        qtbot.waitUntil(lambda: bool(quitting) and quitting[0].done(), timeout=30_000)
    finally:
        presenter.close()
    assert not done
    assert list(tmp_path.iterdir()) == []


def test_a_chart_that_fails_leaves_no_empty_reports(  # type: ignore[no-untyped-def]
    qtbot, qloop, theme: Theme, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(presenter_module, "chart_image", _failing_chart)
    presenter = ReportsPresenter(reports=_Reports(tmp_path, _long_report(3)),  # type: ignore[arg-type]
                                 theme=theme, tasks=TaskSupervisor())  # fmt: skip
    failed: list[str] = []
    presenter.sig_failed.connect(failed.append)
    try:
        presenter.generate(ReportType.DETAILED, None, timedelta(days=7), FORMATS)
        qtbot.waitUntil(lambda: bool(failed) and not presenter.busy, timeout=30_000)
    finally:
        presenter.close()
    assert "could not be drawn" in failed[0]
    assert list(tmp_path.iterdir()) == []


def test_a_chart_that_fails_on_the_command_line_leaves_no_empty_reports(  # type: ignore[no-untyped-def]
    qapp, theme: Theme, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(report_pdf, "chart_image", _failing_chart)
    outs = claim_paths([tmp_path / f"detailed.{fmt}" for fmt in FORMATS])
    with pytest.raises(ChartFailed):
        report_pdf.write_report_files(_long_report(3), outs, theme)  # drawn here, as the CLI
    assert list(tmp_path.iterdir()) == []


def test_qt_failing_to_start_for_the_command_line_leaves_no_empty_report(  # type: ignore[no-untyped-def]
    qapp, tmp_path: Path, monkeypatch
) -> None:
    """^C (or a Qt that cannot start) while the CLI boots Qt for its charts: the report's
    file name is taken only after, so none is left empty and listed."""
    from aiops_desktop import qt_boot
    from aiops_desktop.cli import main

    def interrupted() -> Theme:
        raise KeyboardInterrupt  # while Qt and pyqtgraph load (a second or more)

    monkeypatch.setattr(qt_boot, "headless_theme", interrupted)
    sample = Path(__file__).resolve().parents[2] / "resources" / "samples" / "sample.aiops"
    home = tmp_path / "home"
    rc = main(["--data-dir", str(home), "--capture", str(sample), "report", "--type",
               "executive", "--since", "2h"])  # fmt: skip
    assert rc == 130  # interrupted
    assert sorted(p.name for p in (home / "reports").glob("*")) == []
