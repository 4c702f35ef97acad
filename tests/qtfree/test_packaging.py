"""Packaging stays valid: briefcase's own parser, the generated block, desktop entry, icons."""

from __future__ import annotations

import configparser
import importlib.util
import subprocess
import tomllib
from pathlib import Path

from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location(
    "sync_briefcase", ROOT / "packaging" / "sync_briefcase.py"
)
assert _spec and _spec.loader
sync_briefcase = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sync_briefcase)
generated_pyproject = sync_briefcase.generated_pyproject


def test_briefcase_accepts_the_app_definition(capsys) -> None:  # type: ignore[no-untyped-def]
    from briefcase.config import AppConfig, parse_config
    from briefcase.console import Console

    global_config, apps = parse_config(
        ROOT / "pyproject.toml", platform="linux", output_format="system", console=Console()
    )
    app = AppConfig(**{**global_config, **apps["aiops-desktop"]})
    assert app.module_name == "aiops_desktop"
    assert app.sources == ["aiops_desktop", "ui", "collectors", "analysis", "resources"]
    assert "gnome-keyring" in apps["aiops-desktop"]["debian"]["system_runtime_requires"]
    assert "WARNING" not in capsys.readouterr().out  # no deprecation or config warnings
    for size in (16, 32, 64, 128, 256, 512):
        assert (ROOT / f"{app.icon}-{size}.png").is_file()


def test_pyproject_block_matches_briefcase_toml() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    briefcase = (ROOT / "briefcase.toml").read_text()
    assert generated_pyproject(pyproject, briefcase) == pyproject
    project = tomllib.loads(pyproject)["project"]
    app = tomllib.loads(briefcase)["tool"]["briefcase"]["app"]["aiops-desktop"]
    assert app["requires"] == project["dependencies"]  # one list of runtime packages
    assert "PySide6-Essentials>=6.9.3,<6.12" in project["dependencies"]
    assert project["scripts"]["aiops-desktop"] == "aiops_desktop.__main__:main"


#: the desktop entry the .deb installs: briefcase renders the app template's
SHIPPED_ENTRY = (ROOT / "packaging" / "briefcase-template" / "{{ cookiecutter.format }}"
                 / "{{ cookiecutter.app_name }}-{{ cookiecutter.version }}" / "usr" / "share"
                 / "applications" / "{{ cookiecutter.bundle_identifier }}.desktop")  # fmt: skip


def test_desktop_entry() -> None:
    """The entry the .deb ships is found by what it does ("monitor", "kubernetes", "gpu"), not
    only by its name, in a desktop's application search."""
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(SHIPPED_ENTRY)
    section = entry["Desktop Entry"]
    assert (
        section["Type"] == "Application"
        and section["Exec"] == "/usr/bin/{{ cookiecutter.app_name }}"
    )
    assert section["GenericName"] == "Cluster fleet monitor"
    assert section["Keywords"] == "kubernetes;openshift;gpu;ptp;sriov;noc;monitoring;"
    assert Path(ROOT / "resources" / "icons" / "aiops-desktop.png").is_file()


def test_the_deb_names_a_homepage() -> None:
    """Briefcase writes the .deb's control file's "Homepage: {app.url}": never "None"."""
    from briefcase.config import parse_config
    from briefcase.console import Console

    global_config, apps = parse_config(
        ROOT / "pyproject.toml", platform="linux", output_format="system", console=Console()
    )
    url = {**global_config, **apps["aiops-desktop"]}.get("url")
    assert isinstance(url, str) and url.startswith("https://")


def test_make_run_installs_what_the_deb_depends_on() -> None:
    """`make run` on a minimal machine gets every library the .deb needs (Qt's xcb plugin
    aborts without libxcb-shape0)."""
    debian = tomllib.loads((ROOT / "briefcase.toml").read_text())["tool"]["briefcase"]["app"][
        "aiops-desktop"]["linux"]["system"]["debian"]  # fmt: skip
    listed = subprocess.run(["bash", str(ROOT / "packaging" / "system-packages.sh"), "run",
                             "--list"], capture_output=True, text=True, timeout=60,
                            check=True).stdout.split()  # fmt: skip
    assert set(debian["system_runtime_requires"]) - set(listed) == set()
