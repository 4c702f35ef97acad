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
#: retries wait 0.01 s first, not 0.5 s (the CLI's processes the tests start inherit it): a
#: test server that is down refuses at once, and waiting on its retries was most of the
#: suite's time; a test of the backoff itself gives its HttpPolicy its own
os.environ.setdefault("AIOPS_DESKTOP_BACKOFF_S", "0.01")
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


#: the private bus: the session bus's policy, with no service directories, so nothing is
#: activated on it. With the standard ones, a client asking for the Secret Service after
#: the test daemon had gone would start a fresh gnome-keyring whose login keyring is locked
#: ("Failed to unlock the collection" for every later test, as one CI run saw).
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:dir={run}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
_KEYRING_PASSWORD = b"test-keyring-password"


class SecretService:
    """A private D-Bus session bus with an unlocked gnome-keyring (the real Secret Service).

    The daemon is looked at whenever a test asks for the backend: one that has exited, or
    whose default collection is locked, is started again on the same keyrings (same
    password, so they open unlocked), and what happened is written to stderr; its own
    output goes to ``keyring.log`` beside them.
    """

    def __init__(self, workdir: Path) -> None:
        dbus = require_binary("dbus-daemon")
        self._keyring_daemon = require_binary("gnome-keyring-daemon")
        self._workdir = workdir
        self._env = {
            **os.environ,
            "XDG_RUNTIME_DIR": str(workdir / "run"),
            "XDG_DATA_HOME": str(workdir / "data"),
            "HOME": str(workdir),
        }
        (workdir / "run").mkdir(mode=0o700)
        (workdir / "data").mkdir()
        config = workdir / "bus.conf"
        config.write_text(_BUS_CONFIG.format(run=workdir / "run"), encoding="utf-8")
        self._bus = subprocess.Popen(
            [dbus, f"--config-file={config}", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=self._env,
        )
        assert self._bus.stdout is not None
        self.address = self._bus.stdout.readline().strip()
        if not self.address:
            raise RuntimeError(f"dbus-daemon did not start (exit {self._bus.poll()})")
        self._env["DBUS_SESSION_BUS_ADDRESS"] = self.address
        self._log = (workdir / "keyring.log").open("ab")
        self._keyring = self._start_keyring()

    def _start_keyring(self) -> subprocess.Popen[bytes]:
        keyring = subprocess.Popen(
            [self._keyring_daemon, "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE,
            stdout=self._log,
            stderr=self._log,
            env=self._env,
        )
        assert keyring.stdin is not None
        keyring.stdin.write(_KEYRING_PASSWORD)
        keyring.stdin.close()
        self._wait_ready()
        return keyring

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
                env=self._env,
                capture_output=True,
                text=True,
                check=False,
            )
            if "boolean true" in probe.stdout:
                return
            time.sleep(0.1)
        raise RuntimeError("gnome-keyring did not register org.freedesktop.secrets")

    def _trouble(self) -> str | None:
        """Why the daemon cannot serve the next test, or None."""
        code = self._keyring.poll()
        if code is not None:
            return f"gnome-keyring-daemon exited ({code})"
        import secretstorage
        from jeepney.io.blocking import open_dbus_connection  # type: ignore[import-untyped]

        connection = open_dbus_connection(self.address)
        try:
            if secretstorage.get_default_collection(connection).is_locked():
                return "its default collection is locked"
        except secretstorage.exceptions.SecretStorageException as exc:
            return f"it does not answer ({exc})"
        finally:
            connection.close()
        return None

    def _heal(self) -> None:
        trouble = self._trouble()
        if trouble is None:
            return
        import sys

        print(
            f"\nsecret_service: {trouble}; started again (see {self._workdir}/keyring.log)",
            file=sys.stderr,
        )
        self._stop(self._keyring)
        self._keyring = self._start_keyring()

    @property
    def env(self) -> dict[str, str]:
        """The environment of a process that is to use this Secret Service."""
        self._heal()
        return self._env

    def backend(self):  # type: ignore[no-untyped-def]
        from keyring.backends.SecretService import Keyring

        self._heal()
        return Keyring()

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        for proc in (self._keyring, self._bus):
            self._stop(proc)
        if self._bus.stdout:
            self._bus.stdout.close()
        self._log.close()


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
