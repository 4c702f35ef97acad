"""The Add cluster dialog and the window's Remove as a person uses them: a fleet hub's token
typed with only its Prometheus URL is sent to that Prometheus; a removal the keyring cannot
finish says so."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from aiops_desktop.app import DesktopApp
from aiops_desktop.models import AuthMethod, EndpointKind
from aiops_desktop.models.credentials import CredentialRef
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.secrets import SecretStore, SecretsUnavailableError
from tests.ui.conftest import act, run_coro, run_until

HUB_TOKEN = "hub-tok-31f0-typed"


def test_a_token_typed_without_an_api_server_url_goes_to_the_prometheus(
    desktop: DesktopApp, qtbot
) -> None:
    dialog = desktop.window.open_add_dialog()
    dialog.name.setText("acm-hub")
    dialog.prometheus_url.setText("https://thanos.hub.example")
    dialog.token.setText(HUB_TOKEN)
    assert not dialog.endpoints_use_token.isChecked()
    act(dialog.buttons.accepted.emit)
    run_until(qtbot, lambda: [c.name for c in desktop.presenter.clusters()] == ["acm-hub"])
    (hub,) = desktop.presenter.clusters()
    prom = hub.endpoint(EndpointKind.PROMETHEUS)
    assert prom is not None and prom.auth is AuthMethod.BEARER
    assert prom.credential is not None and prom.credential == hub.credential
    assert desktop.core.secrets.get(prom.credential) == HUB_TOKEN


def test_a_removal_the_keyring_cannot_finish_is_said_in_the_window(
    desktop: DesktopApp, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = ClusterSpec(name="prod-1", api_server_url="https://api.prod-1:6443")
    run_coro(qtbot, desktop.core.registry.add(spec, ClusterSecrets(token=HUB_TOKEN)))
    run_until(qtbot, lambda: len(desktop.presenter.clusters()) == 1)

    def refuse(self: SecretStore, ref: CredentialRef) -> bool:
        raise SecretsUnavailableError("Failed to unlock the collection")

    monkeypatch.setattr(SecretStore, "delete", refuse)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    act(lambda: desktop.window.confirm_remove("prod-1"))
    status = desktop.window.statusBar()
    run_until(qtbot, lambda: "could not be deleted" in status.currentMessage())
    assert desktop.presenter.clusters() == []
    assert "removed prod-1" in status.currentMessage()
    assert HUB_TOKEN not in status.currentMessage()


def test_a_token_of_two_lines_is_refused_in_the_dialog_and_never_stored(
    desktop: DesktopApp, qtbot
) -> None:
    second = "k7Qz9SECRETLINE2xYw3"
    dialog = desktop.window.open_add_dialog()
    dialog.name.setText("lab-1")
    dialog.api_url.setText("https://api.lab-1.example:6443")
    dialog.token.setText("sha256~AbCdEfGhIjKlMnOpQrStUv\n" + second)  # a paste of two lines
    act(dialog.buttons.accepted.emit)
    assert "one line" in dialog.error.text() and second not in dialog.error.text()
    assert dialog.buttons.isEnabled() and dialog.isVisible()  # the user can correct it
    assert desktop.presenter.clusters() == []
    dialog.token.setText("sha256~AbCdEfGhIjKlMnOpQrStUv")
    act(dialog.buttons.accepted.emit)
    run_until(qtbot, lambda: [c.name for c in desktop.presenter.clusters()] == ["lab-1"])
