"""What paging a report costs Qt, counted, not timed: Qt lays a change out again from it to
the end of the document it is in, so moves made in the whole report laid out all that follows
each of them (a large fleet's handover took minutes); made in a copy held a chunk at a time,
each lays out again a bounded part. The copy is the report (its text, formats and layout), so
the moves made in it are those made laying out the whole report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QSizeF, QUrl
from PySide6.QtGui import QColor, QFont, QImage, QTextBlock, QTextDocument, QTextFormat

from aiops_desktop.models.reports import Chart, Report, ReportType, Section
from analysis.reports.build import ClusterFacts, Found, ReportInputs, build_report
from analysis.reports.render_text import to_html
from tests.ui.test_pdf_pages import _cuts, _report
from tests.ui.test_report_review import _fleet
from ui import pdf_pages
from ui.pdf_pages import keep_together

UNTIL = datetime(2026, 12, 2, 12, tzinfo=UTC)
PAGE = QSizeF(650, 900)
#: x of a block's layout that Qt never gives: a block still there was not laid out again
UNTOUCHED_X = -12345.0


def _handover(clusters: int) -> Report:
    """A handover whose every page has a place to mend: each cluster's alerts and findings,
    tables of rows of several lines, cross pages' feet."""
    why = ("the pod restarted after its liveness probe failed " * 6)[:300]
    facts = [
        ClusterFacts(f"c{c:03d}", "CRITICAL", 0, observed=True,
                     findings=[Found("CRITICAL", "alerts", f"a{i} {why[:100]}", why)
                               for i in range(10)],
                     alerts=[("CRITICAL", f"A{i}", why) for i in range(10)])
        for c in range(clusters)
    ]  # fmt: skip
    return build_report(ReportInputs(ReportType.HANDOVER, UNTIL - timedelta(hours=12), UNTIL,
                                     UNTIL, facts))  # fmt: skip


def _document(report: Report, images: tuple[str, ...] = ()) -> QTextDocument:
    document = QTextDocument()
    # a font of its own: the application's (another test's theme) changes where pages end
    document.setDefaultFont(QFont("DejaVu Sans", 9))
    for name in images:
        image = QImage(1200, 360, QImage.Format.Format_RGB32)
        image.fill(QColor("white"))
        document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), image)
    document.setHtml(to_html(report, lambda _chart: "chart.png", image_width=500))
    document.setPageSize(PAGE)
    return document


def _blocks(document: QTextDocument) -> list[QTextBlock]:
    found, block = [], document.begin()
    while block.isValid():
        found.append(block)
        block = block.next()
    return found


def _laid_out_again_per_move(document: QTextDocument, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many blocks Qt laid out again after each move (in whatever document the moves are
    made): before a move is laid out, every block's layout is marked with an x Qt never gives
    (it places each block it lays out, or moves down, afresh); after, those unmarked count."""
    counts: list[int] = []
    marked: list[QTextDocument] = []
    first_cut = pdf_pages._first_cut

    def counted(*args: Any) -> Any:
        if marked:  # the last move has been made and laid out since
            counts.append(sum(b.layout().position().x() != UNTOUCHED_X for b in _blocks(marked[0])))
        move = first_cut(*args)
        laid_out = args[1].document()
        for block in _blocks(laid_out):
            block.layout().setPosition(QPointF(UNTOUCHED_X, block.layout().position().y()))
        marked[:] = [laid_out]
        return move

    monkeypatch.setattr(pdf_pages, "_first_cut", counted)
    keep_together(document)
    return counts


def test_each_move_lays_out_again_a_bounded_part_of_the_report(qapp, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    document = _document(_handover(16))
    counts = _laid_out_again_per_move(document, monkeypatch)
    blocks = document.blockCount()
    assert len(counts) >= 20  # a report with a place to mend on most pages
    # in the whole report each move laid out again all that follows it (as far as Qt had
    # laid out, a little further with each move): up to 717 of its 1645 blocks, 6 times the
    # report in all (24 moves). In the copy: 160 at the most, under twice the report in all
    assert max(counts) <= blocks / 6, (max(counts), blocks)
    assert sum(counts) <= 3 * blocks, (sum(counts), blocks)


def _recommending(lead: int) -> Report:
    """A report whose numbered recommendations, two lines each, reach a page's foot."""
    report = _report(lead, rows=30)
    report.recommendations = [f"do {i} " + "word " * 22 for i in range(10)]
    return report


def _paged(report: Report, monkeypatch: pytest.MonkeyPatch, chunk: int) -> tuple[int, str]:
    monkeypatch.setattr(pdf_pages, "CHUNK_CHARS", chunk)
    document = _document(report, ("chart.png",))
    moves = keep_together(document)
    assert _cuts(document) == []
    return moves, document.toHtml()


@pytest.mark.parametrize(
    "report",
    [_fleet(12), _handover(6), *(_report(lead, rows=24 + lead) for lead in range(0, 50, 7)),
     *(_recommending(lead) for lead in range(0, 60, 6))],
)  # fmt: skip
def test_moves_made_a_chunk_at_a_time_are_those_made_in_the_whole_report(
    report: Report, qapp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # chunks of a few lines (a boundary at nearly every paragraph), against one chunk: the copy
    # held whole, the report laid out again to its end after each move, as before
    whole = _paged(report, monkeypatch, 10**9)
    assert whole[0] >= 1
    assert _paged(report, monkeypatch, 300) == whole


def test_the_copy_held_is_the_report_itself(qapp, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Grown to its end, the copy has the report's text, formats (headings, tables' header rows,
    cells, lists, a chart's image) and the same layout, block by block."""
    monkeypatch.setattr(pdf_pages, "CHUNK_CHARS", 300)
    t = np.arange(0, 3600, 60.0) + UNTIL.timestamp() - 3600
    report = _report(12, rows=30)
    report.sections.append(
        Section("north", "ONLINE", facts=[("Nodes", "4")],
                charts=[Chart("GPU power", "W", {"gpu0": (t, 200 + np.cos(t / 600))})],
                notes=[f"note {i}" for i in range(12)])
    )  # fmt: skip
    document = _document(report, ("chart.png",))
    held = pdf_pages._HeldCopy(document)
    assert len(held.starts) >= 4  # at a chart and paragraphs (tables and lists are never cut)
    held.holding(held.copy.lastBlock())
    while held.held < len(held.starts):
        held.holding(held.copy.lastBlock())
    assert held.copy.toHtml() == document.toHtml()

    def laid_out(d: QTextDocument) -> list[tuple[int, str, float, float, int]]:
        rect = d.documentLayout().blockBoundingRect
        return [(b.position(), b.text(), rect(b).top(), rect(b).left(), b.layout().lineCount())
                for b in _blocks(d)]  # fmt: skip

    assert laid_out(held.copy) == laid_out(document)


def test_a_recommendation_moved_to_the_next_page_stays_in_its_list(qapp, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The copy's whole block format was set back on a moved list item: it left its list,
    unnumbered, and the items after it were numbered again. No chunk starts in a list (a
    fragment from a list item added an empty block to the copy)."""
    monkeypatch.setattr(pdf_pages, "CHUNK_CHARS", 300)
    moved = 0
    auto = QTextFormat.PageBreakFlag.PageBreak_Auto
    for lead in range(0, 60, 3):
        document = _document(_recommending(lead))
        assert all(document.findBlock(p).textList() is None
                   for p in pdf_pages._chunk_starts(document))  # fmt: skip
        items = document.toHtml().count("<li")
        keep_together(document)
        broken = [b for b in _blocks(document) if b.text().startswith("do ")
                  and b.blockFormat().pageBreakPolicy() != auto]  # fmt: skip
        assert all(b.textList() is not None for b in broken), [b.text()[:5] for b in broken]
        assert document.toHtml().count("<li") == items
        moved += len(broken)
    assert moved  # some item was moved
