"""A report drawn with Qt: its charts in the app's own chart style (``TimeSeriesChart``,
rendered offscreen), the text laid out by QTextDocument at the page's size, moved so that no
heading, chart or table row is cut by a page's foot (``ui.pdf_pages``), and painted page by
page to PDF through QPrinter (docs/architecture.md#platform-notes: QPdfWriter needs 96 dpi).
HTML exports embed the same chart images as PNG data. Only drawing the charts needs the UI
thread (a widget is grabbed): given the charts' images (``chart_images``), laying the report
out and writing it uses QImage, QTextDocument and QPainter on a printer alone, which Qt allows
in a worker thread, so the app writes its files there. Paper is white: reports are always in
the light theme, whatever the window's; and set without ligatures, so that an identifier such
as "ptp_offset" is found and copied from the PDF as it is written ("ff" stays two letters)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QTextDocument,
    QTextOption,
)
from PySide6.QtPrintSupport import QPrinter

from aiops_desktop.files import write_whole
from aiops_desktop.models.errors import AppError
from aiops_desktop.models.reports import Chart, Report
from aiops_desktop.models.text import one_line
from aiops_desktop.services.outputs.reports import release_unwritten
from analysis.reports.render_text import to_html, to_json, to_markdown
from ui.charts import TimeSeriesChart
from ui.pdf_pages import keep_together
from ui.theme import Theme, load_theme

CHART_PX = (1200, 360)  # drawn at this size, shown at half: crisp on paper
CHART_SHOWN_W = 500  # inside A4's text width at the printer's 96 dpi


def paper_theme(_window_theme: Theme | None = None) -> Theme:
    """Reports are printed on white, in the light theme, whatever the window shows."""
    return load_theme("light")


#: the ticks' and legend's size on the chart image: shown at 500 of its 1200 px, so they read
#: as about 8 pt on paper
PAPER_TICK_PX = 20


#: a report chart's lines: drawn once, then scaled down to the page (a screen's 1 px fades)
PAPER_LINE_PX = 2.0


def chart_image(chart: Chart, theme: Theme) -> QImage:
    paper = paper_theme(theme)
    widget = TimeSeriesChart(chart.title, chart.unit, paper)
    widget.line_width = PAPER_LINE_PX
    try:
        plot = widget.getPlotItem()
        tick = QFont(paper.font_family)
        tick.setPixelSize(PAPER_TICK_PX)
        for side in ("left", "bottom"):
            plot.getAxis(side).setStyle(tickFont=tick)
            plot.getAxis(side).label.setFont(tick)
        plot.getAxis("bottom").setHeight(PAPER_TICK_PX * 2)  # room for the bigger time ticks
        plot.getAxis("left").setWidth(PAPER_TICK_PX * 4)
        widget.set_title_size(f"{PAPER_TICK_PX + 2}px")
        if widget.legend is not None:
            widget.legend.setLabelTextSize(f"{PAPER_TICK_PX - 2}px")
        widget.resize(*CHART_PX)
        widget.set_series(chart.series)
        widget.getPlotItem().enableAutoRange()
        return widget.grab().toImage()
    finally:
        widget.deleteLater()


#: each chart's image, by the chart's identity (``id``) in the report it was drawn for
Images = dict[int, QImage]


def chart_images(report: Report, theme: Theme) -> Images:
    """Every chart of ``report`` drawn: a widget is grabbed, so on the UI thread."""
    return {id(c): chart_image(c, theme) for s in report.sections for c in s.charts}


def _png_data(image: QImage) -> str:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs say bytes: Qt refuses them
    buffer.close()
    return "data:image/png;base64," + base64.b64encode(bytes(data.data())).decode("ascii")


def report_html(report: Report, theme: Theme, images: Images | None = None) -> str:
    """A self-contained HTML file: the charts as embedded PNG images (``images``, else drawn
    here: then on the UI thread)."""
    drawn = chart_images(report, theme) if images is None else images
    return to_html(report, lambda chart: _png_data(drawn[id(chart)]))


def _no_ligatures(font: QFont) -> QFont:
    for feature in ("liga", "clig", "dlig"):
        font.setFeature(QFont.Tag(feature), 0)
    return font


#: the page's margins (mm) and the footer's height (px) under the text
PAGE_MARGIN_MM = 18
FOOTER_PX = 24


def _paged_document(report: Report, theme: Theme, page: QSizeF, images: Images) -> QTextDocument:
    """The report laid out on pages of ``page`` size with nothing cut by a page's foot (its
    charts: ``images``, QImage resources, so this may run in a worker thread)."""
    document = QTextDocument()
    document.setDefaultFont(_no_ligatures(QFont(paper_theme(theme).font_family, 10)))
    wrap = QTextOption()
    # at word boundaries (an identifier is not broken mid-word), and inside a word only when
    # it is wider than its column: WordWrap left a 300-character label running off the page
    wrap.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    document.setDefaultTextOption(wrap)
    names: dict[int, str] = {}

    def image_for(chart: Chart) -> str:
        name = names.setdefault(id(chart), f"chart{len(names)}.png")
        document.addResource(
            QTextDocument.ResourceType.ImageResource, QUrl(name), images[id(chart)]
        )
        return name

    document.setHtml(to_html(report, image_for, image_width=CHART_SHOWN_W))
    document.setPageSize(page)
    keep_together(document)
    return document


def write_pdf(report: Report, path: Path, theme: Theme, images: Images | None = None) -> Path:
    """Print ``report`` on A4, page by page (QTextDocument.print_ would lay it out again and
    undo what ``keep_together`` moved), each page's foot saying "title · page n of N". Its
    charts: ``images`` (then any thread may call this), else drawn here (the UI thread)."""
    drawn = chart_images(report, theme) if images is None else images
    printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(path))
    margin = QMarginsF(*(PAGE_MARGIN_MM,) * 4)
    printer.setPageLayout(
        QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                    margin, QPageLayout.Unit.Millimeter)
    )  # fmt: skip
    printer.setDocName(report.title)
    printer.setCreator("AIOps Desktop")
    area = printer.pageRect(QPrinter.Unit.DevicePixel)
    page = QSizeF(area.width(), area.height() - FOOTER_PX)
    document = _paged_document(report, theme, page, drawn)
    pages = document.pageCount()
    painter = QPainter()
    if not painter.begin(printer):
        raise PdfNotWritten(f"could not write the PDF {path}")
    try:
        footer_font = _no_ligatures(QFont(paper_theme(theme).font_family, 8))
        title = one_line(report.title)  # drawn in one line's rectangle
        for index in range(pages):
            if index:
                printer.newPage()
            painter.save()
            painter.setClipRect(QRectF(0, 0, page.width(), page.height()))
            painter.translate(0, -index * page.height())
            context = QAbstractTextDocumentLayout.PaintContext()
            context.clip = QRectF(0, index * page.height(), page.width(), page.height())
            document.documentLayout().draw(painter, context)
            painter.restore()
            painter.setFont(footer_font)
            painter.setPen(QColor(paper_theme(theme).color("text_muted")))
            foot = QRectF(0, page.height(), page.width(), FOOTER_PX)
            corner = Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignRight
            number = f" · page {index + 1} of {pages}"
            # one line, right-aligned: a title longer than the page (a fleet's every cluster
            # named) is shortened at its end, else it ran off the page's left edge
            room = page.width() - painter.fontMetrics().horizontalAdvance(number)
            shown = painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight, int(room))
            painter.drawText(foot, int(corner), shown + number)
    finally:
        painter.end()
    if not path.exists() or not _ends_whole(path):
        raise PdfNotWritten(f"could not write the PDF {path}")
    return path


class PdfNotWritten(OSError):
    """Qt wrote no PDF, or not all of one, and says no why (a full disk cuts it short)."""


def _ends_whole(path: Path) -> bool:
    """Whether the PDF at ``path`` ends as a PDF ends (its "%%EOF" line): one cut short by a
    full disk does not, and Qt does not say so."""
    with path.open("rb") as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - 64))
        return b"%%EOF" in f.read()


class ReportNotWritten(AppError, OSError):
    """A report file that could not be written (a full disk, a folder that cannot be
    written), named: one line on the command line (an AppError, exit 1)."""


WRITERS = {
    "html": report_html,
    "md": lambda report, _theme, _images: to_markdown(report),
    "json": lambda report, _theme, _images: to_json(report),
}
DRAWN = ("pdf", "html")  # the formats that show the charts' images


def needs_images(outs: list[Path]) -> bool:
    """Whether writing ``outs`` shows charts (so their images are to be drawn first)."""
    return any(out.suffix.lower().lstrip(".") in DRAWN for out in outs)


def write_report_files(
    report: Report, outs: list[Path], theme: Theme, images: Images | None = None
) -> list[Path]:
    """Write ``report`` to each path in the format its suffix names (.pdf .html .md .json).
    PDF and HTML show the charts: given their ``images`` (``chart_images``, drawn on the UI
    thread), this may run in a worker thread; without, it draws them, so it runs where Qt
    may draw (the UI thread)."""
    for out in outs:
        if out.suffix.lower().lstrip(".") not in (*DRAWN, *WRITERS):
            raise ValueError(f"{out}: a report is written as .pdf, .html, .md or .json")
    written: list[Path] = []
    try:  # a chart that fails while drawn (or ^C) lets the claimed names go too
        if images is None and needs_images(outs):
            images = chart_images(report, theme)
        for out in outs:
            _write_whole(report, out, theme, images)
            written.append(out)
    except BaseException:
        release_unwritten(outs, written)
        raise
    return written


def _write_whole(report: Report, out: Path, theme: Theme, images: Images | None) -> None:
    """``out`` written whole or not at all (``write_whole``); ReportNotWritten names it and
    says why."""
    fmt = out.suffix.lower().lstrip(".")

    def write(partial: Path) -> None:
        if fmt == "pdf":
            write_pdf(report, partial, theme, images)
        else:
            partial.write_text(WRITERS[fmt](report, theme, images), "utf-8")

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_whole(out, write)
    except OSError as exc:
        why = exc.strerror or (
            "the PDF was not written whole (is the disk full?)"
            if isinstance(exc, PdfNotWritten)
            else str(exc)
        )
        raise ReportNotWritten(f"could not write {out}: {why}") from exc
