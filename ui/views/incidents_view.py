"""The incidents page: incidents (open first) filtered by state and severity; the selected
one's timeline (a double click on an anomaly jumps to its chart), Acknowledge, and "Analyse
root cause", whose result (the ranking, the evidence charts and the next checks) fills the
Root cause tab."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models.enums import IncidentStatus, Verdict
from aiops_desktop.models.fleet import SEVERITY_RANK, Domain
from aiops_desktop.models.incidents import ExplanationView, Incident, RcaReport
from aiops_desktop.models.observability import pod_entity, service_of_pod
from aiops_desktop.models.text import printable, time_text
from ui.presenters.incidents import EXPLAIN_STOPPED
from ui.theme import Theme
from ui.views.page import page_title, scrolled
from ui.views.rows_table import TIP_CHARS, Row, tip_lines
from ui.views.streamed import StreamedText
from ui.views.tables import make_table
from ui.views.text import PlainLabel, cell_line

ALL = "All"
SHOWN_CHARTS = 3
RANKING_MIN_HEIGHT = 150  # pixels: the header and four causes
CHART_MIN_HEIGHT = 170  # pixels: a plot squeezed under its two-line legend showed nothing
CHART_MAX_HEIGHT = 260
EXPLANATION_MIN_HEIGHT = 200
CHART_TITLE_CHARS = 100  # a chart title's most (an entity names a pod whole below it)
#: the State column sorts by the lifecycle (as declared: open, acknowledged, resolved), as
#: the list comes; by the word, ACKNOWLEDGED sorted above OPEN
_STATE_ORDER = {state: n for n, state in enumerate(IncidentStatus)}


class RcaPanel(QWidget):
    """The root-cause analysis of one incident: ranked causes, their evidence charts and the
    runbook's next checks; "Explain" asks the local model to tell it, each of its sentences
    marked verified (it cites evidence, its numbers, times, dates and names match), cited, not
    checked (it cites evidence but holds nothing to match) or unverified. A cause that is a pod
    has its error logs and its service's failing traces one click away. Signals: sig_explain(),
    sig_logs(cluster, labels, epoch s, errors only), sig_traces(cluster, service, epoch s)."""

    sig_explain = Signal()
    sig_logs = Signal(str, dict, float, bool)
    sig_traces = Signal(str, str, float)
    #: the model's reply is shown as it streams, not yet checked
    _drafting = False

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout()  # scrolled when short: squeezed, charts and checks were cut
        scrolled(outer, layout)
        self.summary = PlainLabel("Select an incident and choose Analyse root cause.")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.ranking = make_table(["#", "Cause", "Confidence", "First change", "Evidence"])
        self.ranking.itemSelectionChanged.connect(self._on_cause_chosen)
        self.ranking.setMinimumHeight(RANKING_MIN_HEIGHT)
        layout.addWidget(self.ranking, 1)
        jumps = QHBoxLayout()
        self.logs_button = QPushButton("Its error logs")
        self.logs_button.setToolTip("The chosen cause's error lines around the incident")
        self.logs_button.clicked.connect(self._on_logs)
        self.traces_button = QPushButton("Its failing traces")
        self.traces_button.setToolTip("The failing traces through the chosen cause's service")
        self.traces_button.clicked.connect(self._on_traces)
        for button in (self.logs_button, self.traces_button):
            button.setEnabled(False)
            jumps.addWidget(button)
        jumps.addStretch(1)
        layout.addLayout(jumps)
        self._report: RcaReport | None = None
        self.checks = PlainLabel()  # above the charts: what to do is read before the detail
        self.checks.setWordWrap(True)
        self.checks.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.checks)
        explain_bar = QHBoxLayout()  # the words before the charts: read first, asked for
        self.explain_button = QPushButton("Explain")
        self.explain_button.setToolTip("The local model tells this analysis, citing its evidence")
        self.explain_button.setEnabled(False)
        self.explain_button.clicked.connect(self.sig_explain.emit)
        explain_bar.addWidget(self.explain_button)
        self.explain_state = PlainLabel("Analyse a root cause first; Explain then tells it.")
        self.explain_state.setWordWrap(True)
        self.explain_state.setProperty("muted", True)
        explain_bar.addWidget(self.explain_state, 1)
        layout.addLayout(explain_bar)
        self.explanation = QTextBrowser()
        self.explanation.setOpenLinks(False)
        self.explanation.setOpenExternalLinks(False)
        self.explanation.setVisible(False)
        self.explanation.setMinimumHeight(EXPLANATION_MIN_HEIGHT)
        layout.addWidget(self.explanation, 2)
        self.charts_row = QHBoxLayout()
        layout.addLayout(self.charts_row, 3)
        self.charts: list[QWidget] = []
        self._streamed = StreamedText(self.explanation.setPlainText, self)

    def show_explain_state(self, text: str) -> None:
        """A state other than "explaining" while a draft is shown (no checked explanation came:
        the model failed, or it was stopped) marks that draft; after a failure (its state says
        ``EXPLAIN_STOPPED`` and why) Explain tries again."""
        self.explain_state.setText(text)
        self.explain_button.setEnabled(not text or text.startswith(EXPLAIN_STOPPED))
        if text.startswith("The model is explaining"):
            self._streamed.start()
            self.explanation.setPlainText("")
            self.explanation.setVisible(True)
            self._drafting = True
        elif self._drafting:
            self._mark_unchecked()

    def _mark_unchecked(self) -> None:
        """The draft streamed stays for the engineer to read, marked first so that it never
        passes for a checked explanation (it was shown as one: no verdicts, no word); none
        came, nothing is shown (the state says why)."""
        self._drafting = False
        self._streamed.flush()  # what came, drawn now, cut as the stream draws it
        draft = self.explanation.toPlainText()
        self._streamed.start()
        self.explanation.setPlainText(f"⚠ {EXPLAIN_STOPPED}.\n\n{draft}" if draft else "")
        self.explanation.setVisible(bool(draft))

    def show_explain_text(self, text: str) -> None:
        # the model's words, with no control or bidi character (a log line it quotes could
        # reorder what is read); shown at most every 50 ms: see StreamedText
        self._streamed.add(printable(text))

    def show_explained(self, view: ExplanationView) -> None:
        """The model's words are escaped: its sentences are data, never markup."""
        self._streamed.start()  # the streamed draft's pending redraw would replace this
        self._drafting = False
        ok, warn = self._theme.status("OK"), self._theme.severity("warning")
        muted = self._theme.color("text_muted")
        parts = []
        for s in view.sentences:
            text = html.escape(printable(s.text))
            why = html.escape(printable("; ".join(s.reasons)))
            if s.verified:
                parts.append(f'<p><span style="color:{ok}">&#10003; verified</span> {text}</p>')
            elif s.verdict == Verdict.CITED:  # neither checked true nor found false: neutral
                parts.append(f'<p><span style="color:{muted}">&#9675; {Verdict.CITED.value}'
                             f"</span> {text}<br/><small>{why}</small></p>")  # fmt: skip
            else:  # unverified, or a verdict this page does not know: the warning
                parts.append(f'<p><span style="color:{warn}">&#9888; unverified</span> {text}'
                             f'<br/><small>{why}</small></p>')  # fmt: skip
        verified = sum(s.verified for s in view.sentences)
        cited = sum(not s.verified and s.verdict == Verdict.CITED for s in view.sentences)
        head = (f"<p><b>{verified} of {len(view.sentences)} sentences verified against the "
                "evidence" + (f" ({cited} {Verdict.CITED.value})" if cited else "")
                + f"</b> · {html.escape(view.stats)}"
                + (" · cut at its length limit" if view.truncated else "") + "</p>")  # fmt: skip
        evidence = "".join(f"<li><b>{html.escape(i)}</b> {html.escape(printable(t))}</li>"
                           for i, t in view.evidence)  # fmt: skip
        self.explanation.setHtml(head + "".join(parts)
                                 + f"<p><small>Evidence given to the model:</small></p>"
                                 f"<ul><small>{evidence}</small></ul>")  # fmt: skip
        self.explanation.setVisible(True)

    def show_busy(self, text: str) -> None:
        """An analysis started (``text``: what it analyses): nothing of the last one stays under
        it (its ranking read as the new one's, its buttons acted on the last one's causes)."""
        if text:
            self._clear()
            self.summary.setText(text)

    def show_failed(self, text: str) -> None:
        """The analysis asked last could not be made: said here, where its result would be,
        with nothing of an earlier analysis left under it."""
        self._clear()
        self.summary.setText(text)

    def _clear(self) -> None:
        """Nothing of the analysis shown before: its selection, its explanation, its charts."""
        self._report = None
        self.ranking.clearSelection()
        self.ranking.set_rows([])
        self._streamed.start()  # no pending chunk is drawn over what comes next
        self._drafting = False
        self.explanation.clear()
        self.explanation.setVisible(False)
        self.checks.setText("")
        for chart in self.charts:
            chart.setParent(None)
            chart.deleteLater()
        self.charts = []
        self._on_cause_chosen()

    def _chosen_pod(self) -> tuple[str, str, str] | None:
        rows = self.ranking.selected_rows()
        if self._report is None or not rows:
            return None
        at = self.ranking.source_row(rows[0])
        if not 0 <= at < len(self._report.causes):
            return None
        return pod_entity(self._report.causes[at].entity)

    def _on_cause_chosen(self) -> None:
        pod = self._chosen_pod() is not None and self._report is not None
        self.logs_button.setEnabled(pod)
        self.traces_button.setEnabled(pod)

    def _on_logs(self) -> None:
        found, report = self._chosen_pod(), self._report
        if found is not None and report is not None and report.detect_s is not None:
            cluster, namespace, pod = found
            self.sig_logs.emit(cluster, {"namespace": namespace, "pod": pod}, report.detect_s,
                               True)  # fmt: skip

    def _on_traces(self) -> None:
        found, report = self._chosen_pod(), self._report
        if found is not None and report is not None and report.detect_s is not None:
            self.sig_traces.emit(found[0], service_of_pod(found[2]), report.detect_s)

    def show_report(self, report: RcaReport) -> None:
        from ui.charts import TimeSeriesChart  # pyqtgraph loads with the first chart drawn

        self._clear()  # first: a row chosen in the last analysis is not one of this one's
        self.summary.setText(
            f"Root cause analysis of {report.subject}: {report.signals_read} signals read, "
            # an empty ranking compared nothing (every signal with a baseline is ranked): no
            # all-clear (the presenter says the service's ``nothing_read`` instead of one)
            f"{report.window}."
            + ("" if report.causes else " No signal had a baseline to compare against.")
        )
        rows = []
        for n, c in enumerate(report.causes, start=1):
            onset = time_text(c.onset, seconds=True) if c.onset else "—"
            quoted = [f"{when}  {line}" for when, line in report.quotes.get(c.entity, [])]
            traced = [f"{when}  {trace}  {root}: {error}"
                      for when, trace, root, error in report.traces.get(c.entity, [])]  # fmt: skip
            # its longest lines cut alike to fit the table's tooltip: cut as one text, its
            # quoted lines (300 characters each) hid its failing traces
            tip = tip_lines(
                c.evidence
                + (["", "Its error lines:", *quoted] if quoted else [])
                + (["", "Its failing traces:", *traced] if traced else [])
            )
            rows.append(Row([str(n), cell_line(c.entity), f"{c.confidence:.2f}", onset,
                             cell_line("; ".join(c.evidence))], tips={1: tip, 4: tip},
                            keys={0: n, 2: c.confidence}))  # fmt: skip
        self.ranking.set_rows(rows)
        self._report = report
        for cause in report.causes[:SHOWN_CHARTS]:
            series = report.charts.get(cause.entity)
            if not series:
                continue
            chart = TimeSeriesChart(cell_line(cause.entity, CHART_TITLE_CHARS), "", self._theme)
            chart.setMinimumHeight(CHART_MIN_HEIGHT)  # its legend below leaves the plot room
            chart.setMaximumHeight(CHART_MAX_HEIGHT)
            chart.set_series(series)
            self.charts_row.addWidget(chart)
            self.charts.append(chart)
        checks = [(c.entity, key, check, action) for c in report.causes for key, check, action
                  in c.checks]  # fmt: skip
        self.checks.setText(
            "Next checks:\n" + "\n".join(
                f"• {cell_line(entity)}: {key}: {check} Safe action: {action}"
                for entity, key, check, action in checks
            ) if checks else "No runbook entry names these causes."
        )  # fmt: skip


#: the page a timeline's signal opens, by its source (an anomaly opens its chart)
SIGNAL_PAGES = {Domain.GPU.value: "gpu", Domain.PTP.value: "ptp", Domain.SRIOV.value: "sriov",
                "alert": "alerts"}  # fmt: skip


class IncidentsView(QWidget):
    """Signals: sig_acknowledge(id); sig_analyse(id); sig_open(cluster, panel, epoch s);
    sig_open_view(view name): a finding's page ("gpu", "ptp", "sriov", "alerts") or a
    cluster's Kubernetes page ("details:NAME")."""

    sig_acknowledge = Signal(str)
    sig_analyse = Signal(str)
    sig_logs = Signal(str, dict, float, bool)  # cluster, labels, epoch s, errors only
    sig_open = Signal(str, str, float)
    sig_open_view = Signal(str)
    HEADERS = ("Opened", "State", "Severity", "Clusters", "Signals", "Title")
    _left_out = 0  # how many the store holds but does not list (the least pressing)
    _selected_id: str | None = None  # the incident chosen, selected again after a refresh

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._all: list[Incident] = []
        self._rows: list[Incident] = []
        layout = QVBoxLayout(self)
        self.title = page_title("Incidents")  # a line of its own: its counts are never cut
        layout.addWidget(self.title)
        bar = QHBoxLayout()
        bar.addStretch(1)
        self.state = QComboBox()
        self.state.addItems([ALL, *(s.value for s in IncidentStatus)])
        self.severity = QComboBox()
        self.severity.addItems([ALL, "CRITICAL", "WARNING", "INFO"])
        for label, combo in (("State", self.state), ("Severity", self.severity)):
            bar.addWidget(PlainLabel(label))
            bar.addWidget(combo)
            combo.currentTextChanged.connect(lambda _t: self._fill())
        self.ack_button = QPushButton("Acknowledge")
        self.ack_button.clicked.connect(self._on_ack)
        self.rca_button = QPushButton("Analyse root cause")
        self.rca_button.clicked.connect(self._on_analyse)
        bar.addWidget(self.ack_button)
        bar.addWidget(self.rca_button)
        self.logs_button = QPushButton("Error logs")
        self.logs_button.setToolTip("The error lines of the incident's first cluster around its "
                                    "opening (the Logs page)")  # fmt: skip
        self.logs_button.clicked.connect(self._on_logs)
        bar.addWidget(self.logs_button)
        layout.addLayout(bar)
        self.error = PlainLabel()
        self.error.setStyleSheet(f"color: {theme.severity('critical')};")
        self.error.hide()
        layout.addWidget(self.error)
        split = QSplitter(Qt.Orientation.Vertical)
        self.table = make_table(list(self.HEADERS))
        self.table.empty_text = "No incident open or recently resolved"
        self.table.widest = {1: max((s.value for s in IncidentStatus), key=len)}
        self.table.itemSelectionChanged.connect(self._on_selected)
        self.table.rows_model.modelReset.connect(self._on_reset)
        split.addWidget(self.table)
        self.tabs = QTabWidget()
        self.timeline = make_table(["When", "Cluster", "Source", "Severity", "Subject",
                                    "Reason"])  # fmt: skip
        self.timeline.empty_text = "Select an incident to see its timeline"
        self.timeline.empty_says_when = False
        self.timeline.cellDoubleClicked.connect(self._on_timeline_double_clicked)
        self.rca = RcaPanel(theme)
        self.tabs.addTab(self.timeline, "Timeline")
        self.tabs.addTab(self.rca, "Root cause")
        split.addWidget(self.tabs)
        split.setSizes([300, 500])
        layout.addWidget(split, 1)
        self._update_buttons()

    # -- showing ---------------------------------------------------------------------------
    def show_rows(self, incidents: list[Incident], left_out: int = 0) -> None:
        """``left_out``: how many more the store holds than it lists (the least pressing)."""
        self.error.hide()
        self._all = list(incidents)
        self._left_out = left_out
        self._fill()

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def show_rca_busy(self, text: str) -> None:
        if text:
            self.tabs.setCurrentWidget(self.rca)
        self.rca.show_busy(text)

    def show_rca_failed(self, text: str) -> None:
        self.rca.show_failed(text)
        self.tabs.setCurrentWidget(self.rca)

    def show_rca(self, report: RcaReport) -> None:
        self.rca.show_report(report)
        self.tabs.setCurrentWidget(self.rca)

    def _fill(self) -> None:
        state, severity = self.state.currentText(), self.severity.currentText()
        self._rows = [
            i for i in self._all
            if state in (ALL, i.state.value) and severity in (ALL, i.severity.value)
        ]  # fmt: skip
        rows = []
        for i in self._rows:
            colour = self._theme.severity(i.severity.value)
            muted = i.state is IncidentStatus.RESOLVED
            rows.append(Row(
                [time_text(i.opened_at, seconds=True), i.state.value, i.severity.value,
                 ", ".join(f"{c} (unread)" if c in i.unread else c for c in i.clusters),
                 str(i.signal_count), cell_line(i.title)],
                colours={2: colour}, colour=self._theme.status("UNKNOWN") if muted else None,
                # ("" where not held or not reopened: no tip)
                tips={1: i.reopened_because, 3: i.held_because, 5: i.title},
                keys={1: _STATE_ORDER[i.state], 2: SEVERITY_RANK[i.severity],
                      4: i.signal_count},
            ))  # fmt: skip
        # the same rows again (every poll and regroup) are not set: a reset cleared the row
        # and the timeline row the engineer picked; set, its reset selects the incident kept
        # again, if shown (_on_reset)
        if not self.table.set_rows_if_changed(rows):
            self._show_timeline()  # its signals may have changed where its row did not
        live = [i for i in self._all if i.state is not IncidentStatus.RESOLVED]
        opened = sum(1 for i in live if i.state is IncidentStatus.OPEN)
        critical = sum(1 for i in live if i.severity.value == "CRITICAL")
        acknowledged = len(live) - opened  # last: the title is cut first at its end
        self.title.setText(
            f"Incidents · {opened} open · {critical} critical"
            + (f" · {acknowledged} acknowledged" if acknowledged else "")
            + (f" · {self._left_out} less pressing not listed" if self._left_out else "")
        )

    def _on_reset(self) -> None:
        """The table was filled again or filtered ("/"): the incident selected stays selected
        where its row is still shown; one a filter hides is no longer selected (its timeline
        and buttons go with it)."""
        if self._selected_id is not None and not self.select(self._selected_id):
            self._selected_id = None
        self._show_timeline()

    def _current(self) -> Incident | None:
        """The incident whose row is shown and selected: a button never acts on a row the
        user cannot see."""
        rows = self.table.selected_rows()
        at = self.table.source_row(rows[0]) if rows else -1
        return self._rows[at] if 0 <= at < len(self._rows) else None

    def _show_timeline(self) -> None:
        incident = self._current()
        rows = []
        for s in incident.timeline if incident else []:
            rows.append(Row(
                [time_text(s.first_seen, seconds=True), cell_line(s.cluster), s.source,
                 s.severity.value, cell_line(s.place), cell_line(s.reason)],
                colours={3: self._theme.severity(s.severity.value)},
                tips={4: s.place[:TIP_CHARS], 5: s.reason[:TIP_CHARS]},
            ))  # fmt: skip
        self.timeline.set_rows_if_changed(rows)  # the row picked kept while they are the same
        self._update_buttons()

    def _update_buttons(self) -> None:
        incident = self._current()
        self.ack_button.setEnabled(incident is not None and incident.state is IncidentStatus.OPEN)
        # asked while one runs: the presenter stops that one, so what is shown is the newest
        self.rca_button.setEnabled(incident is not None)
        self.logs_button.setEnabled(incident is not None)

    def _on_logs(self) -> None:
        incident = self._current()
        if incident is not None and incident.clusters:
            self.sig_logs.emit(incident.clusters[0], {}, incident.opened_at.timestamp(), True)

    # -- the user ----------------------------------------------------------------------------
    def select(self, incident_id: str) -> bool:
        """False where its row is not shown (filtered out, or gone)."""
        return self.table.select_source(lambda row: self._rows[row].id == incident_id)

    def _on_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        picked = self._rows[self.table.source_row(rows[0].row())].id if rows else None
        if picked is not None or not self.table.rowCount():
            self._selected_id = picked
        self._show_timeline()

    def _on_ack(self) -> None:
        incident = self._current()
        if incident is not None:
            self.sig_acknowledge.emit(incident.id)

    def _on_analyse(self) -> None:
        incident = self._current()
        if incident is not None:
            self.sig_analyse.emit(incident.id)

    def _on_timeline_double_clicked(self, row: int, _col: int) -> None:
        incident = self._current()
        if incident is None:
            return
        s = incident.timeline[self.timeline.source_row(row)]
        if s.source == "anomaly":
            self.sig_open.emit(s.cluster, s.subject, s.first_seen.timestamp())
        elif s.source in SIGNAL_PAGES:  # a finding or an alert: the page that shows it
            self.sig_open_view.emit(SIGNAL_PAGES[s.source])
        elif s.source == Domain.KUBERNETES.value:
            self.sig_open_view.emit(f"details:{s.cluster}")
