"""File > Export capture…: offered where the role may export and no capture is open; the
clusters and period chosen are what is exported; the file written is said in one line with
what could not be read, a refusal as its message; the export runs on the app's loop (the
window goes on), and Cancel or closing the dialog stops it with no file left."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import Qt, QTimer

from aiops_desktop.app import DesktopApp, capture_export
from aiops_desktop.models import EndpointKind
from aiops_desktop.models.enums import UserRole
from aiops_desktop.models.errors import UsageError
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import CaptureManifest
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from aiops_desktop.settings import resolve_paths
from aiops_desktop.store.capture import read_manifest
from tests.servers.faults import FaultServer
from tests.site_data import TOKEN, build_site
from tests.ui.conftest import _shown, run_coro, run_until
from ui.dialogs.capture_export_dialog import CaptureExportDialog, _to_qt
from ui.presenters.capture_export import CaptureExportPresenter
from ui.theme import Theme

NOW = datetime(2026, 11, 27, 6, 30, 12, tzinfo=UTC)


class FakeExport:
    """``export_capture`` bound to a Core, as far as the dialog can tell: each call kept; it
    waits for ``release`` (where given), reports ``unread`` and writes a file (in a worker
    thread, taking ``copy_s`` as a big cache's copy does), or raises ``error``."""

    def __init__(self, *, unread: list[str] | None = None, error: Exception | None = None,
                 release: asyncio.Event | None = None) -> None:  # fmt: skip
        self.calls: list[dict[str, Any]] = []
        self.unread = unread or []
        self.error = error
        self.release = release
        self.copy_s = 0.0

    async def __call__(self, out: Path, **kwargs: Any) -> CaptureManifest:
        self.calls.append({"out": out, **kwargs})
        if self.release is not None:
            await self.release.wait()
        if self.error is not None:
            raise self.error
        kwargs["not_read"].extend(self.unread)
        await asyncio.to_thread(time.sleep, self.copy_s)
        await asyncio.to_thread(out.write_bytes, b"\0" * 2_400_000)
        return CaptureManifest(
            app_version="0.1.0", schema_version=9, clusters=kwargs["clusters"],
            since="2026-11-26T06:30:00+00:00", until="2026-11-27T06:30:00+00:00",
            created_at="2026-11-27T06:30:12+00:00", members=kwargs["clusters"],
            counts={"series": 212, "chunks": 3400},
        )  # fmt: skip


def _dialog(qtbot, tmp_path: Path, export: FakeExport, tasks: TaskSupervisor,
            names: tuple[str, ...] = ("ran-east", "ran-west", "ai-lab")) -> CaptureExportDialog:  # type: ignore[no-untyped-def]  # fmt: skip
    presenter = CaptureExportPresenter(
        export=export, cluster_names=lambda: list(names), folder=tmp_path, tasks=tasks,
        clock=lambda: NOW,
    )  # fmt: skip
    dialog = CaptureExportDialog(presenter)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _click(qtbot, button) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


# -- offered -------------------------------------------------------------------------------
@pytest.fixture
def role_desktop(  # type: ignore[no-untyped-def]
    request, tmp_path: Path, qtbot, qloop: qasync.QEventLoop, theme: Theme, secret_service
) -> Iterator[DesktopApp]:
    core = Core.open(resolve_paths(tmp_path / "home"), role=request.param,
                     secrets=SecretStore(secret_service.backend()))  # fmt: skip
    yield from _shown(qtbot, DesktopApp(core, theme), 1280, 800)


@pytest.mark.parametrize(
    ("role_desktop", "offered"),
    [(UserRole.ADMIN, True), (UserRole.OPERATOR, True), (UserRole.VIEWER, False)],
    indirect=["role_desktop"],
)
def test_export_capture_is_offered_where_the_role_may_export(
    role_desktop: DesktopApp, offered: bool
) -> None:
    window = role_desktop.window
    action = window.commands.export_capture_action
    assert action.text() == "&Export capture…"
    assert action.isVisible() is offered  # the app gives the window its Core's export
    assert ("Export capture" in {c.title for c in window.commands.commands()}) is offered
    assert ("Export capture" in window.commands.shortcut_sheet()) is offered
    dialog = window.open_capture_export_dialog()
    assert (dialog is not None) is offered
    if dialog is not None:
        assert dialog.path.text().startswith(str(role_desktop.core.paths.reports_dir))
        assert dialog.path.text().endswith(".aiops")
        dialog.reject()


def test_export_capture_is_not_offered_in_a_capture(sample_desktop: DesktopApp) -> None:
    window = sample_desktop.window
    window.attach_capture_export(capture_export(sample_desktop.core))  # a capture's Core
    assert window.commands.report_action.isVisible()  # an admin's
    assert not window.commands.export_capture_action.isVisible()
    assert window.open_capture_export_dialog() is None


# -- what is exported ----------------------------------------------------------------------
def test_the_clusters_and_period_chosen_are_exported(  # type: ignore[no-untyped-def]
    qtbot, qloop, tmp_path: Path
) -> None:
    export = FakeExport()
    tasks = TaskSupervisor()
    dialog = _dialog(qtbot, tmp_path, export, tasks)
    default = tmp_path / "capture-20261127-063012.aiops"
    assert dialog.path.text() == str(default)
    assert dialog.period.currentText() == "24 h" and dialog.last.isChecked()
    assert not dialog.start.isEnabled() and dialog.period.isEnabled()

    _click(qtbot, dialog.none_button)
    _click(qtbot, dialog.export_button)
    assert dialog.status.text() == "Choose at least one cluster." and not export.calls
    _click(qtbot, dialog.all_button)
    dialog.clusters.item(1).setCheckState(Qt.CheckState.Unchecked)  # ran-west
    dialog.period.setCurrentText("6 h")
    _click(qtbot, dialog.export_button)
    run_until(qtbot, lambda: dialog.status.text().startswith("Wrote"))
    chosen = {"clusters": ["ran-east", "ai-lab"], "since": timedelta(hours=6), "until": None}
    assert export.calls == [{"out": default, **chosen, "not_read": []}]
    assert dialog.path.text() == str(tmp_path / "capture-20261127-063012-2.aiops")  # a new one

    # from/to (UTC): the span before its end
    dialog.between.setChecked(True)
    assert dialog.start.isEnabled() and not dialog.period.isEnabled()
    start, end = datetime(2026, 11, 26, 22, 0, tzinfo=UTC), datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    dialog.start.setDateTime(_to_qt(end))
    dialog.end.setDateTime(_to_qt(start))
    _click(qtbot, dialog.export_button)
    assert dialog.status.text() == "The period must start before it ends."
    dialog.start.setDateTime(_to_qt(start))
    dialog.end.setDateTime(_to_qt(NOW + timedelta(hours=2)))
    _click(qtbot, dialog.export_button)
    assert dialog.status.text().startswith("The period ends in the future")
    assert len(export.calls) == 1
    dialog.end.setDateTime(_to_qt(end))
    _click(qtbot, dialog.export_button)
    run_until(qtbot, lambda: len(export.calls) == 2 and not dialog.progress.isVisible())
    assert export.calls[1]["since"] == timedelta(hours=8)
    assert export.calls[1]["until"] == end
    assert export.calls[1]["clusters"] == ["ran-east", "ai-lab"]
    dialog.reject()


def test_the_result_is_one_line_and_what_was_not_read_cut_to_a_few(  # type: ignore[no-untyped-def]
    qtbot, qloop, tmp_path: Path
) -> None:
    unread = [f"ran-{n}/metrics: connection refused (http://10.20.0.{n}:9090)" for n in range(5)]
    dialog = _dialog(qtbot, tmp_path, FakeExport(unread=unread), TaskSupervisor())
    _click(qtbot, dialog.export_button)
    run_until(qtbot, lambda: dialog.status.text().startswith("Wrote"))
    out = tmp_path / "capture-20261127-063012.aiops"
    assert dialog.status.text().splitlines() == [
        f"Wrote {out} (2.4 MB): 3 clusters, 212 series.",
        "5 sources could not be read (the capture shows them as not read):",
        f"  {unread[0]}",
        f"  {unread[1]}",
        f"  {unread[2]}",
        "  and 2 more",
    ]
    assert dialog.export_button.isEnabled() and not dialog.progress.isVisible()
    dialog.reject()


@pytest.fixture
def site_desktop(desktop: DesktopApp, qtbot) -> DesktopApp:  # type: ignore[no-untyped-def]
    run_coro(qtbot, build_site(desktop.core), timeout=120)
    return desktop


def test_a_real_export_is_said_with_what_it_could_not_read(  # type: ignore[no-untyped-def]
    site_desktop: DesktopApp, qtbot
) -> None:
    """The live cache's east and west (their Prometheus at 127.0.0.1:9 does not answer), the
    hub left out: the file the export wrote, its clusters and series as its manifest says."""
    dialog = site_desktop.window.open_capture_export_dialog()
    assert dialog is not None
    assert [dialog.clusters.item(i).text() for i in range(dialog.clusters.count())] == [
        "east", "hub", "west"
    ]  # fmt: skip
    dialog.clusters.item(1).setCheckState(Qt.CheckState.Unchecked)
    _click(qtbot, dialog.export_button)
    assert dialog.progress.isVisible() and dialog.cancel_button.isVisible()
    assert dialog.status.text().startswith("Exporting 2 clusters, the last 24 h…")
    run_until(qtbot, lambda: not dialog.progress.isVisible(), timeout=60)
    out = Path(dialog.status.text().split(" (")[0].removeprefix("Wrote "))
    manifest = read_manifest(out)
    assert manifest.clusters == ["east", "west"] and manifest.counts["series"] == 4
    lines = dialog.status.text().splitlines()
    assert lines[0] == f"Wrote {out} ({out.stat().st_size / 1e3:.1f} kB): 2 clusters, 4 series."
    assert lines[1] == "2 sources could not be read (the capture shows them as not read):"
    assert lines[2].startswith("  east/metrics: ") and lines[3].startswith("  west/metrics: ")
    assert TOKEN not in dialog.status.text()
    dialog.reject()


# -- refused -------------------------------------------------------------------------------
def test_a_refusal_is_said_as_its_message(site_desktop: DesktopApp, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dialog = site_desktop.window.open_capture_export_dialog()
    assert dialog is not None
    missing = tmp_path / "no-such-folder" / "site.aiops"
    dialog.path.setText(str(missing))
    _click(qtbot, dialog.export_button)
    run_until(qtbot, dialog.export_button.isEnabled, timeout=30)
    assert dialog.status.text() == (
        f"The capture could not be exported: the folder {missing.parent} does not exist"
    )
    notes = tmp_path / "notes.aiops"  # the export replaces a capture, not someone's notes
    notes.write_text("shift notes: ran-east DU restarted at 04:10\n")
    dialog.path.setText(str(notes))
    _click(qtbot, dialog.export_button)
    run_until(qtbot, dialog.export_button.isEnabled, timeout=30)
    assert dialog.status.text() == (
        f"The capture could not be exported: {notes} already exists and is not a capture: not "
        "replaced (give a new name, or remove it first)"
    )
    assert notes.read_text().startswith("shift notes")
    dialog.reject()


def test_an_unexpected_failure_is_one_line_not_a_traceback(  # type: ignore[no-untyped-def]
    qtbot, qloop, tmp_path: Path, caplog
) -> None:
    dialog = _dialog(qtbot, tmp_path, FakeExport(error=RuntimeError("disk I/O error")),
                     TaskSupervisor())  # fmt: skip
    _click(qtbot, dialog.export_button)
    run_until(qtbot, dialog.export_button.isEnabled)
    assert dialog.status.text() == (
        "The capture could not be exported: capture-export failed: disk I/O error"
    )
    assert "Traceback" in caplog.text  # logged for whoever looks into it, not shown
    empty = UsageError("the capture's time range is empty")
    dialog2 = _dialog(qtbot, tmp_path, FakeExport(error=empty), TaskSupervisor())
    _click(qtbot, dialog2.export_button)
    run_until(qtbot, dialog2.export_button.isEnabled)
    assert dialog2.status.text() == (
        "The capture could not be exported: the capture's time range is empty"
    )
    dialog.reject()
    dialog2.reject()


# -- off the UI thread, cancelled ----------------------------------------------------------
def test_the_window_goes_on_while_it_exports_and_cancel_leaves_no_file(  # type: ignore[no-untyped-def]
    qtbot, qloop, tmp_path: Path
) -> None:
    release = asyncio.Event()
    export = FakeExport(release=release)
    tasks = TaskSupervisor()
    dialog = _dialog(qtbot, tmp_path, export, tasks)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    try:
        started = time.monotonic()
        _click(qtbot, dialog.export_button)
        assert time.monotonic() - started < 0.5  # the click returned: nothing waited on
        assert dialog.progress.isVisible() and dialog.cancel_button.isVisible()
        assert not dialog.export_button.isEnabled() and not dialog.form.isEnabled()
        run_until(qtbot, lambda: len(ticks) >= 10)  # the loop goes on while it runs
        assert export.calls and tasks.names() == ["capture-export"]
        _click(qtbot, dialog.cancel_button)
        run_until(qtbot, lambda: dialog.status.text().startswith("Export cancelled."))
        assert not tasks.names() and not dialog.progress.isVisible()
        assert dialog.export_button.isEnabled()
        assert list(tmp_path.iterdir()) == []

        # and one that writes in a worker thread: the loop is never held
        export.release, export.copy_s = None, 0.6
        ticks.clear()
        _click(qtbot, dialog.export_button)
        run_until(qtbot, lambda: dialog.status.text().startswith("Wrote"))
        gaps = [b - a for a, b in itertools.pairwise(ticks)]
        assert len(gaps) >= 10 and max(gaps) < 0.3
    finally:
        timer.stop()
    dialog.reject()


def test_closing_the_dialog_stops_its_export(qtbot, qloop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tasks = TaskSupervisor()
    dialog = _dialog(qtbot, tmp_path, FakeExport(release=asyncio.Event()), tasks)
    presenter = dialog._presenter
    cancelled: list[int] = []
    presenter.sig_cancelled.connect(cancelled.append)
    _click(qtbot, dialog.export_button)
    assert tasks.names() == ["capture-export"]
    dialog.reject()
    run_until(qtbot, lambda: cancelled == [1] and not tasks.names())
    assert not presenter.running and list(tmp_path.iterdir()) == []


def test_cancelled_while_the_clusters_are_asked_no_file_is_left(  # type: ignore[no-untyped-def]
    desktop: DesktopApp, qtbot, tmp_path: Path
) -> None:
    """The real export, its cluster's Prometheus reading the request and never answering:
    Cancel stops it there, and neither the capture nor a part of it is left."""
    hang = FaultServer("accept-and-hang", workdir=tmp_path)
    try:
        core = desktop.core
        spec = ClusterSpec(name="ran-east", endpoint_urls={EndpointKind.PROMETHEUS: hang.url})
        run_coro(qtbot, core.registry.add(spec))
        dialog = desktop.window.open_capture_export_dialog()
        assert dialog is not None
        out = Path(dialog.path.text())
        _click(qtbot, dialog.export_button)
        run_until(qtbot, lambda: hang.requests >= 1, timeout=20)  # asked, not answered
        qtbot.wait(500)
        assert "capture-export" in core.supervisor.names()  # still waiting on its answer
        _click(qtbot, dialog.cancel_button)
        run_until(qtbot, lambda: dialog.status.text().startswith("Export cancelled."))
        assert "capture-export" not in core.supervisor.names()
        assert dialog.export_button.isEnabled()
        assert not [p for p in out.parent.iterdir() if out.name in p.name]
        dialog.reject()
    finally:
        hang.stop()
