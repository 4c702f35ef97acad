"""Prometheus's own --web.config.file: basic auth (bcrypt) and TLS, no proxy in front."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.servers.tls import TestPki


def bcrypt_hash(password: str) -> str:
    """A bcrypt hash from the system's crypt library (Python's `crypt`, run apart: it is
    deprecated in-process, and warnings are errors in this test suite)."""
    code = "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))"
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code, password],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    hashed = done.stdout.strip()
    assert hashed.startswith("$2"), hashed
    return hashed


def write_web_config(folder: Path, pki: TestPki, user: str, password: str) -> Path:
    path = folder / "web-config.yml"
    path.write_text(
        "tls_server_config:\n"
        f"  cert_file: {pki.server_cert}\n"
        f"  key_file: {pki.server_key}\n"
        "basic_auth_users:\n"
        f"  {user}: {bcrypt_hash(password)}\n"
    )
    return path
