"""Startup review: a stale Wayland socket, a data folder under an unknown user's ``~``, a
symlinked settings file kept a link, and an existing data folder's mode left as it is."""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiops_desktop import qt_boot
from aiops_desktop.models.errors import EXIT_USAGE, UsageError
from aiops_desktop.settings import HOME_ENV, AppPaths, Settings, resolve_paths
from tests.qtfree.test_packaging_review4 import cli, no_display_env

LINUX_ONLY = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Wayland: Linux")

# -- 4: a stale WAYLAND_DISPLAY is said in a line, not Qt's abort --------------------------------


@pytest.fixture
def compositor(tmp_path: Path) -> Iterator[Path]:
    """A listening Wayland socket (nothing more of a compositor: the check only connects)."""
    path = tmp_path / "wayland-live"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen()
        yield path


@LINUX_ONLY
def test_a_live_wayland_socket_is_a_display(compositor: Path) -> None:
    qt_boot.require_display(
        {"XDG_RUNTIME_DIR": str(compositor.parent), "WAYLAND_DISPLAY": compositor.name}
    )
    qt_boot.require_display({"WAYLAND_DISPLAY": str(compositor)})  # absolute: XDG not needed


@LINUX_ONLY
def test_a_stale_wayland_socket_is_said(tmp_path: Path) -> None:
    """No socket there, a socket nobody listens on (the compositor gone), no XDG_RUNTIME_DIR:
    each said, with the socket's name; with a DISPLAY that does not answer either, both."""
    dead = tmp_path / "wayland-dead"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as gone:
        gone.bind(str(dead))  # the file stays; nothing accepts on it
    runtime = str(tmp_path)
    started = time.monotonic()
    for env in (
        {"XDG_RUNTIME_DIR": runtime, "WAYLAND_DISPLAY": "wayland-9"},
        {"XDG_RUNTIME_DIR": runtime, "WAYLAND_DISPLAY": "wayland-dead"},
        {"WAYLAND_DISPLAY": str(dead)},
        {"WAYLAND_DISPLAY": "wayland-0"},  # no XDG_RUNTIME_DIR: libwayland finds none
    ):
        with pytest.raises(UsageError, match="stale Wayland") as raised:
            qt_boot.require_display(env)
        assert env["WAYLAND_DISPLAY"] in str(raised.value) and "--offscreen" in str(raised.value)
    with pytest.raises(UsageError) as both:
        qt_boot.require_display(
            {"XDG_RUNTIME_DIR": runtime, "WAYLAND_DISPLAY": "wayland-9", "DISPLAY": ":4999"}
        )
    assert "wayland-9" in str(both.value) and ":4999" in str(both.value)
    assert time.monotonic() - started < 5  # no long wait at a start


@LINUX_ONLY
def test_a_stale_wayland_socket_ends_in_a_line_not_an_abort(tmp_path: Path) -> None:
    env = {**no_display_env(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path),
           "WAYLAND_DISPLAY": "wayland-9"}  # fmt: skip
    done = cli(env=env, cwd=tmp_path)
    assert done.returncode == EXIT_USAGE, (done.returncode, done.stderr[-2000:])
    assert "stale Wayland" in done.stderr and "wayland-9" in done.stderr
    assert "libxcb-cursor0" not in done.stderr and "Traceback" not in done.stderr


# -- 5: ~user of no user here is said in a line --------------------------------------------------


def test_an_unknown_users_home_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    given = "~no-such-user-aiops/aiops"
    with pytest.raises(UsageError, match="--data-dir") as raised:
        resolve_paths(given)
    assert given in str(raised.value)
    monkeypatch.setenv(HOME_ENV, given)
    with pytest.raises(UsageError, match=HOME_ENV) as raised:
        resolve_paths()
    assert given in str(raised.value)


def test_a_symlink_loop_in_the_data_folder_is_said(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(UsageError, match="--data-dir"):
        resolve_paths(tmp_path / "a" / "aiops")


def test_an_unknown_users_home_ends_in_a_line(tmp_path: Path) -> None:
    env = {**os.environ, HOME_ENV: "~no-such-user-aiops/aiops"}
    done = cli("clusters", "list", env=env, cwd=tmp_path)
    assert done.returncode == EXIT_USAGE, (done.returncode, done.stderr[-2000:])
    assert HOME_ENV in done.stderr and "Traceback" not in done.stderr


# -- 6: a symlinked settings.json stays a link, and its target is the file written ---------------


def test_a_symlinked_settings_file_is_written_where_it_points(tmp_path: Path) -> None:
    dotfiles, home = tmp_path / "dotfiles", tmp_path / "home"
    dotfiles.mkdir()
    home.mkdir()
    real = dotfiles / "aiops.json"
    real.write_text(json.dumps({"ui": {"theme": "light"}, "poller": {"speed": 2}}))
    link = home / "settings.json"
    link.symlink_to(os.path.relpath(real, home))  # relative, as a dotfiles manager makes them
    assert Settings.load(link)[0].ui.theme == "light"  # read through the link

    Settings.update(link, lambda s: s.model_copy(update={"ui": s.ui.model_copy(
        update={"font_scale": 1.25})}))  # fmt: skip

    assert link.is_symlink() and link.resolve() == real
    assert json.loads(real.read_text())["ui"] == {"theme": "light", "font_scale": 1.25}
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert [p.name for p in dotfiles.iterdir()] == ["aiops.json"]  # no temporary file left
    assert Settings.load(link)[0].ui.font_scale == 1.25


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="lchown: root")
def test_a_settings_link_another_user_planted_is_replaced_not_followed(tmp_path: Path) -> None:
    """In a data folder others may write in (kept as it was found), a link planted under the
    settings' name must not have a save write over the file it names."""
    victim = tmp_path / "other-app.json"  # a file of the person's that reads as settings
    victim.write_text('{"ui": {"theme": "light"}}')
    link = tmp_path / "settings.json"
    link.symlink_to(victim)
    os.lchown(link, 4242, 4242)  # another user's link
    Settings.update(link, lambda s: s)
    assert victim.read_text() == '{"ui": {"theme": "light"}}'
    assert not link.is_symlink() and json.loads(link.read_text()) is not None


def test_a_dangling_settings_link_is_written_where_it_points(tmp_path: Path) -> None:
    """Read as no file (defaults); the first save makes the file the link names, so that the
    next read, through the link, finds it."""
    real = tmp_path / "dotfiles-aiops.json"
    link = tmp_path / "settings.json"
    link.symlink_to(real)
    assert Settings.load(link)[0] == Settings()
    Settings(ui={"theme": "dark"}).save(link)
    assert link.is_symlink() and Settings.load(link)[0].ui.theme == "dark"
    assert json.loads(real.read_text()) == {"ui": {"theme": "dark"}}


# -- 7: an existing data folder keeps its mode; only the folders made are 0700 -----------------


@pytest.fixture
def settings_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pytest.LogCaptureFixture]:
    """caplog with aiops.settings's warnings (the app's logger stops propagating once set up)."""
    monkeypatch.setattr(logging.getLogger("aiops"), "propagate", True)
    with caplog.at_level(logging.WARNING, logger="aiops.settings"):
        yield caplog


def warnings_in(log: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in log.records if r.levelno >= logging.WARNING]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_an_existing_data_folder_keeps_its_mode(
    tmp_path: Path, settings_log: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared-team"
    shared.mkdir()
    shared.chmod(0o2775)  # a team's setgid folder
    (shared / "runbook.txt").write_text("notes\n")

    paths = resolve_paths(shared).ensure()

    assert stat.S_IMODE(shared.stat().st_mode) == 0o2775
    for made in (paths.log_dir, paths.reports_dir):
        assert made.stat().st_mode & 0o777 == 0o700, made  # setgid inherited: the team's group
    warned = warnings_in(settings_log)
    assert len(warned) == 1 and str(shared) in warned[0], warned

    Settings().save(paths.settings_file)  # the files in it are the owner's alone
    assert stat.S_IMODE(paths.settings_file.stat().st_mode) == 0o600


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_a_private_existing_folder_is_not_warned_about(
    tmp_path: Path, settings_log: pytest.LogCaptureFixture
) -> None:
    own = tmp_path / "own"
    own.mkdir()
    own.chmod(0o750)  # the group's, not others': no warning
    AppPaths(own, own / "logs").ensure()
    assert stat.S_IMODE(own.stat().st_mode) == 0o750
    assert not warnings_in(settings_log)
    made = tmp_path / "new" / "data"
    AppPaths(made, made / "logs").ensure()
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
