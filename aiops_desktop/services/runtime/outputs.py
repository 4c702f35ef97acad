"""Where the app writes what a person asked for (captures, reports): a file name in an
existing folder, never a folder, never a device or a pipe, never a symbolic link, and never
one of the app's own files (the cache and its journal, the settings, the logs, the credential
file), and never the capture being shown."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from aiops_desktop.models.errors import UsageError
from aiops_desktop.settings import AppPaths, resolve_paths

SIDE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def protected_files(paths: AppPaths) -> list[Path]:
    """The app's own files: of the cache in use, and of the person's usual one (a capture
    session's cache is a copy: the real one must be safe from it too)."""
    files: list[Path] = []
    for each in (paths, resolve_paths()):
        files += [Path(f"{each.db_path}{suffix}") for suffix in SIDE_SUFFIXES]
        files += [each.settings_file, each.data_dir / "credentials.cfg"]
    return [f.resolve() for f in files]


def check_output(path: Path, paths: AppPaths, *, capture: Path | None = None) -> Path:
    """``path`` made absolute, once it is safe to write; UsageError says why not. Never
    ``capture``, the capture being shown (any spelling of it, a hard link too)."""
    target = Path(path).expanduser()
    resolved = target.resolve()
    logs = {paths.log_dir.resolve(), resolve_paths().log_dir.resolve()}
    if resolved in protected_files(paths) or resolved.parent in logs:
        raise UsageError(f"{target} is one of the app's own files; choose another name")
    if capture is not None and _same_file(resolved, capture):
        raise UsageError(f"{target} is the capture being shown; choose another name")
    if target.is_symlink():  # followed, the file written was the link's target (a kubeconfig
        # under a report's name), in the format its own name asked, not the one given
        raise UsageError(f"{target} is a symbolic link: give the file itself, or a new name")
    if target.exists():
        mode = target.stat().st_mode
        if stat.S_ISDIR(mode):
            raise UsageError(f"{target} is a folder: give a file name inside it")
        if not stat.S_ISREG(mode):
            raise UsageError(f"{target} is not a regular file; choose another name")
    if not resolved.parent.is_dir():
        raise UsageError(f"the folder {target.parent} does not exist")
    return resolved


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # either is not there (nothing written over), or cannot be read
        return a == Path(b).expanduser().resolve()
