"""Run the Qt-free tests with PySide6, pyqtgraph, qasync and ``ui`` made unimportable.

This proves layers 1-3 (and the CLI) work without Qt, as import-linter claims statically.
"""

from __future__ import annotations

import importlib.abc
import sys
from pathlib import Path

BLOCKED = ("PySide6", "shiboken6", "pyqtgraph", "qasync", "pytestqt", "ui")


class QtBlocker(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname.split(".", maxsplit=1)[0] in BLOCKED:
            raise ImportError(f"{fullname} is blocked in the Qt-free test run")


def main() -> int:
    sys.meta_path.insert(0, QtBlocker())
    import pytest

    root = Path(__file__).resolve().parent.parent
    return int(
        pytest.main(
            [
                "-c",
                str(root / "tests" / "qtfree" / "pytest-qtfree.ini"),
                "--rootdir",
                str(root),
                "--confcutdir",
                str(root),
                "-p",
                "no:pytest-qt",
                "-p",
                "no:pytestqt",
                str(root / "tests" / "qtfree"),
                *sys.argv[1:],
            ]
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())
