"""Packaging stays valid: briefcase's own parser, the generated block, desktop entry, icons."""

from __future__ import annotations

import configparser
import importlib.util
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


def test_desktop_entry() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(ROOT / "packaging" / "linux" / "aiops-desktop.desktop")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application" and section["Exec"] == "aiops-desktop"
    assert section["Icon"] == "aiops-desktop"
    assert Path(ROOT / "resources" / "icons" / "aiops-desktop.png").is_file()
