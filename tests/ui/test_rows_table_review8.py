"""A table's CSV export follows the role, as a capture's does: a viewer (read-only, the wall
display; may not export captures) is offered none and ``export_csv`` writes nothing for it;
an operator is offered it; and what is written is redacted as a capture is, cell by cell."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QMessageBox

from aiops_desktop.app import DesktopApp
from aiops_desktop.models.enums import UserRole
from tests.ui.conftest import SAMPLE, _shown, run_until
from ui.theme import Theme
from ui.views.rows_table import Row, RowsTable

#: a GitHub token as an alertmanager webhook's summary quoted it, and a DB URL with a password
TOKEN = "ghp_R8x2KqV7mTz4Lw9NcB3yHf6JdP1sAe5GuQ0o"
SUMMARY = f"Webhook push failed: Authorization: token={TOKEN} rejected (401)"
DSN = "postgres://billing:S3cr3tPw0rd@db-0.billing.svc:5432/ledger"


def _desktop(qtbot, theme: Theme, role: UserRole) -> Iterator[DesktopApp]:  # type: ignore[no-untyped-def]
    from aiops_desktop.services.outputs.capture import open_capture

    core = open_capture(SAMPLE, role=role).assemble()
    yield from _shown(qtbot, DesktopApp(core, theme), 1280, 720)


@pytest.fixture
def viewer_desktop(qtbot, qloop: qasync.QEventLoop, theme: Theme) -> Iterator[DesktopApp]:  # type: ignore[no-untyped-def]
    yield from _desktop(qtbot, theme, UserRole.VIEWER)


@pytest.fixture
def operator_desktop(qtbot, qloop: qasync.QEventLoop, theme: Theme) -> Iterator[DesktopApp]:  # type: ignore[no-untyped-def]
    yield from _desktop(qtbot, theme, UserRole.OPERATOR)


def _csv_offers(window: object) -> list[tuple[RowsTable, list[str]]]:
    tables = window.findChildren(RowsTable)  # type: ignore[attr-defined]
    offers = []
    for table in tables:
        menu = table.context_menu(QModelIndex())
        offers.append((table, [a.text() for a in menu.actions() if "CSV" in a.text()]))
        menu.close()
    return offers


def _filled_table(desktop: DesktopApp, qtbot) -> RowsTable:  # type: ignore[no-untyped-def]
    """The fullest table once the alerts, anomalies and fleet pages are shown."""
    window = desktop.window
    for view in ("alerts", "anomalies", "fleet"):
        window.show_view(view)
    run_until(qtbot, lambda: any(t.rowCount() for t in window.findChildren(RowsTable)),
              timeout=20)  # fmt: skip
    return max(window.findChildren(RowsTable), key=lambda t: t.rowCount())


def test_a_viewer_is_offered_no_csv_export_and_export_csv_refuses(
    viewer_desktop: DesktopApp,
    qtbot,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    table = _filled_table(viewer_desktop, qtbot)
    offers = _csv_offers(viewer_desktop.window)
    assert len(offers) >= 2 and all(not offered for _, offered in offers)
    out = tmp_path / "alerts.csv"
    box = table.export_csv(str(out))
    assert not out.exists() and sorted(tmp_path.iterdir()) == []
    assert isinstance(box, QMessageBox) and "may not export" in box.text()
    box.close()


def test_an_operator_is_offered_the_csv_export(
    operator_desktop: DesktopApp,
    qtbot,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    table = _filled_table(operator_desktop, qtbot)
    offered = dict(_csv_offers(operator_desktop.window))[table]
    assert offered == [f"Export {table.rowCount()} rows as CSV…"]
    out = tmp_path / "alerts.csv"
    assert table.export_csv(str(out)) is None
    assert out.read_bytes().count(b"\r\n") == table.rowCount() + 1


def test_an_exported_csv_has_its_secrets_redacted(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = RowsTable(["Alert", "Summary", "Source"])
    qtbot.addWidget(table)
    table.set_rows([
        Row(["WebhookFailing", SUMMARY, "alertmanager"]),
        Row(["LedgerDown", "ledger cannot reach its DB", DSN]),
        Row(["=HYPERLINK(1)", "disk 91% full", "node-exporter"]),
    ])  # fmt: skip
    out = tmp_path / "alerts.csv"
    assert table.export_csv(str(out)) is None
    text = out.read_text(encoding="utf-8")
    assert TOKEN not in text and "S3cr3tPw0rd" not in text
    lines = text.splitlines()
    assert lines[0] == "Alert,Summary,Source"
    assert lines[1] == (
        "WebhookFailing,Webhook push failed: Authorization: token=[REDACTED] rejected (401),"
        "alertmanager"
    )
    assert lines[2] == (
        "LedgerDown,ledger cannot reach its DB,"
        "postgres://billing:[REDACTED]@db-0.billing.svc:5432/ledger"
    )
    assert lines[3] == "'=HYPERLINK(1),disk 91% full,node-exporter"  # still defused
    assert table.item(0, 1).text() == SUMMARY  # type: ignore[union-attr]  # shown as it is
