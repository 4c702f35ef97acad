"""Packaging, fourth review: the wheel's resources, what `make run` installs, a missing display,
the .deb's pinned dependencies, its AppStream file, man page and desktop entry."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from aiops_desktop import qt_boot
from aiops_desktop.models.errors import EXIT_ERROR, EXIT_USAGE, AppError, UsageError
from aiops_desktop.settings import resources_dir
from tests.conftest import ROOT, require_binary

SAMPLE = ROOT / "resources" / "samples" / "sample.aiops"
TEMPLATE = ROOT / "packaging" / "briefcase-template" / "{{ cookiecutter.format }}"
APP_TREE = TEMPLATE / "{{ cookiecutter.app_name }}-{{ cookiecutter.version }}" / "usr" / "share"
BRIEFCASE = tomllib.loads((ROOT / "briefcase.toml").read_text())["tool"]["briefcase"]
APP = BRIEFCASE["app"]["aiops-desktop"]
BUNDLE_ID = f"{BRIEFCASE['bundle']}.aiops-desktop"
PACKAGE_SH = (ROOT / "packaging" / "package.sh").read_text()

#: what only the tests and the developer targets need: `make run` must not install (and, as
#: root, start) any of it
TEST_ONLY = {"prometheus", "prometheus-alertmanager", "victoria-metrics", "nginx-light",
             "openssl", "poppler-utils", "g++", "gcc", "python3-dev", "dbus-x11",
             "appstream"}  # fmt: skip


def cli(*argv: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aiops_desktop", *argv], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def no_display_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}  # fmt: skip
    return {**env, "AIOPS_DESKTOP_HOME": str(tmp_path / "home")}


# -- 1: a pip-installed app has its resources, and a missing folder is said in a line ----------


@pytest.mark.slow
def test_the_wheel_ships_every_resource(tmp_path: Path) -> None:
    """`pip install aiops-desktop` gets resources/ beside the packages, where resources_dir()
    looks (built offline from a copy: a build in the tree would leave build/ there)."""
    src = tmp_path / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("aiops_desktop", "ui", "collectors", "analysis", "resources"):
        shutil.copytree(ROOT / name, src / name, ignore=skip)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-w", str(tmp_path / "out"), str(src)],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "out").glob("aiops_desktop-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "resources").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert {"resources/gpu/xid.json", "resources/theme.json"} <= wanted
    assert wanted - names == set()
    assert "aiops_desktop/settings.py" in names  # the code beside them, one folder up


def test_a_missing_resources_folder_is_said_in_a_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tmp_path / "no-resources"
    monkeypatch.setenv("AIOPS_DESKTOP_RESOURCES", str(gone))
    with pytest.raises(AppError, match="no-resources") as raised:
        resources_dir()
    assert raised.value.exit_code == EXIT_ERROR
    env = {**no_display_env(tmp_path), "AIOPS_DESKTOP_RESOURCES": str(gone)}
    for argv in (["--capture", str(SAMPLE), "gpu"], ["--capture", str(SAMPLE), "ptp"],
                 ["--offscreen"]):  # fmt: skip
        done = cli(*argv, env=env, cwd=tmp_path)
        assert done.returncode == EXIT_ERROR, (argv, done.stderr[-2000:])
        assert "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and str(gone) in lines[0], (argv, done.stderr)


# -- 2: `make run` installs what the app needs, `make test` what the tests need too ------------


def listed(group: str) -> set[str]:
    done = subprocess.run(["bash", str(ROOT / "packaging" / "system-packages.sh"), group,
                           "--list"], capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_make_run_installs_no_test_server_and_make_test_everything() -> None:
    runtime, test = listed("run"), listed("test")
    assert runtime & TEST_ONLY == set()
    # the window: Qt's xcb libraries, Xvfb when there is no display, the OS keyring, the venv
    assert {"xvfb", "xauth", "libxcb-icccm4", "libxcb-keysyms1", "gnome-keyring",
            "python3-venv"} <= runtime  # fmt: skip
    assert runtime | TEST_ONLY <= test
    dry_run = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True,
                             timeout=60, check=False).stdout  # fmt: skip
    assert "system-packages.sh run" in dry_run and "system-packages.sh test" not in dry_run
    dry_test = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True,
                              timeout=60, check=False).stdout  # fmt: skip
    assert "system-packages.sh test" in dry_test


# -- 3: no display: a line and exit 2, not Qt's abort -------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland: Linux only")
def test_no_display_is_said_not_aborted(tmp_path: Path) -> None:
    env = no_display_env(tmp_path)
    for extra, said in (({}, "no display"), ({"DISPLAY": ":4999"}, ":4999")):
        done = cli(env={**env, **extra}, cwd=tmp_path)
        assert done.returncode == EXIT_USAGE, (extra, done.returncode, done.stderr[-2000:])
        assert said in done.stderr and "--offscreen" in done.stderr
        assert "Traceback" not in done.stderr and "libxcb-cursor0" not in done.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland: Linux only")
def test_which_settings_need_a_display() -> None:
    for env in ({"QT_QPA_PLATFORM": "offscreen"}, {"QT_QPA_PLATFORM": "minimal"}):
        qt_boot.require_display(env)  # no error: a platform of its own
    # a Wayland socket is checked too (tests/qtfree/test_startup_review.py)
    for env in ({}, {"QT_QPA_PLATFORM": "xcb"}, {"QT_QPA_PLATFORM": "wayland;xcb"},
                {"DISPLAY": ""}):  # fmt: skip
        with pytest.raises(UsageError, match="no display"):
            qt_boot.require_display(env)
    with pytest.raises(UsageError, match=":4999"):
        qt_boot.require_display({"DISPLAY": ":4999"})  # nothing answers there


# -- 4: the .deb's Python packages are the pinned ones ------------------------------------------


def pins() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            found[canonicalize_name(name)] = version.strip()
    return found


def test_the_deb_is_built_from_the_pinned_versions() -> None:
    lines = PACKAGE_SH.splitlines()
    export = next(i for i, line in enumerate(lines) if line.startswith("export PIP_CONSTRAINT="))
    assert "requirements/constraints.txt" in lines[export] and "$PWD" in lines[export]
    create = next(i for i, line in enumerate(lines) if 'briefcase" create' in line)
    assert export < create
    pinned = pins()
    # everything the app's requires install, down their whole tree, has a pin inside its range
    todo = [Requirement(r) for r in APP["requires"]]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        assert name in pinned, f"{req} is not pinned in requirements/constraints.txt"
        assert req.specifier.contains(pinned[name], prereleases=True), (str(req), pinned[name])
        if name in seen:
            continue
        seen.add(name)
        for text in metadata.requires(req.name) or []:
            sub = Requirement(text)
            env = {"python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux",
                   "extra": ""}  # fmt: skip
            if sub.marker is None or any(
                sub.marker.evaluate({**env, "extra": e}) for e in ("", *req.extras)
            ):
                todo.append(sub)
    assert len(seen) > 30


# -- 5, 8: the AppStream file and the desktop entry the .deb ships (the template's) ----------


def rendered(path: Path) -> str:
    from cookiecutter.environment import StrictEnvironment  # type: ignore[import-untyped]

    context = {"app_name": "aiops-desktop", "formal_name": APP["formal_name"],
               "bundle": BRIEFCASE["bundle"], "bundle_identifier": BUNDLE_ID,
               "description": APP["description"], "long_description": APP["long_description"],
               "author": BRIEFCASE["author"], "version": BRIEFCASE["version"]}  # fmt: skip
    env = StrictEnvironment(context={"cookiecutter": context})
    return env.from_string(path.read_text()).render(cookiecutter=context)


def test_the_appstream_file_is_valid(tmp_path: Path) -> None:
    text = rendered(APP_TREE / "metainfo" / "{{ cookiecutter.bundle_identifier }}.metainfo.xml")
    release = re.search(r'<release version="([^"]+)" date="([^"]+)"', text)
    assert release and release.group(1) == BRIEFCASE["version"]
    assert dt.date.fromisoformat(release.group(2)) <= dt.datetime.now(dt.UTC).date()
    meta = tmp_path / f"{BUNDLE_ID}.metainfo.xml"
    meta.write_text(text)
    done = subprocess.run([require_binary("appstreamcli"), "validate", "--no-net", str(meta)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_shipped_desktop_entry_runs_the_app() -> None:
    text = rendered(APP_TREE / "applications" / "{{ cookiecutter.bundle_identifier }}.desktop")
    entry = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    # the app takes no file argument (`aiops-desktop FILE` is a usage error): no %F or %U
    assert entry["Exec"] == "/usr/bin/aiops-desktop"
    assert entry["Icon"] == BUNDLE_ID and entry["StartupWMClass"] == "aiops-desktop"
    # the window says which desktop file it is, the one the .deb installs
    assert qt_boot.DESKTOP_FILE_ID == BUNDLE_ID
    assert "setDesktopFileName(DESKTOP_FILE_ID)" in Path(qt_boot.__file__).read_text()


# -- 6: the man page's SEE ALSO names a file the package holds ----------------------------------


def test_the_readme_the_man_page_names_is_packaged() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "packaging" / "manpage.py")],
                          capture_output=True, text=True, timeout=60, check=True,
                          env={**os.environ, "COLUMNS": "80"})  # fmt: skip
    see_also = done.stdout.split(".SH SEE ALSO\n", 1)[1]
    assert "/usr/share/doc/aiops-desktop/README.md" in see_also
    # copied into the bundle's doc folder before `briefcase build` (which adds to that folder)
    copy = next(line for line in PACKAGE_SH.splitlines() if line.startswith("cp README.md"))
    assert copy.rstrip('/"').endswith("/usr/share/doc/aiops-desktop")
    assert PACKAGE_SH.index(copy) < PACKAGE_SH.index('briefcase" build')


# -- 7: the encrypted-file store where its package is missing (the .deb) ------------------------


def test_a_missing_encrypted_file_package_says_where_it_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The .deb's interpreter is isolated (no pip install reaches it) and does not carry
    keyrings.cryptfile: the message says so instead of only asking for a pip install."""
    from aiops_desktop.secrets import SecretsError, encrypted_file_backend

    monkeypatch.setitem(sys.modules, "keyrings.cryptfile.cryptfile", None)  # not installed
    with pytest.raises(SecretsError) as raised:
        encrypted_file_backend(tmp_path / "credentials.cfg", "pw")
    said = str(raised.value)
    assert "pip install 'aiops-desktop[encrypted-file]'" in said
    assert "Debian package" in said and "OS keyring" in said
