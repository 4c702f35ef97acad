"""Review fixes: a command-palette entry filters its page by text that names the cluster too
(two clusters may each have a node gpu-1 or du-4: the node alone showed both clusters' rows);
the GPU heatmap's cell text is black or white, whichever reads on the cell (the light theme's
dark status colours under dark text were 2.7:1); the role help says an operator may not manage
clusters (a cluster carries its credential); README names the Settings menu the window has."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from aiops_desktop.app import DesktopApp
from aiops_desktop.models.alerts import Alert, AlertGroup
from aiops_desktop.models.enums import FindingSeverity, UserRole
from aiops_desktop.models.fleet import Domain, Finding
from aiops_desktop.services.runtime.access import Access, Action
from tests.ui.conftest import run_until
from tests.ui.test_themes import AA, contrast, light_desktop  # noqa: F401 (a fixture)
from ui.dialogs.settings_dialog import ROLE_TEXT
from ui.views.rows_table import RowsTable
from ui.window_commands import finding_needle

README = Path(__file__).resolve().parents[2] / "README.md"


def _shown(table: RowsTable, column: int) -> list[str]:
    return [table.item(r, column).text() for r in range(table.rowCount())]


def _run(desktop: DesktopApp, title: str) -> None:
    commands = desktop.window.commands
    next(c for c in commands.commands() if c.title.startswith(title)).run()


# -- 1. the palette filters by the cluster too --------------------------------------------------
def test_a_gpu_finding_shows_only_its_own_clusters_gpu(sample_desktop: DesktopApp,
                                                       qtbot: QtBot) -> None:  # fmt: skip
    window = sample_desktop.window
    window.show_view("gpu")
    run_until(qtbot, lambda: window.commands._gpus is not None and window.truth is not None,
              timeout=20)  # fmt: skip
    _run(sample_desktop, "ran-west gpu-1/gpu2")  # ran-east has a gpu-1 too (gpu3 is CRITICAL)
    assert window.filter_bar.text() == "ran-west/gpu-1/gpu2$"
    assert _shown(window.gpu.problems, 1) == ["ran-west/gpu-1/gpu2"]
    # a pod's entry: the GPU it runs on, named with its cluster
    _run(sample_desktop, "ran-east ml/trainer-0")
    assert window.filter_bar.text() == "ran-east/gpu-0/gpu0$"


def test_a_ptp_finding_shows_only_its_own_clusters_port(sample_desktop: DesktopApp,
                                                        qtbot: QtBot) -> None:  # fmt: skip
    window = sample_desktop.window
    run_until(qtbot, lambda: window.truth is not None, timeout=20)
    _run(sample_desktop, "ran-west du-4/ens1f0 (ptp4l)")  # ran-east has a du-4 too
    run_until(qtbot, lambda: window.ptp.table.rowCount() > 0)
    table = window.ptp.table
    shown = [(table.item(r, 1).text(), table.item(r, 2).text()) for r in range(table.rowCount())]
    assert shown == [("ran-west", "du-4")]


def _alert(name: str, cluster: str, n: int) -> Alert:
    return Alert(fingerprint=f"{cluster}-{name}-{n}", cluster=cluster, name=name,
                 labels={"namespace": "monitoring"}, annotations={"summary": "scrape failed"},
                 starts_at=datetime(2026, 12, 6, 10, n, tzinfo=UTC))  # fmt: skip


def test_an_alert_group_shows_only_its_own_row(
    sample_desktop: DesktopApp, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group's key is part of another's (TargetDown of NodeExporterTargetDown)."""
    window = sample_desktop.window
    named = [("NodeExporterTargetDown", "ran-east"), ("TargetDown", "ran-west")]
    groups = [AlertGroup(name, [_alert(name, cluster, n)])
              for n, (name, cluster) in enumerate(named)]  # fmt: skip
    monkeypatch.setattr(window.presenters.alerts, "groups", lambda: groups)
    _run(sample_desktop, "TargetDown (1 on ran-west)")
    run_until(qtbot, lambda: window.alerts.table.rowCount() > 0)
    assert _shown(window.alerts.table, 2) == ["TargetDown"]


def test_a_findings_needle_is_what_its_rows_hold() -> None:
    def needle(domain: Domain, subject: str) -> str:
        return finding_needle("ran-west", Finding(domain, FindingSeverity.WARNING, subject, "-"))

    assert needle(Domain.GPU, "dgx-0/gpu0 MIG 1") == "ran-west/dgx-0/gpu0/mig1$"
    assert needle(Domain.PTP, "du-4/ens1f0") == "ran-west du-4 ens1f0$"
    assert needle(Domain.PTP, "du-4/ (ptp4l)") == "ran-west du-4  ptp4l$"  # no port: empty cell
    assert needle(Domain.SRIOV, "node worker-0") == "ran-west worker-0$"
    assert needle(Domain.KUBERNETES, "node worker-0") == ""  # the fleet page has no rows


# -- 2. the heatmap's text reads on its cells ---------------------------------------------------
@pytest.mark.parametrize("metric", ["State", "Utilisation", "Temperature"])
def test_the_heatmaps_text_reads_on_every_cell_in_the_light_theme(
    light_desktop: DesktopApp,  # noqa: F811
    qtbot: QtBot,
    metric: str,
) -> None:
    view = light_desktop.window.gpu
    light_desktop.window.show_view("gpu")
    run_until(qtbot, lambda: view.heatmap.rowCount() > 0, timeout=20)
    view.metric.setCurrentText(metric)
    model = view.heatmap.model()
    pairs = set()
    for r in range(model.rowCount()):
        for c in range(model.columnCount()):
            index = model.index(r, c)
            if index.data():
                pairs.add((index.data(Qt.ItemDataRole.ForegroundRole).name(),
                           index.data(Qt.ItemDataRole.BackgroundRole).name()))  # fmt: skip
    assert pairs
    assert not [p for p in pairs if contrast(*p) < AA], pairs


# -- 3. the role help --------------------------------------------------------------------------
#: what each action the operator is refused is called in the role help
REFUSED_WORDS = {Action.MANAGE_CLUSTERS: "clusters", Action.CREDENTIALS: "credentials",
                 Action.SETTINGS: "settings"}  # fmt: skip


def test_the_role_help_says_what_an_operator_may_not_do(sample_desktop: DesktopApp) -> None:
    operator = Access(UserRole.OPERATOR)
    refused = [a for a in Action if not operator.allows(a)]
    tooltip = sample_desktop.window.status_role.toolTip()
    said = re.search(r"operator: ([^;]*)", tooltip)
    assert said is not None
    for text in (ROLE_TEXT["operator"], said.group(1)):
        assert [a for a in refused if REFUSED_WORDS[a] not in text] == [], text


# -- 4. README names the menu the window has ------------------------------------------------------
def test_readme_names_the_settings_menu(sample_desktop: DesktopApp) -> None:
    menus = {m.title().replace("&", ""): [a.text().replace("&", "") for a in m.actions()]
             for m in sample_desktop.window.commands.menus}  # fmt: skip
    assert "Settings…" in menus["Settings"] and "Settings…" not in menus["File"]
    text = README.read_text(encoding="utf-8")
    assert "File > Settings" not in text
    assert text.count("Settings > Settings…") >= 2
