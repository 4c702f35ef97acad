"""Add a cluster by its URLs. The token field is write-only: it goes to the keyring."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models import ClusterKind, ClusterType, EndpointKind, Environment, Platform
from aiops_desktop.models.credentials import TOKEN_RULE, is_token_text
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from ui.presenters.registry import RegistryPresenter
from ui.views.text import PlainLabel


class AddClusterDialog(QDialog):
    def __init__(self, presenter: RegistryPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.setWindowTitle("Add cluster")
        self._setup_ui()
        # the presenter's answers are about an add request: this dialog's, or another's (a
        # dialog closed since, an import) that is not what this one shows
        self._request: int | None = None
        self._adding: asyncio.Task[None] | None = None
        presenter.sig_add_failed.connect(self._on_presenter_add_failed)
        presenter.sig_cluster_added.connect(self._on_presenter_cluster_added)

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name = QLineEdit(placeholderText="prod-east-1")
        self.display_name = QLineEdit()
        self.api_url = QLineEdit(placeholderText="https://api.cluster.example:6443")
        self.prometheus_url = QLineEdit(placeholderText="https://thanos-querier… (optional)")
        self.alertmanager_url = QLineEdit(placeholderText="optional")
        self.kind = QComboBox()
        self.kind.addItem("One cluster", ClusterKind.CLUSTER.value)
        self.kind.addItem("Fleet hub (many clusters)", ClusterKind.FLEET.value)
        self.kind.setToolTip(
            "A fleet hub (ACM, Thanos) serves many clusters' series by their cluster label: "
            "each is shown as a member of its own"
        )
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self.cluster_type = QComboBox()
        self.cluster_type.addItems([t.value for t in ClusterType])
        self.cluster_type.setCurrentText(ClusterType.SPOKE.value)
        self.platform = QComboBox()
        self.platform.addItems([p.value for p in Platform])
        self.environment = QComboBox()
        self.environment.addItems([e.value for e in Environment])
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("bearer token (stored in the OS keyring only)")
        self.endpoints_use_token = QCheckBox("Use this token for Prometheus/Alertmanager too")
        self.endpoints_use_token.setToolTip(
            "Without an API server URL the token is theirs anyway (a fleet hub's Thanos)"
        )
        for label, widget in (
            ("Name", self.name),
            ("Display name", self.display_name),
            ("API server URL", self.api_url),
            ("Prometheus/Thanos URL", self.prometheus_url),
            ("Alertmanager URL", self.alertmanager_url),
            ("Kind", self.kind),
            ("Type", self.cluster_type),
            ("Platform", self.platform),
            ("Environment", self.environment),
            ("Token", self.token),
            ("", self.endpoints_use_token),
        ):
            form.addRow(label, widget)
        layout.addLayout(form)
        self.error = PlainLabel()
        self.error.setProperty("role", "error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        self.status = PlainLabel()
        self.status.setProperty("muted", True)
        layout.addWidget(self.status)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def _on_kind_changed(self) -> None:
        """A fleet hub is a hub: the type follows, unless one other than a spoke's was chosen."""
        fleet = ClusterKind(self.kind.currentData()) is ClusterKind.FLEET
        if fleet and self.cluster_type.currentText() == ClusterType.SPOKE.value:
            self.cluster_type.setCurrentText(ClusterType.HUB.value)

    def _on_buttons_accepted(self) -> None:
        self.error.clear()
        urls = {
            EndpointKind.PROMETHEUS: self.prometheus_url.text().strip(),
            EndpointKind.ALERTMANAGER: self.alertmanager_url.text().strip(),
        }
        spec = ClusterSpec(
            name=self.name.text().strip(),
            display_name=self.display_name.text().strip(),
            kind=ClusterKind(self.kind.currentData()),
            api_server_url=self.api_url.text().strip() or None,
            cluster_type=ClusterType(self.cluster_type.currentText()),
            platform=Platform(self.platform.currentText()),
            environment=Environment(self.environment.currentText()),
            endpoint_urls={k: v for k, v in urls.items() if v},
        )
        token = self.token.text().strip()
        if token and not is_token_text(token):  # a paste of two lines: refused before the keyring
            self.error.setText(f"The token is not a bearer token: a token is {TOKEN_RULE}.")
            return
        secrets = ClusterSecrets(
            token=token or None,
            endpoints_use_cluster_token=self.endpoints_use_token.isChecked(),
        )
        # Cancel stays: a slow keyring (an unlock prompt) may be given up on, and the add
        # with it (done)
        self._ok.setEnabled(False)
        self.status.setText("Adding…")
        self._request, self._adding = self._presenter.add_cluster(spec, secrets)

    @property
    def _ok(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def _on_presenter_add_failed(self, request: int, message: str) -> None:
        if request != self._request:
            return
        self._adding = None
        self._ok.setEnabled(True)
        self.status.clear()
        self.error.setText(message)

    def _on_presenter_cluster_added(self, request: int, _name: str) -> None:
        if request != self._request:
            return
        self._adding = None
        self.token.clear()
        self.accept()

    def done(self, result: int) -> None:
        """Closed (Cancel, Escape) while its add runs: the add is stopped (the registry
        undoes what it wrote), never registered unseen."""
        if self._adding is not None and not self._adding.done():
            self._adding.cancel()
        self._adding = None
        self._presenter.sig_add_failed.disconnect(self._on_presenter_add_failed)
        self._presenter.sig_cluster_added.disconnect(self._on_presenter_cluster_added)
        self.token.clear()
        super().done(result)
