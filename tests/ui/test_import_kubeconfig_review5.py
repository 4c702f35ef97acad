"""The import dialog imports the file its list was read from (a path edited since clears the
list until it is read), and a summary that skipped or warned stays on screen until Close."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPushButton
from pytestqt.qtbot import QtBot

from tests.ui.test_import_kubeconfig_review2 import Presenter, _dialog
from ui.dialogs.import_kubeconfig import ImportKubeconfigDialog

EXEC = "{exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: kubelogin, args: [t]}}"


def write(folder: Path, server: str) -> Path:
    folder.mkdir()
    path = folder / "config"
    path.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "{server}"}}}}]
users: [{{name: u, user: {EXEC}}}]
contexts: [{{name: prod, context: {{cluster: c, user: u}}}}]
""")
    return path


def import_button(dialog: ImportKubeconfigDialog) -> QPushButton:
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


# -- 3: the path edited after the file was read --------------------------------------------------
def test_an_edited_path_clears_the_list_until_it_is_read(qtbot: QtBot, tmp_path: Path) -> None:
    prod = write(tmp_path / "a", "https://api.prod.example.com:6443")
    other = write(tmp_path / "b", "https://api.attacker.example.net:6443")
    dialog, presenter = _dialog(qtbot, prod)
    dialog.contexts.item(0).setCheckState(Qt.CheckState.Checked)  # consents to kubelogin
    dialog.path.setText(str(other))  # edited, not read
    assert dialog.contexts.count() == 0 and not import_button(dialog).isEnabled()
    dialog._on_buttons_accepted()
    assert presenter.asked == []
    dialog._on_load_clicked()  # read: its contexts, unticked (they run a command)
    assert "attacker" in dialog.contexts.item(0).text()
    assert dialog.contexts.item(0).checkState() == Qt.CheckState.Unchecked


def test_the_import_names_the_file_the_list_was_read_from(qtbot: QtBot, tmp_path: Path) -> None:
    prod = write(tmp_path / "a", "https://api.prod.example.com:6443")
    dialog, presenter = _dialog(qtbot, prod)
    dialog.contexts.item(0).setCheckState(Qt.CheckState.Checked)
    dialog.path.setText(f"  {prod}  ")  # the same file, blanks around it: read again
    dialog._on_load_clicked()
    dialog.contexts.item(0).setCheckState(Qt.CheckState.Checked)
    dialog._on_buttons_accepted()
    ((path, chosen, consented),) = presenter.asked
    assert (path, chosen, list(consented)) == (str(prod), ["prod"], ["prod"])


# -- 4: the summary is seen ----------------------------------------------------------------------
SKIPPED = (
    "Imported 0 clusters.\nSkipped prod-east: its certificate authority differs from the one "
    "stored for prod-east: not replaced"
)


def test_a_summary_that_skipped_stays_until_close(qtbot: QtBot, tmp_path: Path) -> None:
    dialog, presenter = _dialog(qtbot, write(tmp_path / "a", "https://api.prod.example.com:6443"))
    dialog.open()
    dialog.contexts.item(0).setCheckState(Qt.CheckState.Checked)
    dialog._on_buttons_accepted()
    presenter.sig_import_done.emit(SKIPPED, True)
    assert dialog.isVisible() and dialog.message.text() == SKIPPED
    assert not import_button(dialog).isVisible()
    (close,) = [b for b in dialog.buttons.buttons() if b.isVisible()]
    assert close.text() == "Close" and close.isEnabled()
    close.click()
    assert not dialog.isVisible() and dialog.result() == QDialog.DialogCode.Accepted
    assert len(presenter.asked) == 1  # Close imports nothing again


def test_a_clean_import_closes_at_once(qtbot: QtBot, tmp_path: Path) -> None:
    dialog, presenter = _dialog(qtbot, write(tmp_path / "a", "https://api.prod.example.com:6443"))
    dialog.open()
    presenter.sig_import_done.emit("Imported 1 cluster.\nCredential replaced: prod", False)
    assert not dialog.isVisible() and dialog.result() == QDialog.DialogCode.Accepted


def test_a_warning_stays_until_close(qtbot: QtBot, tmp_path: Path) -> None:
    dialog, presenter = _dialog(qtbot, write(tmp_path / "a", "https://api.prod.example.com:6443"))
    dialog.open()
    presenter.sig_import_done.emit(
        "Imported 1 cluster.\nWarning: lab: TLS will NOT be verified", True
    )
    assert dialog.isVisible() and "NOT be verified" in dialog.message.text()
    assert isinstance(presenter, Presenter)
