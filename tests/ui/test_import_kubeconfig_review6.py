"""The import dialog's summary stays as it is until Close (Read and Browse, which would read a
file again over it, are off), and a file Browse chose is listed whatever blanks its name has."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QPushButton
from pytestqt.qtbot import QtBot

from tests.ui.test_import_kubeconfig_review2 import _dialog
from tests.ui.test_import_kubeconfig_review5 import SKIPPED, import_button, write
from ui.dialogs.import_kubeconfig import ImportKubeconfigDialog


def path_buttons(dialog: ImportKubeconfigDialog) -> list[QPushButton]:
    return [b for b in dialog.findChildren(QPushButton) if b.text() in ("Browse…", "Read")]


def test_the_summary_cannot_be_read_over(qtbot: QtBot, tmp_path: Path) -> None:
    dialog, presenter = _dialog(qtbot, write(tmp_path / "a", "https://api.prod.example.com:6443"))
    dialog.open()
    dialog.contexts.item(0).setCheckState(Qt.CheckState.Checked)
    assert [b.isEnabled() for b in path_buttons(dialog)] == [True, True]
    dialog._on_buttons_accepted()
    presenter.sig_import_done.emit(SKIPPED, True)
    browse, read = path_buttons(dialog)
    assert not browse.isEnabled() and not read.isEnabled()
    qtbot.mouseClick(read, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.message.text() == SKIPPED
    assert dialog.contexts.count() == 1 and len(presenter.asked) == 1


def test_a_file_browse_chose_is_listed_whatever_its_blanks(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spaced = tmp_path / "b" / "config "  # its name ends in a blank
    spaced.parent.mkdir()
    shutil.copy(write(tmp_path / "a", "https://api.prod.example.com:6443"), spaced)
    dialog, presenter = _dialog(qtbot, tmp_path / "none")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_a, **_k: (str(spaced), ""))
    dialog._on_browse_clicked()
    assert dialog.contexts.count() == 1 and import_button(dialog).isEnabled()
    dialog.contexts.item(0).setCheckState(Qt.CheckState.Checked)
    dialog._on_buttons_accepted()
    ((path, chosen, _consented),) = presenter.asked
    assert (path, chosen) == (str(spaced), ["prod"])
