"""The window's kubeconfig import: a context imported before has its credential replaced,
and the summary says so (no NAME-2 cluster)."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from aiops_desktop.app import DesktopApp
from tests.qtfree.test_registry_review_fixes import NEW, OLD, kubeconfig, token_of
from tests.ui.conftest import run_until


def test_reimport_in_the_window_says_the_credential_was_replaced(
    desktop: DesktopApp, qtbot: QtBot, tmp_path: Path
) -> None:
    said: list[str] = []
    to_read: list[bool] = []  # whether the dialog stays open on it: nothing skipped or warned

    def done(text: str, read: bool) -> None:
        said.append(text)
        to_read.append(read)

    desktop.presenter.sig_import_done.connect(done)
    path = tmp_path / "config"
    path.write_text(kubeconfig(OLD))
    desktop.presenter.import_kubeconfig(str(path), ["prod-east", "prod-west"])
    run_until(qtbot, lambda: len(said) == 1)
    assert said[0].startswith("Imported 2 clusters.")
    path.write_text(kubeconfig(NEW))
    desktop.presenter.import_kubeconfig(str(path), ["prod-east", "prod-west"])
    run_until(qtbot, lambda: len(said) == 2)
    assert "Credential replaced: prod-east" in said[1]
    assert "Credential replaced: prod-west" in said[1]
    assert to_read == [False, False]
    path.write_text(kubeconfig(NEW, exec_user=True))  # runs a command no one consented to
    desktop.presenter.import_kubeconfig(str(path), ["prod-west"])
    run_until(qtbot, lambda: len(said) == 3)
    assert "Skipped prod-west" in said[2] and to_read[2] is True  # the dialog stays open
    names = [c.name for c in desktop.presenter.clusters()]
    assert names == ["prod-east", "prod-west"]
    east = desktop.core.registry.get("prod-east")
    assert token_of(desktop.core, east) == NEW
