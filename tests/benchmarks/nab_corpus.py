"""Reading a corpus in NAB's layout: data/<category>/<file>.csv, labels/combined_windows.json,
profiles.json (or config/profiles.json), and detector results in NAB's result layout."""

from __future__ import annotations

import bisect
import csv
import json
from dataclasses import dataclass
from pathlib import Path

from analysis.nab import Profile

DEFAULT_NAB_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nab"


@dataclass
class CorpusFile:
    key: str  # "<category>/<file>.csv", as in combined_windows.json
    timestamps: list[str]
    values: list[float]
    windows: list[tuple[int, int]]  # inclusive row ranges


def _stamp(text: str) -> str:
    return text.split(".", maxsplit=1)[0].strip()


def load_profiles(nab_dir: Path) -> list[Profile]:
    path = nab_dir / "profiles.json"
    if not path.exists():
        path = nab_dir / "config" / "profiles.json"
    raw = json.loads(path.read_text())
    return [
        Profile(
            name,
            c["CostMatrix"]["tpWeight"],
            c["CostMatrix"]["fpWeight"],
            c["CostMatrix"]["fnWeight"],
        )
        for name, c in raw.items()
    ]


def window_rows(timestamps: list[str], windows: list[list[str]]) -> list[tuple[int, int]]:
    rows = []
    for start, end in windows:
        first = bisect.bisect_left(timestamps, _stamp(start))
        last = bisect.bisect_right(timestamps, _stamp(end)) - 1
        rows.append((first, last))
    return rows


def load_corpus(nab_dir: Path) -> list[CorpusFile]:
    labels = json.loads((nab_dir / "labels" / "combined_windows.json").read_text())
    files = []
    for key in sorted(labels):
        with (nab_dir / "data" / key).open() as fh:
            rows = list(csv.DictReader(fh))
        stamps = [_stamp(r["timestamp"]) for r in rows]
        files.append(
            CorpusFile(
                key, stamps, [float(r["value"]) for r in rows], window_rows(stamps, labels[key])
            )
        )
    return files


def load_results(results_dir: Path, detector: str, key: str) -> list[float]:
    """Scores of ``<results_dir>/<category>/<detector>_<file>.csv`` (NAB's result layout)."""
    category, name = key.split("/")
    with (results_dir / category / f"{detector}_{name}").open() as fh:
        return [float(r["anomaly_score"]) for r in csv.DictReader(fh)]
