"""Third review of the Kubernetes page: keeping 100,000 selected pods across a Refresh held the
UI 191 s (a selection of one range per row); a registered secret straddling the status line's
redaction cut showed its start; the identity card's groups were cut at 200 characters in all
(14 ordinary groups lost "cluster-admins"), with no tooltip; the Incidents and hardware views
cut their tooltips at their own 4,000 characters, the table at 3,000 (an RCA cause's failing
traces were lost behind its quoted lines)."""

from __future__ import annotations

import secrets
from typing import Any

from PySide6.QtCore import Qt

from aiops_desktop.logs import register_secret
from aiops_desktop.models.enums import ValidationOutcome
from aiops_desktop.models.incidents import RcaCauseRow, RcaReport
from aiops_desktop.models.kube import ValidationResult
from aiops_desktop.models.metrics import ClusterOutcome
from ui.presenters.kube import _one_line, said
from ui.views import fleet_hw_views, incidents_view, rows_table
from ui.views.cluster_kube import ClusterKubeView, FilteredTable
from ui.views.incidents_view import RcaPanel
from ui.views.rows_table import Row, RowsTable
from ui.views.text import PlainLabel


def tip_of(table: RowsTable, row: int, col: int) -> str:
    model = table.rows_model
    return str(model.data(model.index(row, col), Qt.ItemDataRole.ToolTipRole) or "")


# -- 1. keeping the selection --------------------------------------------------------------------
def pods(n: int) -> tuple[list[Row], list[Any]]:
    rows = [Row([f"ns{i % 50}", f"pod-{i}", "Running"], keys={2: i % 7}) for i in range(n)]
    return rows, [(f"ns{i % 50}", f"pod-{i}") for i in range(n)]


def test_every_row_selected_stays_selected_as_a_few_ranges(qtbot: Any) -> None:
    table = FilteredTable(["Namespace", "Pod", "Phase"], "filter")
    qtbot.addWidget(table)
    rows, keys = pods(20_000)
    table.fill(rows, keys=keys)
    table.table.selectAll()
    table.fill(rows, keys=keys)  # a Refresh: the same pods drawn again
    assert len(table.table.selected_rows()) == 20_000
    # one range per row made keeping them quadratic (100,000 pods: 191 s)
    assert table.table.selectionModel().selection().count() <= 3
    assert table.table.currentIndex().row() == 0


def test_the_header_does_not_read_every_row_of_a_big_selection(qtbot: Any) -> None:
    """Qt's header asks whether each column is selected, reading each row's flags (through
    the Python model: 100,000 rows selected, 5 s a repaint of the header, Ctrl+A as much as a
    Refresh); the header draws no column selected in a table that selects rows."""
    table = RowsTable(["Namespace", "Pod", "Phase"])
    qtbot.addWidget(table)
    table.set_rows(pods(100)[0])
    table.selectAll()
    assert table.selectionModel().hasSelection()
    assert not table.horizontalHeader().selectionModel().hasSelection()
    table.set_rows(pods(50)[0])  # a reset does not give it the table's again
    table.selectAll()
    assert not table.horizontalHeader().selectionModel().hasSelection()


def test_the_rows_kept_are_those_matched_wherever_sorting_and_filtering_put_them(
    qtbot: Any,
) -> None:
    table = FilteredTable(["Namespace", "Pod", "Phase"], "filter")
    qtbot.addWidget(table)
    rows, keys = pods(200)
    table.fill(rows, keys=keys)
    table.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)  # runs of sources, then gaps
    table.filter.setText("ns1")  # ns1, ns10 ... ns19
    table.apply_filter()
    wanted = {keys[s] for s in range(200) if s % 3 and f"ns{s % 50}".startswith("ns1")}
    assert table.table.select_sources(lambda s: keys[s] in wanted)
    table.fill(rows, keys=keys)
    kept = {keys[s] for s in table.table.selected_sources()}
    assert kept == wanted
    shown = table.table.rows_model.shown_sources()
    first = next(r for r, s in enumerate(shown) if keys[s] in wanted)
    assert table.table.currentIndex().row() == first
    assert not table.table.select_sources(lambda s: False)  # none shown: nothing to select


# -- 2. redacted before it is cut ----------------------------------------------------------------
def test_a_secret_straddling_the_redaction_cut_shows_no_part_of_it() -> None:
    token = "Zq9x" + secrets.token_hex(30)  # a static token no pattern knows
    register_secret(token)
    # an API server's error echoing a long credential-looking value (redacted to a few
    # characters), then the token across the cut
    text = "forbidden: password=" + "A" * 4020 + " for token " + token + " (proxy)"
    for shown in (said(text), _one_line(text)):
        assert token[:12] not in shown
        assert shown.startswith("forbidden: password=[REDACTED]")


def test_a_registered_secret_longer_than_the_margin_shows_no_part_of_it() -> None:
    key = "Kq7" + secrets.token_hex(3000)  # a credential JSON registered whole: 6 KB
    register_secret(key)
    text = "denied: password=" + "B" * 3000 + " with " + key + " end"
    for shown in (said(text), _one_line(text)):
        assert key[:12] not in shown
        assert shown.startswith("denied: password=[REDACTED]")


# -- 3. the identity card's groups and access ----------------------------------------------------
GROUPS = ["system:authenticated", "system:authenticated:oauth", "noc-operators-emea",
          "ldap-sre-oncall", "ldap-network-core", "ldap-ran-du-admins", "ldap-5gc-upf-team",
          "openshift-monitoring-viewers", "gpu-fleet-readers", "ptp-operators",
          "sriov-network-admins", "cluster-readers", "cluster-admins",
          "break-glass-approvers"]  # fmt: skip


def validated(groups: list[str], reason: str = "alice on v1.30.2") -> ValidationResult:
    return ValidationResult("prod", ValidationOutcome.VALID, reason, server="https://api:6443",
                            version="v1.30.2", user="alice", groups=groups)  # fmt: skip


def test_every_ordinary_group_is_shown_and_in_the_tooltip(qtbot: Any, theme: Any) -> None:
    view = ClusterKubeView(theme)
    qtbot.addWidget(view)
    view.show_validation(validated(GROUPS))
    label = view.fields["Groups"]
    for group in GROUPS:
        assert group in label.text()
        assert group in label.toolTip()
    view.show_validation(None)  # nothing of the last cluster stays
    assert label.text() == "—"
    assert label.toolTip() == ""


def test_many_groups_are_counted_and_a_huge_one_cut(qtbot: Any, theme: Any) -> None:
    view = ClusterKubeView(theme)
    qtbot.addWidget(view)
    groups = [f"group-{i:03d}" for i in range(60)] + ["g\u202e\n" + "g" * 100_000]
    view.show_validation(validated(groups))
    label = view.fields["Groups"]
    assert "group-049" in label.text() and "group-050" not in label.text()
    assert label.text().endswith("+11 more")
    assert "\u202e" not in label.text() and "\n" not in label.text()
    assert "group-000" in label.toolTip()
    assert len(label.toolTip()) < 2 * rows_table.TIP_CHARS  # bounded (escaped, in <p>)
    assert label.toolTip().count("<br/>") <= rows_table.TIP_LINES


def test_the_access_reason_cut_on_the_card_is_whole_in_its_tooltip(qtbot: Any, theme: Any) -> None:
    view = ClusterKubeView(theme)
    qtbot.addWidget(view)
    reason = "the credentials cannot " + ", ".join(f"list resource-{i}" for i in range(40))
    view.show_validation(validated(GROUPS, reason))
    access = view.fields["Access"]
    assert "resource-39" not in access.text()  # cut on the card
    assert "resource-39" in access.toolTip()
    huge = "x" * 100_000
    view.show_validation(validated(GROUPS, huge))
    assert len(access.toolTip()) < 2 * rows_table.TIP_CHARS


# -- 4. one tooltip cap --------------------------------------------------------------------------
def test_the_views_keep_no_tooltip_cap_of_their_own() -> None:
    for view in (incidents_view, fleet_hw_views):
        assert getattr(view, "TIP_CHARS", rows_table.TIP_CHARS) == rows_table.TIP_CHARS


def test_an_rca_causes_tooltip_shows_its_evidence_quotes_and_traces(qtbot: Any, theme: Any) -> None:
    panel = RcaPanel(theme)
    qtbot.addWidget(panel)
    entity = "east pod pay/checkout-0"
    evidence = [f"signal-{n} {{{'label=value, ' * 30}}}: z 9.1 (1 -> 90)" for n in range(3)]
    quotes = {entity: [(f"12:00:0{n}", f"QUOTE-{n} " + "q" * 290) for n in range(5)]}
    traces = {entity: [(f"12:01:0{n}", f"TRACE-{n}", "checkout POST /pay (812 ms)",
                        "upstream reset " + "e" * 800) for n in range(3)]}  # fmt: skip
    cause = RcaCauseRow(entity, 1.0, None, evidence, [])
    panel.show_report(RcaReport("INC-A", "the window", 3, [cause], {}, quotes, None, traces))
    for col in (1, 4):
        shown = tip_of(panel.ranking, 0, col)
        for part in ("signal-0", "signal-2", "QUOTE-0", "QUOTE-4", "Its failing traces:",
                     "TRACE-0", "TRACE-2"):  # fmt: skip
            assert part in shown, (col, part)
        assert len(shown) < 2 * rows_table.TIP_CHARS


def test_every_clusters_read_error_is_named_in_the_error_lines_tooltip(qtbot: Any) -> None:
    label = PlainLabel()
    qtbot.addWidget(label)
    outcomes = [ClusterOutcome(f"cluster-{n:02d}", False, 1.0, error="timed out " + "t" * 500)
                for n in range(30)]  # fmt: skip
    fleet_hw_views._errors(outcomes, label)
    for n in range(30):
        assert f"cluster-{n:02d}" in label.toolTip(), n
    assert len(label.toolTip()) < 2 * rows_table.TIP_CHARS
