"""The import dialog: a context that reads a file outside its kubeconfig's folder (another
tool's credential cache in ``~/.kube``) is the user's tick, as one that runs a command, and
its line says what it reads, not that it runs something."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.ui.test_import_kubeconfig_review2 import _dialog

TOKEN = "sha256~Qw3rTy7uIoP1aS2dF4gH6jK8lZ0xC9vB"


def test_a_file_from_elsewhere_is_unticked_and_named(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    cached = home / ".kube" / "tokens" / "lab"
    cached.parent.mkdir(parents=True)
    cached.write_text(TOKEN + "\n")
    path = home / "Downloads" / "lab" / "config"
    path.parent.mkdir(parents=True)
    path.write_text("""apiVersion: v1
kind: Config
clusters: [{name: lab, cluster: {server: "https://api.lab.example.net:6443"}}]
users: [{name: me, user: {tokenFile: "~/.kube/tokens/lab"}}]
contexts: [{name: lab, context: {cluster: lab, user: me}}]
""")
    dialog, presenter = _dialog(qtbot, path)
    item = dialog.contexts.item(0)
    assert item.checkState() == Qt.CheckState.Unchecked
    assert f"⚠ reads files outside the kubeconfig's folder: tokenFile {str(cached)!r}" in (
        item.text()
    )
    assert "runs whenever" not in item.text() and TOKEN not in item.text()
    item.setCheckState(Qt.CheckState.Checked)
    dialog._on_buttons_accepted()
    ((_path, chosen, consented),) = presenter.asked
    assert chosen == ["lab"] and "tokenFile" in consented["lab"]
