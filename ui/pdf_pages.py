"""Page breaks a printed report can be read across: a heading (or a table's or chart's title)
never ends a page without what it heads, a chart is never cut from its title, and a table row
is never split between two pages (its header row is repeated on the next).

QTextDocument paginates by lines only: it moves a line that would cross the foot of a page to
the next one, so a heading may be the last line of a page and a row of several lines may start
on one page and end on the next. After laying the document out at the printed page's size,
this moves the first such place to the next page (a page break before a heading or title, more
top padding in a split row's cells), lays out again and repeats until none is left."""

from __future__ import annotations

from PySide6.QtGui import (
    QTextBlock,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QTextFrame,
    QTextTable,
)

OBJECT = "\ufffc"  # an image's place in a block's text
_AUTO = QTextFormat.PageBreakFlag.PageBreak_Auto
MOST_MOVES = 400  # a bound: every move pushes the rest of the document down


def _page(y: float, page_h: float) -> int:
    return int(y // page_h)


def _lines(document: QTextDocument, block: QTextBlock) -> list[tuple[float, float]]:
    """Each laid-out line of ``block`` as (top, bottom) in document coordinates."""
    top = document.documentLayout().blockBoundingRect(block).top()
    layout = block.layout()
    return [
        (top + layout.lineAt(i).y(), top + layout.lineAt(i).y() + layout.lineAt(i).height())
        for i in range(layout.lineCount())
    ]


def _heads(block: QTextBlock) -> bool:
    """A heading, or a paragraph that is only a bold title (what a table or chart follows)."""
    if block.blockFormat().headingLevel() > 0:
        return True
    text = block.text().strip()
    if not text or OBJECT in text:
        return False
    it = block.begin()
    fragments = []
    while not it.atEnd():
        fragments.append(it.fragment())
        it += 1
    return all(f.charFormat().fontWeight() >= 600 for f in fragments if f.text().strip())


def _break_before(block: QTextBlock) -> None:
    cursor = QTextCursor(block)
    fmt = cursor.blockFormat()
    fmt.setPageBreakPolicy(QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
    cursor.setBlockFormat(fmt)


def _in_main_flow(document: QTextDocument, block: QTextBlock) -> bool:
    return block.isValid() and QTextCursor(block).currentFrame() is document.rootFrame()


def _with_its_heads(document: QTextDocument, block: QTextBlock) -> QTextBlock:
    """``block`` or, when headings and titles come right before it, the first of them: they
    go to the next page with what they head."""
    while _in_main_flow(document, block.previous()) and _heads(block.previous()):
        block = block.previous()
    return block


def _must_move(document: QTextDocument, block: QTextBlock, page_h: float) -> bool:
    """A heading or title whose next line is on a later page, or a block holding a chart
    that crosses the foot of a page."""
    lines = _lines(document, block)
    if not lines or block.blockFormat().pageBreakPolicy() != _AUTO:
        return False
    if OBJECT in block.text() and _page(lines[-1][1] - 1, page_h) != _page(lines[0][0], page_h):
        return True
    following = block.next()
    if not (_heads(block) and following.isValid()):
        return False
    after = _lines(document, following)
    return bool(after) and _page(after[0][1] - 1, page_h) != _page(lines[-1][0], page_h)


def _first_stranded(document: QTextDocument, page_h: float) -> QTextBlock | None:
    """The first block of the main flow that must start a new page (with its headings)."""
    block = document.rootFrame().firstCursorPosition().block()
    while block.isValid():
        if _in_main_flow(document, block) and _must_move(document, block, page_h):
            first = _with_its_heads(document, block)
            return (
                first if first.blockFormat().pageBreakPolicy() == _AUTO else block
            )  # its headings already start a page
        block = block.next()
    return None


def _tables(frame: QTextFrame) -> list[QTextTable]:
    found = []
    for child in frame.childFrames():
        if isinstance(child, QTextTable):
            found.append(child)
        found += _tables(child)
    return found


def _row_span(document: QTextDocument, table: QTextTable, row: int) -> tuple[float, float]:
    layout = document.documentLayout()
    tops, bottoms = [], []
    for column in range(table.columns()):
        cell = table.cellAt(row, column)
        tops.append(layout.blockBoundingRect(cell.firstCursorPosition().block()).top())
        bottoms.append(layout.blockBoundingRect(cell.lastCursorPosition().block()).bottom())
    return min(tops), max(bottoms)


def _push_first_split_row(document: QTextDocument, page_h: float) -> bool:
    """Move the first row that crosses the foot of a page down to the next page (by padding
    its cells' tops); False when no row crosses one (or one is taller than a page)."""
    for table in _tables(document.rootFrame()):
        for row in range(table.rows()):
            top, bottom = _row_span(document, table, row)
            if bottom - top >= page_h or _page(top, page_h) == _page(bottom - 1, page_h):
                continue
            push = (_page(top, page_h) + 1) * page_h - top
            for column in range(table.columns()):
                cell = table.cellAt(row, column)
                fmt = cell.format().toTableCellFormat()
                fmt.setTopPadding(fmt.topPadding() + push)
                cell.setFormat(fmt)
            return True
    return False


def keep_together(document: QTextDocument) -> int:
    """Move headings, titles, charts and table rows that a page would cut (see the module);
    ``document`` must have its page size set. Returns how many were moved."""
    page_h = document.pageSize().height()
    moves = 0
    while moves < MOST_MOVES:
        stranded = _first_stranded(document, page_h)
        if stranded is not None:
            _break_before(stranded)
        elif not _push_first_split_row(document, page_h):
            break
        moves += 1
        # a changed format is laid out again lazily, and not always to the end (blocks after
        # it were left without lines): lay out the whole document again
        document.markContentsDirty(0, document.characterCount())
    return moves
