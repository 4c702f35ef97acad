"""Where the app keeps its files, and its settings model.

Precedence for the data directory: ``--data-dir`` > ``AIOPS_DESKTOP_HOME`` > the user data dir
(platformdirs). With an explicit directory, logs and reports live inside it too, so one folder
holds everything (tests and portable installs rely on this).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import platformdirs
from pydantic import BaseModel, ConfigDict, Field

from aiops_desktop import APP_NAME

HOME_ENV = "AIOPS_DESKTOP_HOME"
DB_FILENAME = "aiops-desktop.sqlite3"


@dataclass(frozen=True)
class AppPaths:
    data_dir: Path
    log_dir: Path

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILENAME

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{APP_NAME}.log"

    def ensure(self) -> AppPaths:
        for folder in (self.data_dir, self.log_dir, self.reports_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def resolve_paths(data_dir: str | os.PathLike[str] | None = None) -> AppPaths:
    chosen = data_dir or os.environ.get(HOME_ENV)
    if chosen:
        root = Path(chosen).expanduser().resolve()
        return AppPaths(data_dir=root, log_dir=root / "logs")
    return AppPaths(
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )


def resources_dir() -> Path:
    """The top-level ``resources/`` folder, beside the packages (source tree and briefcase)."""
    override = os.environ.get("AIOPS_DESKTOP_RESOURCES")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "resources"


class StoreSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    raw_retention: timedelta = Field(default=timedelta(hours=48))
    rollup_step: timedelta = Field(default=timedelta(minutes=5))
    rollup_retention: timedelta = Field(default=timedelta(days=30))
    health_retention: timedelta = Field(default=timedelta(days=7))
    chunk_samples: int = Field(default=240, ge=16, le=4096)
    batch_max_ops: int = Field(default=500, ge=1)
    batch_max_delay_s: float = Field(default=0.05, ge=0)


class Settings(BaseModel):
    """The app's settings, read by attribute (STYLE.md habit 8)."""

    model_config = ConfigDict(extra="forbid")

    store: StoreSettings = Field(default_factory=StoreSettings)
