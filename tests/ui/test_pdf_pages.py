"""A printed report is never cut where a reader would lose the thread: across documents whose
text moves a heading, a table's title, a chart and multi-line table rows over every place a
page ends, none is left at a page's foot without what follows it, no chart crosses a page and
no row is split; and the report writer's PDF says so to poppler (each page's text)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSizeF
from PySide6.QtGui import QTextBlock, QTextCursor, QTextDocument

from aiops_desktop.models.reports import Chart, Report, ReportType, Section, Table
from analysis.reports.render_text import to_html
from ui.pdf_pages import (
    KEPT_LINES,
    OBJECT,
    _heads,
    _in_main_flow,
    _lines,
    _row_span,
    _tables,
    keep_together,
)
from ui.report_pdf import write_pdf
from ui.theme import Theme

PAGE = QSizeF(650, 900)


def _report(lead: int, rows: int = 24) -> Report:
    now = datetime(2026, 12, 4, 12, tzinfo=UTC)
    t = np.arange(0, 6 * 3600, 60.0) + now.timestamp() - 6 * 3600
    reason = "a long reason that wraps "
    table = Table("Alerts in the period", ["When", "Alert", "Why"],
                  [[f"row {i}", "KubePodCrashLooping", reason * (8 if i % 3 == 0 else 1)]
                   for i in range(rows)])  # fmt: skip
    sections = [
        Section("lead", notes=[f"note {i}" for i in range(lead)]),
        Section(
            "east",
            "DEGRADED",
            facts=[("Nodes", "3"), ("Anomalies", "2")],
            tables=[table],
            charts=[Chart("GPU temperature", "C", {"gpu0": (t, 60 + np.sin(t / 900))})],
        ),
        Section(
            "west",
            "ONLINE",
            facts=[("Nodes", "2")],
            tables=[table],
            notes=[reason * 6 for _ in range(4)],
        ),
    ]
    return Report(ReportType.DETAILED, "Paging", now - timedelta(hours=6), now, ["east", "west"],
                  now, ["one"], sections, ["Do this"])  # fmt: skip


def _what_it_heads(document: QTextDocument, block: QTextBlock) -> QTextBlock:
    """The first block after a heading that is neither a heading, a title, an empty block
    nor in a table of facts without a header row (a cluster's health score)."""
    following = block.next()
    while following.isValid():
        table = QTextCursor(following).currentTable()
        if table is not None and not table.format().headerRowCount() and table.rows() <= 2:
            following = table.lastCursorPosition().block().next()
        elif _in_main_flow(document, following) and (_heads(following) or not following.text()):
            following = following.next()
        else:
            return following
    return following


def _cuts(document: QTextDocument) -> list[str]:
    h = document.pageSize().height()
    found = []
    block: QTextBlock = document.begin()
    while block.isValid():
        lines = _lines(document, block)
        if _in_main_flow(document, block) and lines:
            if _heads(block) and block.next().isValid():
                after = _lines(document, _what_it_heads(document, block))
                if after and int(after[0][1] // h) != int(lines[-1][0] // h):
                    found.append(f"heading {block.text()!r} left at a page's foot")
            crosses = int(lines[0][0] // h) != int((lines[-1][1] - 1) // h)
            if crosses and OBJECT in block.text():
                found.append(f"chart {block.text()!r} crosses a page")
            elif crosses and len(lines) <= KEPT_LINES:
                found.append(f"{len(lines)} lines of {block.text()[:20]!r} split by a page")
        block = block.next()
    for table in _tables(document.rootFrame()):
        headers = table.format().headerRowCount()
        under_header = _row_span(document, table, headers)[0] - _row_span(document, table, 0)[0]
        for row in range(table.rows()):
            top, bottom = _row_span(document, table, row)
            if int(top // h) != int((bottom - 1) // h):
                found.append(f"row {row} split")
            previous = _row_span(document, table, row - 1)[1] if row else top
            if row > headers and int(previous // h) != int(top // h) and top % h > 2 * under_header:
                found.append(f"row {row} starts {top % h:.0f} below its page's top")
    return found


def test_nothing_is_cut_by_a_page_wherever_the_pages_end(qapp) -> None:  # type: ignore[no-untyped-def]
    cut_before = 0
    for lead in range(0, 60, 1):  # moves everything below down a line at a time
        document = QTextDocument()
        document.setHtml(to_html(_report(lead), lambda _chart: "chart.png", image_width=500))
        document.setPageSize(PAGE)
        cut_before += len(_cuts(document))
        keep_together(document)
        assert _cuts(document) == [], lead
    assert cut_before > 10  # the documents did have places to mend


def test_the_pdf_repeats_a_table_header_and_numbers_its_pages(tmp_path: Path, theme: Theme) -> None:
    pdf = write_pdf(_report(20, rows=60), tmp_path / "paging.pdf", theme)
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True)  # fmt: skip
    pages = done.stdout.split("\f")[:-1]
    assert len(pages) >= 3
    for n, page in enumerate(pages, 1):
        assert f"Paging · page {n} of {len(pages)}" in page
    # a table continued on the next page starts there with its header again
    continued = [p for p in pages if p.lstrip().startswith("When")]
    assert continued, [p[:80] for p in pages]
