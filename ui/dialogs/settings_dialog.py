"""Settings: the anomaly detector's sensitivity and the optional local model server (endpoint,
model, API key kept in the OS keyring, TLS, IP redaction, a test); applied at once and kept
for the next start (the rest of ``settings.json`` is for files: timeouts, polling)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models.enums import Sensitivity
from ui.presenters.settings import SettingsPresenter
from ui.views.text import PlainLabel

ROLE_TEXT = {
    "admin": "Admin: clusters, credentials and settings too",
    "operator": "Operator: all but managing clusters, credentials and settings",
    "viewer": "Viewer: reads only",
}
THEME_TEXT = {
    "system": "Follow the system (light or dark)",
    "dark": "Dark",
    "light": "Light",
    "high-contrast": "High contrast",
}
SENSITIVITY_TEXT = {
    Sensitivity.LOW: "Low: only large deviations (3.0)",
    Sensitivity.MEDIUM: "Medium (2.5, the default)",
    Sensitivity.HIGH: "High (2.0)",
    Sensitivity.EXTREME: "Extreme: small deviations too (1.5)",
}


class SettingsDialog(QDialog):
    def __init__(self, presenter: SettingsPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._presenter = presenter
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.sensitivity = QComboBox()
        for level, text in SENSITIVITY_TEXT.items():
            self.sensitivity.addItem(text, level)
        current = presenter.current.detection.sensitivity
        self.sensitivity.setCurrentIndex(list(SENSITIVITY_TEXT).index(current))
        form.addRow("Anomaly sensitivity", self.sensitivity)
        look = presenter.current.ui
        self.theme = QComboBox()
        for name, text in THEME_TEXT.items():
            self.theme.addItem(text, name)
        self.theme.setCurrentIndex(max(0, self.theme.findData(look.theme)))
        form.addRow("Theme", self.theme)
        self.font_scale = QDoubleSpinBox()
        self.font_scale.setRange(0.75, 2.0)
        self.font_scale.setSingleStep(0.25)
        self.font_scale.setValue(look.font_scale)
        self.font_scale.setSuffix(" ×")
        form.addRow("Font scale", self.font_scale)
        self.notify = QCheckBox("Notify me of each new CRITICAL finding (desktop notification)")
        self.notify.setChecked(look.notify_critical)
        form.addRow("", self.notify)
        self.account_role = QComboBox()
        for role, text in ROLE_TEXT.items():
            self.account_role.addItem(text, role)
        self.account_role.setCurrentIndex(
            max(0, self.account_role.findData(presenter.current.access.role.value))
        )
        self.account_role.setToolTip("The highest role this OS account starts the app as; "
                                     "--role can only lower it")  # fmt: skip
        form.addRow("This account's role", self.account_role)
        layout.addLayout(form)
        layout.addWidget(self._llm_group(presenter))
        self.status = PlainLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Apply | QDialogButtonBox.StandardButton.Close
        )
        apply = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        apply.clicked.connect(self._on_apply_clicked)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        # Enter applies: with no accept button the first auto-default one took it ("Test",
        # which sent the key typed to the server typed, and saved nothing); once in the
        # dialog, which keeps its default button
        apply.setDefault(True)
        #: what the changes of this Apply said, refusals first: they end in any order, and a
        #: change kept must not hide one refused (nor the key typed be lost with it)
        self._said: list[str] = []
        self._refusals = 0
        #: the API key sent with the model server's settings: cleared once they are kept
        self._key_sent = ""
        presenter.sig_saved.connect(self._say)
        presenter.sig_error.connect(self._refused)
        presenter.sig_llm_saved.connect(self._on_llm_saved)
        presenter.sig_llm_tested.connect(self.status.setText)

    def _llm_group(self, presenter: SettingsPresenter) -> QGroupBox:
        group = QGroupBox("Local LLM (optional: explanations and chat)")
        form = QFormLayout(group)
        llm = presenter.current.llm
        self.llm_endpoint = QLineEdit(llm.endpoint or "")
        self.llm_endpoint.setPlaceholderText("http://127.0.0.1:8080/v1 (llama.cpp, vLLM, Ollama)")
        self.llm_model = QLineEdit(llm.model)
        self.llm_key = QLineEdit()
        self.llm_key.setEchoMode(QLineEdit.EchoMode.Password)
        # a key belongs to its server: another endpoint applied with this field empty
        # removes the stored key (LlmService.change)
        self.llm_key.setPlaceholderText(
            "kept in the OS keyring; empty keeps the one stored, for the same server only"
        )
        self.llm_forget = QCheckBox("Remove the stored API key")
        self.llm_verify = QCheckBox("Verify the server's TLS certificate")
        self.llm_verify.setChecked(llm.verify_tls)
        self.llm_ips = QCheckBox("Also hide IP addresses from the model")
        self.llm_ips.setChecked(llm.redact_ips)
        self.llm_test = QPushButton("Test")
        self.llm_test.setAutoDefault(False)  # only a click tests: Enter applies
        self.llm_test.clicked.connect(self._on_test_clicked)
        form.addRow("Endpoint", self.llm_endpoint)
        form.addRow("Model", self.llm_model)
        form.addRow("API key", self.llm_key)
        for box in (self.llm_forget, self.llm_verify, self.llm_ips):
            form.addRow("", box)
        form.addRow("", self.llm_test)
        group.setEnabled(presenter.llm is not None)
        return group

    def _say(self, text: str) -> None:
        self._said.append(text)
        self.status.setText("\n".join(self._said))

    def _refused(self, text: str) -> None:
        if text:
            self._said.insert(self._refusals, text)
            self._refusals += 1
            self.status.setText("\n".join(self._said))

    def _on_llm_saved(self) -> None:
        if self._key_sent and self.llm_key.text() == self._key_sent:  # not one typed since
            self.llm_key.clear()
        self._key_sent = ""

    def _on_apply_clicked(self) -> None:
        """Only what changed is saved: each change says what it kept, and a change not made
        would say it was kept whatever else was refused."""
        self._said, self._refusals = [], 0
        self.status.setText("Saving …")
        started = False
        sensitivity = Sensitivity(self.sensitivity.currentData())
        if sensitivity is not self._presenter.current.detection.sensitivity:
            self._presenter.set_sensitivity(sensitivity)
            started = True
        look = self._presenter.current.ui
        scale = self.font_scale.value()
        chosen = (str(self.theme.currentData()), scale, self.notify.isChecked())
        # the stored scale as the box shows it (rounded by the box itself: Qt rounds half
        # away from zero, Python's round() to even): one set by hand with more decimals
        # (1.125, shown 1.13) is no change while the box is not touched, and is kept as is
        shown = self.font_scale.valueFromText(self.font_scale.textFromValue(look.font_scale))
        if chosen != (look.theme, shown, look.notify_critical):
            if scale == shown:
                chosen = (chosen[0], look.font_scale, chosen[2])
            self._presenter.set_look(*chosen)
            started = True
        role = str(self.account_role.currentData())
        if role != self._presenter.current.access.role.value:
            self._presenter.set_account_role(role)
            started = True
        if not self._apply_llm() and not started and not self._said:
            self.status.setText("Nothing was changed.")

    def _apply_llm(self) -> bool:
        """The model server's fields: an endpoint emptied turns the server off (and "Remove
        the stored API key" removes its key, whatever the endpoint field says). Whether a
        change was started. The key typed stays in its field until the change is kept."""
        llm = self._presenter.current.llm
        endpoint, model = self.llm_endpoint.text().strip(), self.llm_model.text().strip()
        forget = self.llm_forget.isChecked()
        if not endpoint:
            if self.llm_key.text():
                self.llm_key.clear()
                self._say("The API key typed was not kept: it belongs to a model server; "
                          "give its endpoint and model, then Apply again.")  # fmt: skip
            if llm.endpoint or forget:
                self._presenter.turn_llm_off(forget_key=forget)
                return True
            return False
        changed = (endpoint, model, self.llm_verify.isChecked(), self.llm_ips.isChecked()) != (
            llm.endpoint or "",
            llm.model,
            llm.verify_tls,
            llm.redact_ips,
        )
        if not (changed or self.llm_key.text() or forget):
            return False
        self._key_sent = self.llm_key.text()
        self._presenter.set_llm(
            endpoint=endpoint, model=model, key=self._key_sent, forget_key=forget,
            verify_tls=self.llm_verify.isChecked(), redact_ips=self.llm_ips.isChecked(),
        )  # fmt: skip
        return True

    def _on_test_clicked(self) -> None:
        """The server as typed, before it is applied."""
        self.status.setText("Asking the model server …")
        self._presenter.test_llm(
            endpoint=self.llm_endpoint.text(), model=self.llm_model.text(),
            key=self.llm_key.text(), forget_key=self.llm_forget.isChecked(),
            verify_tls=self.llm_verify.isChecked(),
        )  # fmt: skip
