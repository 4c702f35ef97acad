"""The Debian package as a person gets it (`make package-test`, as root): installed with apt,
the installed program started offscreen (a screenshot), `--version` and a command on the
sample capture it ships, its desktop entry, icons at every size, AppStream metadata and man
page; an older cache is migrated and a newer one refused untouched; then removed."""

from __future__ import annotations

import gzip
import hashlib
import os
import sqlite3
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiops_desktop import __version__
from aiops_desktop.store.migrations import SCHEMA_VERSION, migrate

ROOT = Path(__file__).resolve().parents[2]
APP = Path("/usr/bin/aiops-desktop")
LIB = Path("/usr/lib/aiops-desktop/app")
SHARE = Path("/usr/share")
BUNDLE_ID = "io.aiopsdesktop.aiops-desktop"
ICON_SIZES = (16, 32, 64, 128, 256, 512)


def run(
    *argv: str, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False,
                          env=env)  # fmt: skip


@pytest.fixture(scope="module")
def installed() -> Iterator[Path]:
    debs = sorted((ROOT / "dist").glob("aiops-desktop_*.deb"))
    if not debs:
        pytest.fail("no package in dist/: run `make package` first (make package-test does)")
    if os.geteuid() != 0:
        pytest.fail("installing the package needs root (apt)")
    done = run("apt-get", "install", "-y", "-qq", str(debs[-1]),
               env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    try:
        yield debs[-1]
    finally:
        gone = run("apt-get", "remove", "-y", "-qq", "aiops-desktop")
        assert gone.returncode == 0, gone.stderr[-2000:]
        assert not APP.exists()


def test_the_installed_program_runs(installed: Path, tmp_path: Path) -> None:
    version = run(str(APP), "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"aiops-desktop {__version__}"
    sample = LIB / "resources" / "samples" / "sample.aiops"
    listed = run(str(APP), "--data-dir", str(tmp_path / "home"), "--capture", str(sample),
                 "incidents")  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert "clock in FREERUN" in listed.stdout
    shot = tmp_path / "installed.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    window = run(str(APP), "--data-dir", str(tmp_path / "home"), "--offscreen", "--screenshot",
                 str(shot), "--size", "1280x720", env=env)  # fmt: skip
    assert window.returncode == 0, window.stderr
    head = shot.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", head[16:24]) == (1280, 720)
    assert shot.stat().st_size > 10_000  # drawn, not blank


def test_it_is_a_desktop_app(installed: Path) -> None:
    entry = (SHARE / "applications" / f"{BUNDLE_ID}.desktop").read_text()
    assert "Exec=/usr/bin/aiops-desktop" in entry and f"Icon={BUNDLE_ID}" in entry
    for size in ICON_SIZES:
        assert (
            SHARE / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{BUNDLE_ID}.png"
        ).is_file()
    meta = (SHARE / "metainfo" / f"{BUNDLE_ID}.metainfo.xml").read_text()
    assert f"<id>{BUNDLE_ID}</id>" in meta and "<launchable" in meta
    man = gzip.decompress((SHARE / "man" / "man1" / "aiops-desktop.1.gz").read_bytes()).decode()
    assert ".TH AIOPS-DESKTOP 1" in man and "--role" in man and "rca --incident" in man


def test_older_caches_are_migrated_newer_ones_refused_untouched(
    installed: Path, tmp_path: Path
) -> None:
    old_home, new_home = tmp_path / "old", tmp_path / "new"
    for home in (old_home, new_home):
        home.mkdir()
    old = sqlite3.connect(old_home / "aiops-desktop.sqlite3")
    migrate(old, target=SCHEMA_VERSION - 1)
    old.close()
    listed = run(str(APP), "--data-dir", str(old_home), "clusters", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    check = sqlite3.connect(old_home / "aiops-desktop.sqlite3")
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    check.close()
    newer = new_home / "aiops-desktop.sqlite3"
    conn = sqlite3.connect(newer)
    migrate(conn)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = hashlib.sha256(newer.read_bytes()).hexdigest()
    refused = run(str(APP), "--data-dir", str(new_home), "clusters", "list")
    assert refused.returncode != 0 and "newer" in refused.stderr.lower()
    assert hashlib.sha256(newer.read_bytes()).hexdigest() == before
