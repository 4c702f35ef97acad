"""What a person sees: first run, adding and importing clusters, the reference screenshot."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMessageBox

from aiops_desktop.app import DesktopApp
from aiops_desktop.qt_boot import save_screenshot
from tests.qtfree.kubeconfigs import TOKEN, write_kubeconfig
from tests.ui.conftest import act, run_coro, run_until

REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "first_run.png"
pytestmark = pytest.mark.qt


def image_distance(a: QImage, b: QImage) -> float:
    """Mean absolute difference (0-255) of two images scaled to 160x100: tolerant of fonts."""
    size = (160, 100)
    a = a.convertToFormat(QImage.Format.Format_RGB32).scaled(
        *size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    b = b.convertToFormat(QImage.Format.Format_RGB32).scaled(
        *size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    total = 0
    for y in range(size[1]):
        for x in range(size[0]):
            pa, pb = a.pixelColor(x, y), b.pixelColor(x, y)
            total += (
                abs(pa.red() - pb.red()) + abs(pa.green() - pb.green()) + abs(pa.blue() - pb.blue())
            )
    return total / (size[0] * size[1] * 3)


def test_first_run_shows_the_three_ways_in(desktop: DesktopApp) -> None:
    window = desktop.window
    assert window.stack.currentWidget() is window.empty_state
    assert not window.cluster_list.isVisible()
    assert window.empty_state.import_button.isEnabled()
    assert window.empty_state.add_button.isEnabled()
    assert "0 clusters" in window.status_clusters.text()


def test_first_run_screenshot_matches_reference(desktop: DesktopApp, tmp_path: Path, qtbot) -> None:
    shot = save_screenshot(desktop.window, tmp_path / "first_run.png")
    distance = image_distance(QImage(str(shot)), QImage(str(REFERENCE)))
    assert distance < 6.0, f"first-run window differs from {REFERENCE.name}: {distance:.1f}"
    desktop.window.empty_state.setVisible(False)  # the comparison can fail: hide the content
    qtbot.wait(50)
    blank = save_screenshot(desktop.window, tmp_path / "blank.png")
    assert image_distance(QImage(str(blank)), QImage(str(REFERENCE))) > distance


def test_add_cluster_dialog_keeps_token_in_keyring_only(desktop: DesktopApp, qtbot) -> None:
    dialog = desktop.window.open_add_dialog()
    dialog.name.setText("gpu-west-2")
    dialog.api_url.setText("https://api.gpu-west-2.example:6443")
    dialog.prometheus_url.setText("https://thanos.gpu-west-2.example")
    dialog.cluster_type.setCurrentText("EDGE")
    dialog.token.setText(TOKEN)
    dialog.endpoints_use_token.setChecked(True)
    act(dialog.buttons.accepted.emit)
    run_until(qtbot, lambda: any(c.name == "gpu-west-2" for c in desktop.presenter.clusters()))
    run_until(qtbot, lambda: desktop.window.stack.currentWidget() is desktop.window.fleet)
    # counted at once, before the fleet's next judgement (not "0 clusters" till then)
    assert desktop.window.status_clusters.text().startswith("1 cluster")
    act(lambda: desktop.window.show_cluster("gpu-west-2"))
    assert desktop.window.stack.currentWidget() is desktop.window.cluster_page
    overview = desktop.window.overview
    assert overview.fields["Credential"].text() == "bearer token (in OS keyring)"
    assert overview.fields["Type"].text().startswith("EDGE")
    assert overview.endpoints.item(0, 0).text() == "API_SERVER"
    assert overview.endpoints.item(1, 0).text() == "PROMETHEUS"
    assert overview.endpoints.item(1, 2).text() == "BEARER"
    cluster = desktop.core.registry.get("gpu-west-2")
    assert cluster.credential is not None
    assert desktop.core.secrets.get(cluster.credential) == TOKEN
    qtbot.wait(100)  # let the writer commit
    stored = b"".join(p.read_bytes() for p in desktop.core.paths.data_dir.rglob("*") if p.is_file())
    assert b"gpu-west-2" in stored
    assert b'"msg": "cluster added"' in stored  # the log file is part of what was searched
    assert TOKEN.encode() not in stored
    assert TOKEN not in overview.fields["Credential"].text()


def test_add_dialog_shows_validation_errors_and_stays_open(desktop: DesktopApp, qtbot) -> None:
    dialog = desktop.window.open_add_dialog()
    dialog.name.setText("Bad_Name")
    dialog.api_url.setText("http://insecure")
    act(dialog.buttons.accepted.emit)
    run_until(qtbot, lambda: bool(dialog.error.text()))
    assert "not DNS-style" in dialog.error.text() and "expected https://" in dialog.error.text()
    assert dialog.isVisible() and dialog.buttons.isEnabled()
    dialog.reject()


def test_import_dialog_imports_the_checked_contexts(
    desktop: DesktopApp, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(write_kubeconfig(tmp_path))
    dialogs = []
    act(lambda: dialogs.append(desktop.window.open_import_dialog(path)))
    dialog = dialogs[0]
    run_until(qtbot, lambda: dialog.contexts.count() == 5)
    texts = [dialog.contexts.item(i).text() for i in range(5)]
    assert any("cannot import" in t and "broken-user" in t for t in texts)
    assert any("NOT be verified" in t for t in texts)
    # the context that runs a command says the whole command, and is the user's tick
    (runs,) = [i for i in range(5) if "lab-oidc  →" in dialog.contexts.item(i).text()]
    said = dialog.contexts.item(runs).text()
    # the environment's values are bound (a secret-named one's hidden, with a fingerprint)
    assert (
        "runs whenever it needs a token: oc get-token (environment: OIDC_SECRET=<hidden>)" in said
    )
    assert "exec-env-secret-value" not in said
    assert dialog.contexts.item(runs).checkState() == Qt.CheckState.Unchecked
    assert any("reads client-key " in t for t in texts)  # and the files a context read
    dialog.contexts.item(runs).setCheckState(Qt.CheckState.Checked)
    (consent,) = dialog.consented().values()
    assert consent.startswith("oc get-token (environment: OIDC_SECRET=<hidden>) (secret values")
    assert list(dialog.consented()) == ["lab-oidc"]
    dialog.contexts.item(1).setCheckState(Qt.CheckState.Unchecked)  # skip 'admin'
    assert dialog.chosen_contexts() == [
        "default/api-ocp-prod-example-com:6443/kube:admin",
        "lab-oidc",
    ]
    act(dialog.buttons.accepted.emit)
    run_until(qtbot, lambda: len(desktop.presenter.clusters()) == 2)
    assert desktop.window.cluster_list.list.count() == 2
    act(lambda: desktop.window.show_cluster("lab-oidc"))
    assert desktop.window.overview.title.text() == "lab-oidc"
    assert desktop.window.overview.tls_warning.isVisibleTo(desktop.window.overview)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    act(desktop.window.overview.remove_button.click)
    run_until(qtbot, lambda: len(desktop.presenter.clusters()) == 1)


@pytest.mark.slow
def test_app_starts_renders_and_quits_cleanly(tmp_path: Path) -> None:
    """Start-up and shutdown of the real entry point, three times (the PySide6 6.12 trap)."""
    for i in range(3):
        out = tmp_path / f"shot-{i}.png"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "aiops_desktop",
                "--data-dir",
                str(tmp_path / "home"),
                "--offscreen",
                "--screenshot",
                str(out),
                "--size",
                "1024x700",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr and "Fatal" not in proc.stderr
        assert QImage(str(out)).width() == 1024
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "aiops_desktop",
            "--data-dir",
            str(tmp_path / "home"),
            "--offscreen",
            "--view",
            "nope",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and "unknown view 'nope'" in bad.stderr
    out = tmp_path / "no-such-cluster.png"
    unknown = subprocess.run(
        [sys.executable, "-m", "aiops_desktop", "--data-dir", str(tmp_path / "home"),
         "--offscreen", "--view", "cluster:ran-eats", "--screenshot", str(out)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    # was: an empty cluster page drawn, exit 0
    assert unknown.returncode == 2, unknown.stderr
    assert "--view 'cluster:ran-eats': no cluster named 'ran-eats' is registered" in (
        unknown.stderr
    )
    assert not out.exists()


def test_closing_the_window_ends_the_app_cleanly(
    qloop: qasync.QEventLoop,
    qtbot,
    theme,
    tmp_path: Path,
    secret_service,  # type: ignore[no-untyped-def]
) -> None:
    """The interactive path: the user closes the window, services stop, the loop ends with 0."""
    from PySide6.QtWidgets import QApplication

    from aiops_desktop.app import gui_main as _gui_main
    from aiops_desktop.cli import build_parser
    from aiops_desktop.settings import resolve_paths

    args = build_parser().parse_args(["--offscreen"])

    async def close_when_shown() -> None:
        while not any(w.isVisible() for w in QApplication.topLevelWidgets()):
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # the maintenance task is running by now
        for widget in QApplication.topLevelWidgets():
            if widget.objectName() == "mainWindow":
                widget.close()

    async def scenario() -> int:
        closer = asyncio.ensure_future(close_when_shown())
        code = await _gui_main(args, resolve_paths(tmp_path / "home"), theme)
        await closer
        return code

    assert run_coro(qtbot, scenario()) == 0


def test_first_run_offers_the_sample_capture(desktop: DesktopApp, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from aiops_desktop.store.capture import read_manifest
    from ui.main_window import SAMPLE_CAPTURE

    opened: list[str] = []
    monkeypatch.setattr(desktop.window, "open_capture", opened.append)
    button = desktop.window.empty_state.sample_button
    assert button.isVisible() and SAMPLE_CAPTURE.exists()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert opened == [str(SAMPLE_CAPTURE)]
    manifest = read_manifest(SAMPLE_CAPTURE)  # the bundled file opens, and says what it is
    assert manifest.label == "SAMPLE DATA" and manifest.counts["anomalies"] > 0


def test_settings_dialog_changes_the_sensitivity_at_once_and_keeps_it(
    desktop: DesktopApp, qtbot
) -> None:  # type: ignore[no-untyped-def]
    from aiops_desktop.models.enums import Sensitivity

    dialog = desktop.window.open_settings_dialog()
    assert dialog.sensitivity.currentData() == Sensitivity.MEDIUM
    dialog.sensitivity.setCurrentIndex(dialog.sensitivity.findData(Sensitivity.HIGH))
    apply = dialog.buttons.button(dialog.buttons.StandardButton.Apply)
    qtbot.mouseClick(apply, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: "kept in" in dialog.status.text())
    assert "HIGH (threshold 2)" in dialog.status.text()
    assert desktop.core.anomalies.sensitivity is Sensitivity.HIGH
    assert '"HIGH"' in desktop.core.paths.settings_file.read_text()
    dialog.reject()


def test_the_pages_come_from_one_table_and_are_built_when_first_shown(
    desktop: DesktopApp,
) -> None:
    from ui.pages import PAGES, Runs

    window = desktop.window
    nav = [window.nav.item(i).data(Qt.ItemDataRole.UserRole) for i in range(window.nav.count())]
    assert nav == [p.key for p in PAGES]
    assert window._built == {}  # the first frame builds no page
    for spec in PAGES:
        window.show_view(spec.aliases[0] if spec.aliases else spec.key)
        assert window.stack.currentWidget() is window.page(spec.key)
        readers = [p.key for p in PAGES if p.runs is Runs.WHILE_SHOWN]
        running = [k for k in readers if desktop.presenters.page(k)._timer.isActive()]  # type: ignore[union-attr]
        assert running == ([spec.key] if spec.runs is Runs.WHILE_SHOWN else [])
    assert set(window._built) == {p.key for p in PAGES}
