"""Review fixes: the Alerts and Diagnostics pages keep the selected row across their 1 s
refresh (a model reset cleared it without a signal: Logs / Analyse root cause / Ctrl+C acted
on nothing); a long streamed chat reply lays out only what is new, and nothing of its body
once past ``SHOWN_CHARS`` (the whole reply was laid out again every 50 ms)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import cast

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel, QScrollArea
from pytestqt.qtbot import QtBot

from aiops_desktop.models.alerts import Alert, AlertGroup
from aiops_desktop.models.polling import DiagnosticsRow
from ui.theme import Theme
from ui.views.chat_view import ChatView
from ui.views.rows_table import Row, RowsTable
from ui.views.streamed import SHOWN_CHARS, StreamedText
from ui.views.tables import AlertsView, DiagnosticsView
from ui.views.text import PlainLabel


# -- 1. the selection survives the refresh ----------------------------------------------------
def _group(name: str, pods: int = 1, cluster: str = "ran-east") -> AlertGroup:
    return AlertGroup(name, [
        Alert(fingerprint=f"{name}-{n}", cluster=cluster, name=name,
              labels={"namespace": "du", "pod": f"{name}-pod-{n}"},
              starts_at=datetime(2024, 1, 1, n, tzinfo=UTC))
        for n in range(pods)
    ])  # fmt: skip


def _alerts(qtbot: QtBot, theme: Theme) -> tuple[AlertsView, list[tuple[object, ...]]]:
    view = AlertsView(theme)
    qtbot.addWidget(view)
    logs: list[tuple[object, ...]] = []
    view.sig_logs.connect(lambda *a: logs.append(a))
    return view, logs


def test_alerts_keep_the_selection_when_a_tick_brings_the_same_rows(
    qtbot: QtBot, theme: Theme
) -> None:
    view, logs = _alerts(qtbot, theme)
    resets: list[int] = []
    view.table.rows_model.modelReset.connect(lambda: resets.append(1))
    view.show_groups([_group("KubePodCrashLooping")])
    view.table.selectRow(0)
    view.show_groups([_group("KubePodCrashLooping")])  # the presenter's next tick, same data
    assert len(resets) == 1  # not filled again
    assert view.table.selected_rows() == [0]
    assert view.logs_button.isEnabled() and view.rca_button.isEnabled()
    view.logs_button.click()
    assert [a[:2] for a in logs] == [
        ("ran-east", {"namespace": "du", "pod": "KubePodCrashLooping-pod-0"})
    ]


def test_alerts_reselect_the_group_where_its_row_moved(qtbot: QtBot, theme: Theme) -> None:
    view, logs = _alerts(qtbot, theme)
    view.show_groups([_group("A"), _group("B")])
    view.table.selectRow(1)  # B
    view.show_groups([_group("C"), _group("A"), _group("B", pods=2)])  # changed: B is third
    assert view.table.selected_rows() == [2]
    assert view.logs_button.isEnabled()
    view.logs_button.click()
    assert logs[-1][1] == {"namespace": "du", "pod": "B-pod-0"}
    view.table.sortByColumn(AlertsView.HEADERS.index("Group"), Qt.SortOrder.DescendingOrder)
    view.show_groups([_group("A"), _group("B", pods=3), _group("C")])
    assert view.table.item(view.table.selected_rows()[0], 2).text() == "B"  # type: ignore[union-attr]


def test_alerts_buttons_go_off_when_the_selected_group_is_gone(qtbot: QtBot, theme: Theme) -> None:
    view, _ = _alerts(qtbot, theme)
    view.show_groups([_group("A"), _group("B")])
    view.table.selectRow(1)
    assert view.logs_button.isEnabled()
    view.show_groups([_group("A")])
    assert view.table.selected_rows() == []
    assert not view.logs_button.isEnabled() and not view.rca_button.isEnabled()


def _diag(source: str, age: str, cluster: str = "ran-east") -> DiagnosticsRow:
    return DiagnosticsRow(cluster, source, "never", age, None, 3, 3, "open", "refused", True)


def test_diagnostics_keep_the_selection_and_ctrl_c_copies_it(qtbot: QtBot, theme: Theme) -> None:
    view = DiagnosticsView(theme)
    qtbot.addWidget(view)
    view.show_rows([_diag("metrics", "1 s ago"), _diag("alerts", "1 s ago")])
    view.table.selectRow(1)  # alerts
    view.show_rows([_diag("metrics", "2 s ago"), _diag("alerts", "2 s ago")])  # a tick: ages
    assert view.table.selection_text().startswith("ran-east\talerts\tnever\t2 s ago")
    # two rows selected, and a row added above them: both kept, by cluster and source
    view.table.selectAll()
    view.show_rows([_diag("logs", "3 s ago", "ran-west"), _diag("metrics", "3 s ago"),
                    _diag("alerts", "3 s ago")])  # fmt: skip
    assert view.table.selected_rows() == [1, 2]
    view.table.copy_selection()
    copied = QGuiApplication.clipboard().text().splitlines()
    assert [line.split("\t")[:4] for line in copied] == [
        ["ran-east", "metrics", "never", "3 s ago"],
        ["ran-east", "alerts", "never", "3 s ago"],
    ]


def test_an_empty_table_filled_again_with_nothing_says_it_was_checked_now(
    qtbot: QtBot,
) -> None:
    table = RowsTable(["A"])
    qtbot.addWidget(table)
    assert table.set_rows_if_changed([])
    filled = table._filled_at
    time.sleep(0.01)
    assert not table.set_rows_if_changed([])  # the same: not reset
    assert table._filled_at is not None and filled is not None and table._filled_at > filled
    assert table.set_rows_if_changed([Row(["x"])])


# -- 6. a long streamed reply -------------------------------------------------------------------
WORDS = "lorem ipsum dolor sit amet, consectetur adipiscing elit. "


def _labels(view: ChatView) -> dict[int, str]:
    return {id(w): w.text() for w in view.transcript.findChildren(PlainLabel)}


def _streaming(qtbot: QtBot, theme: Theme, size: int) -> ChatView:
    view = ChatView(theme, [("noc", "NOC")])
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    view.show_chunk(WORDS * (size // len(WORDS)))
    view._stream.flush()
    return view


def test_a_tick_of_a_long_reply_sets_only_what_is_new(qtbot: QtBot, theme: Theme) -> None:
    view = _streaming(qtbot, theme, 19_000)
    before = _labels(view)
    view.show_chunk("gpu-3 is hot. ")
    view._stream.flush()
    after = _labels(view)
    changed = [t for k, t in after.items() if before.get(k) != t]
    assert changed and sum(len(t) for t in changed) < 4000, [len(t) for t in changed]
    assert "".join(changed).endswith("hot. ")


def test_a_tick_lays_out_only_the_last_part_again(
    qtbot: QtBot, theme: Theme, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's layout asks every label its height on each redraw (at two widths): a
    word-wrapped label lays its whole text out to answer, so the parts already shown keep it."""
    view = _streaming(qtbot, theme, 19_000)
    # the scroll bar shows up (a width not seen before): then the redraws as they go on
    qtbot.waitUntil(cast(QScrollArea, view.scroll).verticalScrollBar().isVisible)
    QApplication.processEvents()
    measured: list[QLabel] = []
    plain = PlainLabel.heightForWidth

    def counting(label: PlainLabel, width: int) -> int:
        measured.append(label)
        return plain(label, width)

    monkeypatch.setattr(PlainLabel, "heightForWidth", counting)
    for _ in range(3):
        view.show_chunk("gpu-3 is hot. ")
        view._stream.flush()
        QApplication.processEvents()
    assert view._reply is not None and len(view._reply.parts) > 10
    done = view._reply.parts[:-2]  # the last (or, cut on the way, the last two) grew
    assert measured and not [p for p in measured if p in done]


def test_past_the_cap_only_the_counter_changes(qtbot: QtBot, theme: Theme) -> None:
    view = _streaming(qtbot, theme, SHOWN_CHARS + 5000)
    before = _labels(view)
    view.show_chunk(WORDS * 10)
    view._stream.flush()
    after = _labels(view)
    changed = [t for k, t in after.items() if before.get(k) != t]
    total = len(view._stream.text())
    assert changed == [f"… {total - SHOWN_CHARS:,} more characters (the whole reply is kept)"]
    body = [t for t in after.values() if "more characters" not in t]
    assert sum(len(t) for t in body) <= SHOWN_CHARS


def test_a_streamed_reply_stays_plain_text_and_settles_whole(qtbot: QtBot, theme: Theme) -> None:
    view = ChatView(theme, [("noc", "NOC")])
    qtbot.addWidget(view)
    crafted = "<b>bold</b>\n" + "x " * 3000 + "\n<img src='file:///etc/hostname'>"
    view.show_chunk(crafted)
    view._stream.flush()
    labels = view.transcript.findChildren(PlainLabel)
    assert labels and all(w.textFormat() == Qt.TextFormat.PlainText for w in labels)
    view.show_tool_started("list_clusters", "{}")  # the reply so far ends: one bubble again
    texts = [w.text() for w in view.transcript.findChildren(PlainLabel)
             if w.property("chat") == "assistant"]  # fmt: skip
    assert texts == [crafted]


def test_streamed_text_hands_over_only_what_is_new(qtbot: QtBot) -> None:
    label = PlainLabel()
    qtbot.addWidget(label)
    got: list[tuple[str, int]] = []
    stream = StreamedText(label.setText, label, grow=lambda new, rest: got.append((new, rest)))
    stream.start()
    stream.add("a" * (SHOWN_CHARS - 2))
    stream.flush()
    stream.add("bcde")
    stream.flush()
    stream.add("fg")
    stream.flush()
    assert got == [("a" * (SHOWN_CHARS - 2), 0), ("bc", 2), ("", 4)]
    assert label.text() == ""  # a grown stream never hands the whole text over
