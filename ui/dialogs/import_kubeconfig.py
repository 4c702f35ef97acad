"""Import kubeconfig contexts: every context listed with what it will do (the command its
credential runs, the files it reads), each checked but those that run a command or send a
token file from outside the kubeconfig's folder: a kubeconfig from elsewhere may run anything,
and name any credential of the user's as its token, so those are the user's tick. The file imported
is the one the list was read from; a summary that skipped a context or warns stays on
screen until Close, no other file read over it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models.registry import KubeconfigContext
from aiops_desktop.models.text import one_line
from ui.presenters.registry import RegistryPresenter
from ui.views.text import PlainLabel

RUNS_ROLE = Qt.ItemDataRole.UserRole + 1  # an item's data: what its context runs


#: the lines of an import's summary the user must read before the dialog goes (a context
#: not imported, and why; TLS that will not be verified)
class ImportKubeconfigDialog(QDialog):
    def __init__(
        self, presenter: RegistryPresenter, path: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        #: the path box's text when a file was last asked to be read, and that file's path
        #: (Read's is the text less blanks around it, Browse's the file chosen as it is)
        self._asked: tuple[str, str] | None = None
        #: the path the list shows (what Import imports)
        self._read_path: str | None = None
        self.setWindowTitle("Import kubeconfig")
        self.resize(640, 420)
        self._setup_ui()
        presenter.sig_import_preview.connect(self._on_presenter_preview)
        presenter.sig_import_done.connect(self._on_presenter_import_done)
        presenter.sig_error.connect(self._on_presenter_error)
        default = path or str(Path("~/.kube/config").expanduser())
        self.path.setText(default)
        if path or Path(default).exists():
            self._read(default)

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.path = QLineEdit()
        self.path.textChanged.connect(self._on_path_text_changed)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._on_browse_clicked)
        self.read_button = QPushButton("Read")
        self.read_button.clicked.connect(self._on_load_clicked)
        row.addWidget(self.path, 1)
        row.addWidget(self.browse_button)
        row.addWidget(self.read_button)
        layout.addLayout(row)
        self.contexts = QListWidget()
        layout.addWidget(self.contexts, 1)
        self.message = PlainLabel()
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        self.close_button = self.buttons.addButton("Close", QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button.clicked.connect(self.accept)
        self.close_button.hide()  # once the summary of an import is shown
        layout.addWidget(self.buttons)

    def _on_browse_clicked(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Choose a kubeconfig", self.path.text())
        if chosen:
            self.path.setText(chosen)
            self._read(chosen)

    def _on_load_clicked(self) -> None:
        self._read(self.path.text().strip())

    def _read(self, path: str) -> None:
        self._asked = (self.path.text(), path)
        self._presenter.preview_kubeconfig(path)

    def _on_path_text_changed(self, _text: str) -> None:
        """Another path: the list (its ticks, its consents) is another file's; none until
        it is read."""
        self._read_path = None
        self.contexts.clear()
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)

    def _on_presenter_preview(self, contexts: list[KubeconfigContext]) -> None:
        if self._asked is None or self._asked[0] != self.path.text():
            return  # read for a path edited since: not what the box names
        self._read_path = self._asked[1]
        self.contexts.clear()
        self.message.clear()
        for ctx in contexts:
            # all of it is the file's text, each part one printable line: a line separator
            # or a bidi override in a name, a server or a word made a line read other than it
            # is (a "reads ~/.kube/..." line of its own, a name that reads backwards)
            name = one_line(ctx.context)
            if ctx.usable:
                text = (
                    f"{name}  →  {one_line(ctx.cluster_name)}  "
                    f"({one_line(ctx.server or '')}, {one_line(ctx.auth)})"
                )
                if ctx.runs:  # a command it runs, or only a token file it sends from elsewhere
                    runs = ctx.auth in ("exec", "auth-provider")
                    said = "runs whenever it needs a token: " if runs else ""
                    text += f"\n    ⚠ {said}{one_line(ctx.runs)}"
                text += "".join(f"\n    reads {one_line(f)}" for f in ctx.files)
                if ctx.warnings:
                    text += "\n    ⚠ " + "; ".join(one_line(w) for w in ctx.warnings)
            else:
                text = f"{name}: cannot import: {one_line(ctx.error or '')}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, ctx.context)
            item.setData(RUNS_ROLE, ctx.runs)  # what a tick consents to, as shown
            if ctx.usable:
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                # a context that runs a command, or sends a token file from outside its
                # kubeconfig's folder, is imported only when ticked by the user
                item.setCheckState(Qt.CheckState.Unchecked if ctx.runs else Qt.CheckState.Checked)
            else:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.contexts.addItem(item)
        usable = sum(1 for c in contexts if c.usable)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(usable > 0)

    def chosen_contexts(self) -> list[str]:
        out = []
        for row in range(self.contexts.count()):
            item = self.contexts.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    def consented(self) -> dict[str, str]:
        """The ticked contexts that run a command (or send a token file from elsewhere), with
        what the user saw."""
        out = {}
        for row in range(self.contexts.count()):
            item = self.contexts.item(row)
            runs = item.data(RUNS_ROLE)
            if item.checkState() == Qt.CheckState.Checked and runs:
                out[item.data(Qt.ItemDataRole.UserRole)] = runs
        return out

    def _on_buttons_accepted(self) -> None:
        chosen = self.chosen_contexts()
        if chosen and self._read_path is not None:
            self.buttons.setEnabled(False)
            self._presenter.import_kubeconfig(self._read_path, chosen, self.consented())

    def _on_presenter_import_done(self, summary: str, to_read: bool) -> None:
        if not to_read:
            self.accept()
            return
        self.message.setText(summary)
        for button in self.buttons.buttons():
            button.setVisible(button is self.close_button)
        self.buttons.setEnabled(True)
        # imported: the summary is of this file, and no other is read over it
        self.path.setReadOnly(True)
        self.browse_button.setEnabled(False)
        self.read_button.setEnabled(False)
        self.contexts.setEnabled(False)

    def _on_presenter_error(self, message: str) -> None:
        if self.isVisible():
            self.buttons.setEnabled(True)
            self.message.setText(message)

    def done(self, result: int) -> None:
        self._presenter.sig_import_preview.disconnect(self._on_presenter_preview)
        self._presenter.sig_import_done.disconnect(self._on_presenter_import_done)
        self._presenter.sig_error.disconnect(self._on_presenter_error)
        super().done(result)
