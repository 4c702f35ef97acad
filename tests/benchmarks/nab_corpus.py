"""Reading a corpus in NAB's layout: data/<category>/<file>.csv, labels/combined_windows.json,
profiles.json (or config/profiles.json), and detector results in NAB's result layout."""

from __future__ import annotations

import bisect
import csv
import json
import re
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


#: a label's key: "<category>/<file>.csv", one folder deep, no path of its own (a crafted
#: labels file must not read or write outside the corpus and the results)
KEY = re.compile(r"(?!\.\.?/)[A-Za-z0-9_][A-Za-z0-9_.-]*/[A-Za-z0-9_][A-Za-z0-9_.-]*\.csv")
MOST_FILE_BYTES = 64 << 20  # NAB's largest data file is 1.4 MB


class CorpusError(ValueError):
    """A corpus that is not in NAB's layout, said plainly."""


def _checked_key(key: object) -> str:
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise CorpusError(f"label key {key!r} is not '<category>/<file>.csv'")
    return key


def load_corpus(nab_dir: Path) -> list[CorpusFile]:
    labels = json.loads((nab_dir / "labels" / "combined_windows.json").read_text("utf-8"))
    if not isinstance(labels, dict):
        raise CorpusError("labels/combined_windows.json is not an object of key -> windows")
    files = []
    for key in sorted(_checked_key(k) for k in labels):
        path = nab_dir / "data" / key
        if path.stat().st_size > MOST_FILE_BYTES:
            raise CorpusError(f"{key} is larger than {MOST_FILE_BYTES >> 20} MB")
        with path.open(encoding="utf-8", newline="") as fh:
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
    category, name = _checked_key(key).split("/")
    with (results_dir / category / f"{detector}_{name}").open(encoding="utf-8") as fh:
        return [float(r["anomaly_score"]) for r in csv.DictReader(fh)]
