"""Page breaks a printed report can be read across: a heading (or a table's or chart's title)
never ends a page without what it heads, a chart is never cut from its title, and a table row
is never split between two pages (its header row is repeated on the next). A short table of
facts right under a heading (a cluster's health score and anomalies) is the heading's lead-in:
the heading, it and the next heading go to the next page together with the first line they
head, so a page never ends on a cluster's name and its two facts.

QTextDocument paginates by lines only: it moves a line that would cross the foot of a page to
the next one, so a heading may be the last line of a page, the last line of a short paragraph
or list item may stand alone at the top of the next, and a row of several lines may start on
one page and end on the next. After laying the document out at the printed page's size,
this moves the first such place to the next page (a page break before a heading or title, more
padding in a split row's cells: just enough that the row's first line no longer fits above the
page's foot, so the row starts under the header row repeated there, not a gap lower), lays out
again what follows it and goes on from there, in one pass down the document: a move changes
nothing above it.

Qt cannot lay out again only a little past a change: it lays out from the change to the end of
the document (or, while it lays out lazily, past where it had laid out to, further with each
change: soon the end too). Moves made in the document itself so cost a layout of all that
follows each of them, the square of the report's size in all (a 40-cluster handover: over a
minute). They are made in a copy of the document's beginning instead, which holds only a chunk
or two past what is being read and is grown a chunk at a time (``_HeldCopy``); the copy is the
document (text, formats, layout), so its moves are the document's, made there at the end as one
change."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtGui import (
    QTextBlock,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
    QTextFormat,
    QTextFrame,
    QTextTable,
)

OBJECT = "\ufffc"  # an image's place in a block's text
_AUTO = QTextFormat.PageBreakFlag.PageBreak_Auto
MOST_MOVES = 400  # a bound, at the least: each block or row is moved once at most
LEAD_IN_ROWS = 6  # the most rows a table of facts right under a heading has to be its lead-in
KEPT_LINES = 4  # a paragraph or list item of at most this many lines is never split by a page

#: a move found and not made yet: made, it returns the first block it moved (or padded)
Move = Callable[[], QTextBlock]


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


def _break_before(block: QTextBlock) -> QTextBlock:
    cursor = QTextCursor(block)
    fmt = cursor.blockFormat()
    fmt.setPageBreakPolicy(QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
    cursor.setBlockFormat(fmt)
    return block


def _in_main_flow(document: QTextDocument, block: QTextBlock) -> bool:
    return block.isValid() and QTextCursor(block).currentFrame() is document.rootFrame()


def _lead_in(document: QTextDocument, block: QTextBlock) -> QTextTable | None:
    """The table ``block`` is in when that table is a heading's lead-in: a few rows of facts
    that come right after a heading in the main flow."""
    table = QTextCursor(block).currentTable() if block.isValid() else None
    if table is None or table.rows() > LEAD_IN_ROWS or table.format().headerRowCount():
        return None  # a table with a header row holds data, not a heading's facts
    before = table.firstCursorPosition().block().previous()
    heading = _in_main_flow(document, before) and before.blockFormat().headingLevel() > 0
    return table if heading else None


def _with_its_heads(document: QTextDocument, block: QTextBlock) -> QTextBlock:
    """``block`` or, when headings and titles (and a heading's lead-in) come right before it,
    the first of them: they go to the next page with what they head."""
    while True:
        before = block.previous()
        if _in_main_flow(document, before) and _heads(before):
            block = before
            continue
        table = _lead_in(document, before)
        if table is None:
            return block
        block = table.firstCursorPosition().block().previous()  # the heading it leads in


def _headed(document: QTextDocument, block: QTextBlock) -> QTextBlock:
    """The first block after heading ``block`` that is not a heading, a title or a heading's
    lead-in: what it heads."""
    following = block.next()
    while following.isValid():
        table = _lead_in(document, following)
        if table is not None:
            following = table.lastCursorPosition().block().next()
        elif _in_main_flow(document, following) and (_heads(following) or not following.text()):
            following = following.next()  # a heading, a title, or the empty block after a table
        else:
            break
    return following


def _must_move(document: QTextDocument, block: QTextBlock, page_h: float) -> bool:
    """A heading or title whose next line is on a later page (past its lead-in and the
    headings after it), or a block holding a chart, or of at most ``KEPT_LINES`` lines,
    that crosses the foot of a page."""
    lines = _lines(document, block)
    if not lines or block.blockFormat().pageBreakPolicy() != _AUTO:
        return False
    crosses = _page(lines[-1][1] - 1, page_h) != _page(lines[0][0], page_h)
    if crosses and (OBJECT in block.text() or len(lines) <= KEPT_LINES):
        return True  # a chart, or a short paragraph that would leave a line or two behind
    following = _headed(document, block) if _heads(block) else block.next()
    if not (_heads(block) and following.isValid()):
        return False
    after = _lines(document, following)
    return bool(after) and _page(after[0][1] - 1, page_h) != _page(lines[-1][0], page_h)


def _stranded(document: QTextDocument, block: QTextBlock, page_h: float) -> QTextBlock | None:
    """Where a page must start for ``block`` of the main flow to be read whole: before it or
    its headings; None when it is not cut."""
    if not (_in_main_flow(document, block) and _must_move(document, block, page_h)):
        return None
    first = _with_its_heads(document, block)
    return first if first.blockFormat().pageBreakPolicy() == _AUTO else block  # they start one


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


def _first_line_h(document: QTextDocument, table: QTextTable, row: int) -> float:
    """The shortest first line among a row's cells: the row's lines all leave the page once
    that one no longer fits above its foot (Qt moves a line that would cross it to the next
    page, under the header rows it repeats there)."""
    heights = []
    for column in range(table.columns()):
        lines = _lines(document, table.cellAt(row, column).firstCursorPosition().block())
        heights += [bottom - top for top, bottom in lines[:1]]
    return min(heights, default=0.0)


def _push_split_row(
    document: QTextDocument, table: QTextTable, row: int, page_h: float
) -> Move | None:
    """The move of ``row`` down to the next page when it crosses the foot of a page (and is
    not taller than a page), None when the row is not cut; made, it returns the first block of
    the row padded for it. The row above it gets the padding below its text (a row's own top
    padding would go with it to the next page, a gap under the header row repeated there):
    just enough that the row's first line no longer fits above the foot, so Qt starts the row
    on the next page, under its header."""
    headers = table.format().headerRowCount()
    top, bottom = _row_span(document, table, row)
    if bottom - top >= page_h or _page(top, page_h) == _page(bottom - 1, page_h):
        return None
    foot = (_page(top, page_h) + 1) * page_h
    push = max(foot - top - _first_line_h(document, table, row) + 1.0, 1.0)
    padded, side = (row - 1, "bottom") if row > headers else (row, "top")

    def pad() -> QTextBlock:
        for column in range(table.columns()):
            cell = table.cellAt(padded, column)
            fmt = cell.format().toTableCellFormat()
            if side == "bottom":
                fmt.setBottomPadding(fmt.bottomPadding() + push)
            else:  # the first row under the header: the header must not stay behind
                fmt.setTopPadding(fmt.topPadding() + foot - top)
            cell.setFormat(fmt)
        return table.cellAt(padded, 0).firstCursorPosition().block()

    return pad


def _row_starting(block: QTextBlock) -> tuple[QTextTable, int] | None:
    """The table and row whose first cell ``block`` starts, if it does."""
    cursor = QTextCursor(block)
    table = cursor.currentTable()
    if table is None:
        return None
    cell = table.cellAt(cursor)
    if cell.column() or cell.firstPosition() != block.position():
        return None
    return table, cell.row()


def _first_cut(held: _HeldCopy, block: QTextBlock, page_h: float) -> Move | None:
    """The move of the first place from ``block`` of ``held``'s copy on that a page cuts (see
    the module), None when nothing from ``block`` on is cut. The copy is grown as it is read
    (``_HeldCopy.holding``)."""
    document = held.copy
    while block.isValid():
        block = held.holding(block)
        first = _stranded(document, block, page_h)
        if first is not None:
            return partial(_break_before, first)
        row = _row_starting(block)
        if row is not None:
            push = _push_split_row(document, *row, page_h)
            if push is not None:
                return push
        block = block.next()
    return None


def _checked_from(document: QTextDocument, block: QTextBlock) -> QTextBlock:
    """The first block whose check may change when ``block`` moves: ``block``, or the
    headings, titles, empty blocks and headings' lead-ins right before it (a heading is kept
    with the first line past them), and a table's header rows (Qt moves them with the first
    row under them, and a heading is kept with them)."""
    while True:
        before = block.previous()
        if _in_main_flow(document, before) and (_heads(before) or not before.text()):
            block = before
            continue
        table = _lead_in(document, before) or _header_of(before)
        if table is None:
            return block
        block = table.firstCursorPosition().block()  # then what is before the table


def _header_of(block: QTextBlock) -> QTextTable | None:
    """The table whose header rows ``block`` is in, if it is."""
    cursor = QTextCursor(block)
    table = cursor.currentTable() if block.isValid() else None
    if table is None or table.cellAt(cursor).row() >= table.format().headerRowCount():
        return None
    return table


CHUNK_CHARS = 2_500  # the least a chunk of the held copy holds: a move lays out a chunk or two


def _chunk_starts(document: QTextDocument) -> list[int]:
    """Where the chunks that ``_HeldCopy`` grows by start, ``CHUNK_CHARS`` apart at the least:
    paragraphs of the main flow that are no heading or title, nor empty, so that no check of
    a block before one reads past it (a heading is kept with the first such line after it).
    Tables and lists are never cut: a fragment starting at a list item added an empty block
    to the copy, and all after it was laid out lower than in the report."""
    starts: list[int] = []
    it = document.rootFrame().begin()
    while not it.atEnd():
        block = it.currentBlock()
        if (
            block.isValid()
            and block.position() >= (starts[-1] if starts else 0) + CHUNK_CHARS
            and block.text().strip()
            and not block.text().startswith("\u2028")  # Qt moves it up into a table before it
            and not _heads(block)
            and block.textList() is None
        ):
            starts.append(block.position())
        it += 1
    return starts


class _HeldCopy:
    """The copy of the document's beginning that ``keep_together`` moves things in (see the
    module), grown a chunk at a time as it reads down: a move lays out again only the chunk or
    two it holds past it."""

    def __init__(self, document: QTextDocument) -> None:
        self.document = document
        self.starts = _chunk_starts(document)
        self.held = 0  # chunks held after the first: the copy ends at starts[held] (or the end)
        # a child of the document, freed with it: made with no parent, no Python object owned
        # it and a copy of the report and its layout was left behind by each PDF
        self.copy = document.clone(document)
        if self.starts:
            tail = QTextCursor(self.copy)
            tail.setPosition(self.starts[0])
            tail.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
            tail.removeSelectedText()
        # laid out whole now, the copy is never laid out lazily: a change is laid out to its
        # end at once, not a step at a time as it is read (each step again from Qt's last
        # checkpoint before it, up to a page or two up)
        self.copy.documentLayout().documentSize()

    def holding(self, block: QTextBlock) -> QTextBlock:
        """``block`` of the copy, once the copy holds the chunk after the one it is in (all that
        a check of it may read: up to the first line of the next chunk)."""
        position = block.position()
        while self.held < len(self.starts) and position >= (
            self.starts[self.held - 1] if self.held else 0
        ):
            self._append(self.held)
            self.held += 1
        return self.copy.findBlock(position)

    def _append(self, chunk: int) -> None:
        start = self.starts[chunk]
        last = chunk + 1 == len(self.starts)
        end = self.document.characterCount() - 1 if last else self.starts[chunk + 1]
        source = QTextCursor(self.document)
        source.setPosition(start)
        source.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        first = self.document.findBlock(start)
        into = QTextCursor(self.copy)
        into.movePosition(QTextCursor.MoveOperation.End)
        # one change, laid out when it ends; never inside a move's edit block: Qt adds the
        # tables inserted to the copy's frames only when that ends (laid out before, their
        # cells were at the top of the page)
        into.beginEditBlock()
        try:
            # the copy's last block, empty, takes the chunk's first line and keeps its format
            into.setBlockFormat(first.blockFormat())
            into.setBlockCharFormat(first.charFormat())
            into.insertFragment(QTextDocumentFragment(source))
        finally:
            into.endEditBlock()

    def copy_moves(self, positions: set[int]) -> None:
        """The formats moved at ``positions`` in the copy, set the same in the document (a page
        break before a block; a row's cells' padding), as one change laid out again once."""
        if not positions:
            return
        edit = QTextCursor(self.document)
        edit.beginEditBlock()
        try:
            for position in positions:
                moved = QTextCursor(self.copy.findBlock(position))
                into = QTextCursor(self.document.findBlock(position))
                table, mirror = moved.currentTable(), into.currentTable()
                if table is None or mirror is None:  # a page break before a block: only that
                    # (the copy's whole format took a list item out of its list, unnumbered)
                    _break_before(into.block())
                    continue
                row = table.cellAt(moved).row()  # padded
                for column in range(table.columns()):
                    mirror.cellAt(row, column).setFormat(table.cellAt(row, column).format())
            start = min(positions)
            self.document.markContentsDirty(start, self.document.characterCount() - start)
        finally:
            edit.endEditBlock()


def keep_together(document: QTextDocument) -> int:
    """Move headings, titles, charts and table rows that a page would cut (see the module);
    ``document`` must have its page size set. Returns how many were moved."""
    page_h = document.pageSize().height()
    held = _HeldCopy(document)
    return _moves(held, page_h)


def _moves(held: _HeldCopy, page_h: float) -> int:
    """The moves made in ``held``'s copy, set in its document; how many."""
    copy = held.copy
    moves, most = 0, max(MOST_MOVES, held.document.blockCount())
    moved_at: set[int] = set()
    block = copy.rootFrame().firstCursorPosition().block()
    edit = QTextCursor(copy)
    while moves < most:
        move = _first_cut(held, block, page_h)
        if move is None:
            break
        # a move's format changes and the layout of what follows them, as one change: Qt
        # lays out each change at once (each cell's format: a second or more on a large
        # report), and a changed format alone was laid out again only in part (blocks after
        # it were left without lines, or where they had been). Inside an edit block a change
        # waits for its end, and markContentsDirty lays it out with the rest, once
        edit.beginEditBlock()
        try:
            moved = move()
            moves += 1
            moved_at.add(moved.position())
            # nothing above what moved changed: look again from it (and what heads it), and
            # lay out again only from there (to the copy's end: a chunk or two)
            block = _checked_from(copy, moved)
            start = block.position()
            copy.markContentsDirty(start, copy.characterCount() - start)
        finally:
            edit.endEditBlock()
    held.copy_moves(moved_at)
    return moves
