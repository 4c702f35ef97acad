"""Files written whole or not at all: a report, a table's CSV export."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_whole(path: Path, write: Callable[[Path], object]) -> None:
    """A file (a report, a table's CSV) into ``path`` whole or not at all: ``write`` makes it
    under the same name in a private folder beside it (0700, a fresh name), then it is moved
    into place. Written in
    place, a full disk left part of a report, listed among the kept ones, and what the file
    held before was lost; in a shared folder, a link planted under its name had the report
    written over the link's target, and a file made safely but reopened by name (Qt writes a
    PDF by its path) could be swapped for one while a fleet's report was laid out. On
    failure the ``OSError`` is raised and ``path`` is as it was (``release_unwritten`` lets
    go of a name ``claim_paths`` claimed)."""
    private: Path | None = None
    try:
        private = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        partial = private / path.name
        write(partial)
        os.replace(partial, path)
    finally:
        if private is not None:
            shutil.rmtree(private, ignore_errors=True)
