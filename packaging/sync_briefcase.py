"""Copy briefcase.toml (the single source) into pyproject.toml's generated block.

Briefcase reads its configuration only from pyproject.toml; keeping the app definition in
briefcase.toml (as the product card asks) and generating the block avoids two hand-kept copies.
Run: ``python packaging/sync_briefcase.py`` (``--check`` exits 1 when the block is out of date).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "# BEGIN GENERATED FROM briefcase.toml (python packaging/sync_briefcase.py)"
END = "# END GENERATED FROM briefcase.toml"


def generated_pyproject(pyproject: str, briefcase: str) -> str:
    """Return pyproject text whose generated block holds the briefcase definition."""
    head, sep, rest = pyproject.partition(BEGIN)
    if not sep or END not in rest:
        raise ValueError("pyproject.toml lacks the generated briefcase block markers")
    tail = rest.split(END, 1)[1]
    body = "\n".join(line for line in briefcase.strip().splitlines() if not line.startswith("#"))
    return f"{head}{BEGIN}\n{body}\n{END}{tail}"


def main(argv: list[str]) -> int:
    pyproject_path = ROOT / "pyproject.toml"
    current = pyproject_path.read_text(encoding="utf-8")
    wanted = generated_pyproject(current, (ROOT / "briefcase.toml").read_text(encoding="utf-8"))
    if "--check" in argv:
        if current != wanted:
            print("pyproject.toml is out of date: run python packaging/sync_briefcase.py")
            return 1
        return 0
    pyproject_path.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
