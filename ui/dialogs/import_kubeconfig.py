"""Import kubeconfig contexts: every context listed with what it will do (the command its
credential runs, the files it reads), each checked but those that run a command: a
kubeconfig from elsewhere may run anything, so those are the user's tick."""

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


class ImportKubeconfigDialog(QDialog):
    def __init__(
        self, presenter: RegistryPresenter, path: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.setWindowTitle("Import kubeconfig")
        self.resize(640, 420)
        self._setup_ui()
        presenter.sig_import_preview.connect(self._on_presenter_preview)
        presenter.sig_import_done.connect(self._on_presenter_import_done)
        presenter.sig_error.connect(self._on_presenter_error)
        default = path or str(Path("~/.kube/config").expanduser())
        self.path.setText(default)
        if path or Path(default).exists():
            self._presenter.preview_kubeconfig(default)

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.path = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        load = QPushButton("Read")
        load.clicked.connect(self._on_load_clicked)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        row.addWidget(load)
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
        layout.addWidget(self.buttons)

    def _on_browse_clicked(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Choose a kubeconfig", self.path.text())
        if chosen:
            self.path.setText(chosen)
            self._presenter.preview_kubeconfig(chosen)

    def _on_load_clicked(self) -> None:
        self._presenter.preview_kubeconfig(self.path.text().strip())

    def _on_presenter_preview(self, contexts: list[KubeconfigContext]) -> None:
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
                if ctx.runs:
                    text += f"\n    ⚠ runs whenever it needs a token: {one_line(ctx.runs)}"
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
                # a context that runs a command is imported only when ticked by the user
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
        """The ticked contexts that run a command, with the command the user saw."""
        out = {}
        for row in range(self.contexts.count()):
            item = self.contexts.item(row)
            runs = item.data(RUNS_ROLE)
            if item.checkState() == Qt.CheckState.Checked and runs:
                out[item.data(Qt.ItemDataRole.UserRole)] = runs
        return out

    def _on_buttons_accepted(self) -> None:
        chosen = self.chosen_contexts()
        if chosen:
            self.buttons.setEnabled(False)
            self._presenter.import_kubeconfig(self.path.text().strip(), chosen, self.consented())

    def _on_presenter_import_done(self, summary: str) -> None:
        self.message.setText(summary)
        self.accept()

    def _on_presenter_error(self, message: str) -> None:
        if self.isVisible():
            self.buttons.setEnabled(True)
            self.message.setText(message)

    def done(self, result: int) -> None:
        self._presenter.sig_import_preview.disconnect(self._on_presenter_preview)
        self._presenter.sig_import_done.disconnect(self._on_presenter_import_done)
        self._presenter.sig_error.disconnect(self._on_presenter_error)
        super().done(result)
