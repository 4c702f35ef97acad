"""An upgrade as apt does it: the package installed at an older version, its program run
(it writes its cache and settings), then the newer package installed over it. The newer
program opens the cache the older one left, and dpkg keeps one package at the newer version.

The older package is the built one relabelled (its control file says 0.0.9; its files are
the same): what this proves is the upgrade itself (files replaced, nothing left behind, the
user's data kept); that a newer program migrates an older *schema* and refuses a newer one
is proven in test_installed_deb.py with caches written at those schema versions."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import pytest

from aiops_desktop import __version__
from aiops_desktop.store.migrations import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[2]
APP = Path("/usr/bin/aiops-desktop")
OLDER = "0.0.9-1"
AR_MAGIC = b"!<arch>\n"


def run(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                          check=False, env=env)  # fmt: skip


def ar_members(data: bytes) -> list[tuple[str, bytes]]:
    """The members of an ar archive (a .deb is one)."""
    assert data[:8] == AR_MAGIC
    members, at = [], 8
    while at < len(data):
        header = data[at : at + 60]
        name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58])
        members.append((name, data[at + 60 : at + 60 + size]))
        at += 60 + size + (size % 2)
    return members


def ar_archive(members: list[tuple[str, bytes]]) -> bytes:
    out = bytearray(AR_MAGIC)
    for name, body in members:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(body):<10}`\n".encode()
        out += body + (b"\n" if len(body) % 2 else b"")
    return bytes(out)


def relabelled(deb: Path, version: str, out: Path) -> Path:
    """``deb`` with its control file's Version set to ``version`` (the data untouched)."""
    members = ar_members(deb.read_bytes())
    [(control_name, control)] = [(n, b) for n, b in members if n.startswith("control.tar")]
    assert control_name == "control.tar.gz"
    rebuilt = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(control)) as src, \
            tarfile.open(fileobj=rebuilt, mode="w:gz") as dst:  # fmt: skip
        for item in src.getmembers():
            body = src.extractfile(item).read() if item.isfile() else None
            if item.name.lstrip("./") == "control" and body is not None:
                lines = [f"Version: {version}" if line.startswith("Version:") else line
                         for line in body.decode().splitlines()]  # fmt: skip
                body = ("\n".join(lines) + "\n").encode()
                item.size = len(body)
            dst.addfile(item, io.BytesIO(body) if body is not None else None)
    swapped = [(n, rebuilt.getvalue() if n == control_name else b) for n, b in members]
    out.write_bytes(ar_archive(swapped))
    return out


def installed_version() -> str:
    done = run("dpkg-query", "-W", "-f", "${Version}", "aiops-desktop")
    return done.stdout.strip() if done.returncode == 0 else ""


def test_the_newer_package_installs_over_the_older_and_keeps_its_cache(tmp_path: Path) -> None:
    debs = sorted((ROOT / "dist").glob("aiops-desktop_*.deb"))
    if not debs:
        pytest.fail("no package in dist/: run `make package` first (make package-test does)")
    if os.geteuid() != 0:
        pytest.fail("installing the package needs root (apt)")
    newer = debs[-1]
    older = relabelled(newer, OLDER, tmp_path / f"aiops-desktop_{OLDER}_amd64.deb")
    home = tmp_path / "home"
    try:
        done = run("apt-get", "install", "-y", "-qq", "--allow-downgrades", str(older))
        assert done.returncode == 0, done.stderr[-2000:]
        assert installed_version() == OLDER
        first = run(str(APP), "--data-dir", str(home), "clusters", "list")
        assert first.returncode == 0, first.stderr
        cache = home / "aiops-desktop.sqlite3"
        assert cache.is_file()

        done = run("apt-get", "install", "-y", "-qq", str(newer))
        assert done.returncode == 0, done.stderr[-2000:]
        labelled = run("dpkg-deb", "--field", str(newer), "Version").stdout.strip()
        assert installed_version() == labelled == __version__  # upgraded: one package
        version = run(str(APP), "--version")
        assert version.stdout.strip() == f"aiops-desktop {__version__}"
        again = run(str(APP), "--data-dir", str(home), "clusters", "list", "--json")
        assert again.returncode == 0, again.stderr
        conn = sqlite3.connect(cache)
        try:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            conn.close()
    finally:
        gone = run("apt-get", "remove", "-y", "-qq", "aiops-desktop")
        assert gone.returncode == 0, gone.stderr[-2000:]
        assert not APP.exists()
