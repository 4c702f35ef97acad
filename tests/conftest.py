"""Test policies shared by every test (Qt-free: the Qt fixtures live in tests/ui/conftest.py).

- A test that leaves a Python thread running fails.
- In CI (CI=true) a test that needs a missing binary or server fails instead of skipping, and
  a CI session with any skipped test fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.servers.fixtures", "tests.servers.kube_api", "tests.servers.loki_tempo"]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ROOT = Path(__file__).resolve().parent.parent


def require_binary(name: str) -> str:
    """Path of a binary the test needs; missing: fail in CI, skip elsewhere."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (run `make test`, which installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


#: fixtures that start a real llama.cpp server: their tests are marked ``llm`` (run last by
#: `make test`, after the server's one-time build that ran beside the other tests)
LLM_FIXTURES = frozenset({"llama", "own_llama"})


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if LLM_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.llm)


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while True:
        leftover = [
            t
            for t in threading.enumerate()
            if t not in before
            and t.is_alive()
            # a Qt worker that touched `threading` shows as a _DummyThread that never "ends";
            # Qt's threads are stopped by qasync's executor shutdown, checked by Qt itself
            and not isinstance(t, threading._DummyThread)
        ]
        if not leftover or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert not leftover, f"threads left running: {[t.name for t in leftover]}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter:
            reporter.write_line(
                f"CI: {skipped} test(s) skipped; skips are failures in CI", red=True
            )


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty AIOPS_DESKTOP_HOME for this test."""
    path = tmp_path / "home"
    monkeypatch.setenv("AIOPS_DESKTOP_HOME", str(path))
    return path


class SecretService:
    """A private D-Bus session bus with an unlocked gnome-keyring (the real Secret Service)."""

    def __init__(self, workdir: Path) -> None:
        dbus = require_binary("dbus-daemon")
        keyring_daemon = require_binary("gnome-keyring-daemon")
        self.env = {
            **os.environ,
            "XDG_RUNTIME_DIR": str(workdir / "run"),
            "XDG_DATA_HOME": str(workdir / "data"),
            "HOME": str(workdir),
        }
        (workdir / "run").mkdir(mode=0o700)
        (workdir / "data").mkdir()
        self._bus = subprocess.Popen(
            [dbus, "--session", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=self.env,
        )
        assert self._bus.stdout is not None
        self.address = self._bus.stdout.readline().strip()
        self.env["DBUS_SESSION_BUS_ADDRESS"] = self.address
        self._keyring = subprocess.Popen(
            [keyring_daemon, "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.env,
        )
        assert self._keyring.stdin is not None
        self._keyring.stdin.write(b"test-keyring-password")
        self._keyring.stdin.close()
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            probe = subprocess.run(
                [
                    "dbus-send",
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ],
                env=self.env,
                capture_output=True,
                text=True,
                check=False,
            )
            if "boolean true" in probe.stdout:
                return
            time.sleep(0.1)
        raise RuntimeError("gnome-keyring did not register org.freedesktop.secrets")

    def backend(self):  # type: ignore[no-untyped-def]
        from keyring.backends.SecretService import Keyring

        return Keyring()

    def stop(self) -> None:
        for proc in (self._keyring, self._bus):
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._bus.stdout:
            self._bus.stdout.close()


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretService]:
    service = SecretService(tmp_path_factory.mktemp("secret-service"))
    old = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = service.address
    try:
        yield service
    finally:
        service.stop()
        if old is None:
            os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
        else:
            os.environ["DBUS_SESSION_BUS_ADDRESS"] = old
