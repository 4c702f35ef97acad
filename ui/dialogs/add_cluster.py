"""Add a cluster by its URLs. The token field is write-only: it goes to the keyring."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models import ClusterType, EndpointKind, Environment, Platform
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
        presenter.sig_error.connect(self._on_presenter_error)
        presenter.sig_cluster_added.connect(self._on_presenter_cluster_added)

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name = QLineEdit(placeholderText="prod-east-1")
        self.display_name = QLineEdit()
        self.api_url = QLineEdit(placeholderText="https://api.cluster.example:6443")
        self.prometheus_url = QLineEdit(placeholderText="https://thanos-querier… (optional)")
        self.alertmanager_url = QLineEdit(placeholderText="optional")
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
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def _on_buttons_accepted(self) -> None:
        self.error.clear()
        urls = {
            EndpointKind.PROMETHEUS: self.prometheus_url.text().strip(),
            EndpointKind.ALERTMANAGER: self.alertmanager_url.text().strip(),
        }
        spec = ClusterSpec(
            name=self.name.text().strip(),
            display_name=self.display_name.text().strip(),
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
        self.buttons.setEnabled(False)
        self._presenter.add_cluster(spec, secrets)

    def _on_presenter_error(self, message: str) -> None:
        if self.isVisible():
            self.buttons.setEnabled(True)
            self.error.setText(message)

    def _on_presenter_cluster_added(self, _name: str) -> None:
        self.token.clear()
        self.accept()

    def done(self, result: int) -> None:
        self._presenter.sig_error.disconnect(self._on_presenter_error)
        self._presenter.sig_cluster_added.disconnect(self._on_presenter_cluster_added)
        self.token.clear()
        super().done(result)
