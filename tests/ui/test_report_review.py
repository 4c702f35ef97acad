"""Review of the report PDF and the New report dialog: a large fleet's report is paged in one
pass down the document (laid out again only below each move, not from the top after each
one); the footer's title is shortened, never the page number; a second request while a
report is being made is said to be refused, and a dialog shows only its own request's files;
a capacity plan's period is a week by default."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSizeF
from PySide6.QtGui import QFont, QTextDocument

from aiops_desktop.models.reports import Report, ReportType, Section, Table
from aiops_desktop.services.outputs.reports import claim_paths, report_path
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from analysis.reports.render_text import to_html
from tests.ui.test_pdf_pages import _cuts
from ui import pdf_pages
from ui.dialogs.report_dialog import ReportDialog
from ui.pdf_pages import keep_together
from ui.presenters.reports import ReportsPresenter
from ui.report_pdf import write_pdf
from ui.theme import Theme

UNTIL = datetime(2026, 12, 2, 12, tzinfo=UTC)


# -- #4: one pass down the document -------------------------------------------------------
def _fleet(clusters: int) -> Report:
    """A handover of ``clusters`` clusters, each with its facts, a table of alerts (some rows
    of several lines) and notes: tables, headings and rows cross many pages' feet."""
    reason = "a long reason that wraps "
    sections = []
    for c in range(clusters):
        rows = [[f"{c}-{i}", "KubePodCrashLooping", reason * (6 if (i + c) % 4 else 1)]
                for i in range(8 + c % 5)]  # fmt: skip
        sections.append(
            Section(
                f"cluster-{c:03d}",
                "DEGRADED",
                facts=[("Health score", "70"), ("Anomalies", str(c))],
                tables=[Table("Alerts in the period", ["When", "Alert", "Why"], rows)],
                notes=[reason * (1 + c % 3)],
            )
        )
    names = [s.title for s in sections]
    return Report(ReportType.HANDOVER, "Fleet", UNTIL - timedelta(hours=12), UNTIL, names,
                  UNTIL, ["s"], sections, ["Do this"])  # fmt: skip


class _Counted(QTextDocument):
    """Where each full-document layout request starts (``markContentsDirty``)."""

    def __init__(self) -> None:
        super().__init__()
        self.dirty_from: list[int] = []

    def markContentsDirty(self, start: int, length: int) -> None:
        self.dirty_from.append(start)
        super().markContentsDirty(start, length)


def test_a_large_report_is_paged_in_one_pass_down_the_document(qapp, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    document = _Counted()
    # a font of its own: the application's (another test's theme) changes where pages end
    document.setDefaultFont(QFont("DejaVu Sans", 9))
    document.setHtml(to_html(_fleet(30), lambda _chart: "", image_width=500))
    document.setPageSize(QSizeF(650, 900))
    checked = 0
    must_move = pdf_pages._must_move

    def counted(*args: Any) -> bool:
        nonlocal checked
        checked += 1
        return must_move(*args)

    monkeypatch.setattr(pdf_pages, "_must_move", counted)
    moves = keep_together(document)
    assert moves >= 10  # a report with many places to mend
    # each block is checked about once, not once more after every move (that took minutes)
    block, main_flow = document.begin(), 0
    while block.isValid():
        main_flow += pdf_pages._in_main_flow(document, block)
        block = block.next()
    assert checked <= 2 * main_flow, (checked, main_flow, moves)
    # each move is laid out again from where it is, down: never the whole document again
    assert document.dirty_from == sorted(document.dirty_from) and min(document.dirty_from) > 0
    assert _cuts(document) == []
    # and what was laid out as it went is what a fresh layout of the whole gives (printed)
    document.markContentsDirty(0, document.characterCount())
    assert _cuts(document) == []


# -- #8: the footer's title is elided -----------------------------------------------------
def test_a_long_title_is_shortened_in_the_footer_never_the_page_number(
    tmp_path: Path, theme: Theme
) -> None:
    names = [f"ran-site-{i:03d}" for i in range(40)]
    title = f"Shift handover: {', '.join(names)}, 12 h"  # build_report's default title
    report = Report(ReportType.HANDOVER, title, UNTIL - timedelta(hours=12), UNTIL, names,
                    UNTIL, ["s"], [Section("x", notes=["n"])], [])  # fmt: skip
    pdf = write_pdf(report, tmp_path / "t.pdf", theme, {})
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    foot = [line.strip() for line in text.splitlines() if "page 1 of 1" in line]
    assert len(foot) == 1, text
    assert foot[0].startswith("Shift handover: ran-site-000, ran-site-001"), foot
    assert foot[0].endswith("… · page 1 of 1"), foot


# -- #5: a second request while one is being made -----------------------------------------
class _SlowReports:
    """A report service whose reports take ``delay`` seconds to make (a long period's read)."""

    def __init__(self, folder: Path, delay: float) -> None:
        self.folder, self.delay = folder, delay
        self.asked: list[tuple[str, timedelta]] = []

    def cluster_names(self) -> list[str]:
        return ["ran-east", "ran-west"]

    async def make(
        self, kind: ReportType, names: Any, since: timedelta, _until: Any = None
    ) -> Report:
        self.asked.append((kind.value, since))
        await asyncio.sleep(self.delay)
        return Report(kind, kind.heading, UNTIL - since, UNTIL, names or [], UNTIL, ["s"], [], [])

    def new_paths(self, report: Report, formats: list[str]) -> list[Path]:
        return claim_paths([report_path(self.folder, report, f) for f in formats])

    def prune(self) -> list[Path]:
        return []

    def kept(self) -> list[Path]:
        return sorted(self.folder.iterdir())


@pytest.fixture
def slow(qloop, qtbot, theme: Theme, tmp_path: Path) -> Any:  # type: ignore[no-untyped-def]
    service = _SlowReports(tmp_path, 0.5)
    presenter = ReportsPresenter(reports=service, theme=theme, tasks=TaskSupervisor())  # type: ignore[arg-type]
    yield service, presenter
    presenter.close()
    # the list of reports read after each one: done before the loop is checked for tasks
    qtbot.waitUntil(lambda: not [t for t in asyncio.all_tasks(qloop) if not t.done()])


def _ask(dialog: ReportDialog, kind: ReportType, period: str, fmt: str) -> None:
    dialog.kind.setCurrentIndex(list(ReportType).index(kind))
    dialog.period.setCurrentText(period)
    for name, box in dialog.formats.items():
        box.setChecked(name == fmt)
    dialog.generate_button.click()


def test_a_second_request_while_a_report_is_made_is_refused_and_said(qtbot, slow) -> None:  # type: ignore[no-untyped-def]
    service, presenter = slow
    first = ReportDialog(presenter)
    qtbot.addWidget(first)
    _ask(first, ReportType.HANDOVER, "12 h", "pdf")
    first.close()  # closed while its report is made; a new dialog asks for another
    second = ReportDialog(presenter)
    qtbot.addWidget(second)
    _ask(second, ReportType.EXECUTIVE, "7 days", "json")
    assert "already being made" in second.status.text()
    assert second.generate_button.isEnabled() and not second.progress.isVisibleTo(second)
    qtbot.waitUntil(lambda: first.status.text().startswith("Written:"), timeout=10_000)
    qtbot.wait(100)
    # the second dialog never shows the first request's files as its own
    assert "Written" not in second.status.text()
    assert "already being made" in second.status.text()
    assert service.asked == [("handover", timedelta(hours=12))]
    # asked again once it is written: made, and shown in that dialog
    second.generate_button.click()
    qtbot.waitUntil(lambda: second.status.text().startswith("Written:"), timeout=10_000)
    assert second.status.text().endswith(".json")
    assert service.asked[1] == ("executive", timedelta(days=7))
    assert first.status.text().endswith(".pdf")  # the first dialog kept its own


def test_generate_says_whether_it_started(qtbot, slow) -> None:  # type: ignore[no-untyped-def]
    _service, presenter = slow
    done: list[list[str]] = []
    presenter.sig_done.connect(done.append)
    started = presenter.generate(ReportType.HANDOVER, None, timedelta(hours=12), ["md"])
    assert started is not None
    assert presenter.generate(ReportType.EXECUTIVE, None, timedelta(hours=12), ["md"]) is None
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    again = presenter.generate(ReportType.EXECUTIVE, None, timedelta(hours=12), ["md"])
    assert again is not None and again != started
    qtbot.waitUntil(lambda: len(done) == 2, timeout=10_000)


def test_a_dialog_takes_only_its_own_request_s_progress(qtbot, slow) -> None:  # type: ignore[no-untyped-def]
    _service, presenter = slow
    asking = ReportDialog(presenter)
    watching = ReportDialog(presenter)  # open beside it, asked nothing
    qtbot.addWidget(asking)
    qtbot.addWidget(watching)
    untouched = watching.progress.value()
    _ask(asking, ReportType.HANDOVER, "12 h", "md")
    assert asking.progress.isVisibleTo(asking)
    qtbot.waitUntil(lambda: asking.status.text().startswith("Written:"), timeout=10_000)
    assert asking.progress.value() == 100
    assert watching.status.text() == "" and watching.generate_button.isEnabled()
    assert not watching.progress.isVisibleTo(watching)
    assert watching.progress.value() == untouched


def test_a_failed_report_is_said_only_in_its_own_dialog(qtbot, slow) -> None:  # type: ignore[no-untyped-def]
    service, presenter = slow

    async def broken(*_args: Any) -> Report:
        raise OSError("the cache could not be read")

    service.make = broken
    asking = ReportDialog(presenter)
    watching = ReportDialog(presenter)
    qtbot.addWidget(asking)
    qtbot.addWidget(watching)
    errors: list[str] = []
    presenter.sig_error.connect(errors.append)  # the Reports page shows it too
    _ask(asking, ReportType.HANDOVER, "12 h", "md")
    qtbot.waitUntil(lambda: "could not be made" in asking.status.text(), timeout=10_000)
    assert "the cache could not be read" in asking.status.text()
    assert asking.generate_button.isEnabled()
    assert watching.status.text() == ""
    assert errors and "the cache could not be read" in errors[0]


# -- the period a report type asks for by default -----------------------------------------
def test_a_capacity_plan_asks_for_a_week_by_default(qtbot, slow) -> None:  # type: ignore[no-untyped-def]
    _service, presenter = slow
    dialog = ReportDialog(presenter)
    qtbot.addWidget(dialog)
    assert dialog.kind.currentData() == ReportType.HANDOVER
    assert dialog.period.currentText() == "12 h"
    dialog.kind.setCurrentIndex(list(ReportType).index(ReportType.CAPACITY))
    assert dialog.period.currentText() == "7 days"  # a trend needs days of history
    dialog.kind.setCurrentIndex(list(ReportType).index(ReportType.EXECUTIVE))
    assert dialog.period.currentText() == "12 h"
    dialog.period.setCurrentText("24 h")  # chosen: kept whatever the type
    dialog.kind.setCurrentIndex(list(ReportType).index(ReportType.CAPACITY))
    assert dialog.period.currentText() == "24 h"


def test_a_title_with_a_line_break_is_one_footer_line(tmp_path: Path, theme: Theme) -> None:
    """The footer is drawn in one line's rectangle: a break in the title (a user's --title, a
    name from a file) drew its first part below the page's edge, out of sight."""
    title = "Shift handover\nsite b: all clear\t12 h"
    report = Report(ReportType.HANDOVER, title, UNTIL - timedelta(hours=12), UNTIL, ["a"],
                    UNTIL, ["s"], [Section("x", notes=["n"])], [])  # fmt: skip
    pdf = write_pdf(report, tmp_path / "t.pdf", theme, {})
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    foot = [line.strip() for line in text.splitlines() if "page 1 of 1" in line]
    assert foot == ["Shift handover site b: all clear 12 h · page 1 of 1"], text
