"""Store benchmark: 1,000,000 samples over 1,000 series; ingest rate and bytes per sample.

Values are real metric data: windows of the NAB corpus (AWS CloudWatch CPU/network/disk,
machine temperatures, request latencies, taxi counts) read from ../shared/data/nab. Timestamps
are a 15 s scrape grid with a per-series phase and millisecond jitter on 20 % of samples.
Samples arrive as a poller delivers them: rounds of 10 samples for every series.

Baseline, run side by side on the same data: a plain row-per-sample SQLite table
(series_id, ts, value) WITHOUT ROWID, inserted with executemany in the same rounds.
Writes figures to bench-results/store.json and prints them.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from aiops_desktop.settings import StoreSettings  # noqa: E402
from aiops_desktop.store import Database, SeriesBatch, SeriesStore  # noqa: E402

SERIES = 1000
PER_SERIES = 1000
ROUND = 10
NAB = Path(os.environ.get("NAB_DIR", ROOT.parent / "shared" / "data" / "nab")) / "data"


def load_values() -> list[np.ndarray]:
    files = sorted(NAB.rglob("*.csv"))
    if not files:
        raise SystemExit(f"no NAB csv files under {NAB} (set NAB_DIR)")
    out = []
    for path in files:
        with path.open() as fh:
            rows = list(csv.DictReader(fh))
        values = np.array([float(r["value"]) for r in rows])
        if values.size > PER_SERIES:
            out.append(values)
    return out


def make_data() -> tuple[np.ndarray, np.ndarray]:
    sources = load_values()
    rng = np.random.default_rng(7)
    start = int(time.time() * 1000) - PER_SERIES * 15_000
    ts = np.empty((SERIES, PER_SERIES), dtype=np.int64)
    vals = np.empty((SERIES, PER_SERIES))
    for i in range(SERIES):
        src = sources[i % len(sources)]
        off = (i * 7919) % (src.size - PER_SERIES)
        vals[i] = src[off : off + PER_SERIES]
        grid = start + rng.integers(0, 15_000) + np.arange(PER_SERIES) * 15_000
        jitter = np.where(rng.random(PER_SERIES) < 0.2, rng.integers(-3, 4, PER_SERIES), 0)
        ts[i] = grid + jitter
    return ts, vals


def disk_bytes(path: Path) -> int:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("VACUUM")
    conn.close()
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def bench_store(folder: Path, ts: np.ndarray, vals: np.ndarray) -> dict[str, float]:
    db = Database(folder / "store.sqlite3")
    store = SeriesStore(db, StoreSettings())
    t0 = time.perf_counter()
    futures = []
    for r in range(0, PER_SERIES, ROUND):
        futures.append(
            store.append(
                SeriesBatch("bench", "nab_value", {"series": str(i)}, ts[i, r : r + ROUND], vals[i, r : r + ROUND])
                for i in range(SERIES)
            )
        )
    for f in futures:
        f.result()
    store.flush().result()
    elapsed = time.perf_counter() - t0
    stats = store.stats()
    chunk_bytes = db.reader().execute("SELECT SUM(LENGTH(data)) FROM chunks").fetchone()[0]
    db.close()
    assert stats["chunk_samples"] == SERIES * PER_SERIES, stats
    return {
        "ingest_samples_per_s": SERIES * PER_SERIES / elapsed,
        "ingest_seconds": elapsed,
        "disk_bytes": disk_bytes(folder / "store.sqlite3"),
        "chunk_payload_bytes": chunk_bytes,
    }


def bench_rows(folder: Path, ts: np.ndarray, vals: np.ndarray) -> dict[str, float]:
    path = folder / "rows.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE samples (series_id INTEGER, ts INTEGER, value REAL, "
        "PRIMARY KEY (series_id, ts)) WITHOUT ROWID"
    )
    t0 = time.perf_counter()
    for r in range(0, PER_SERIES, ROUND):
        rows = [
            (i, int(t), float(v))
            for i in range(SERIES)
            for t, v in zip(ts[i, r : r + ROUND], vals[i, r : r + ROUND], strict=True)
        ]
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO samples VALUES (?, ?, ?)", rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return {
        "ingest_samples_per_s": SERIES * PER_SERIES / elapsed,
        "ingest_seconds": elapsed,
        "disk_bytes": disk_bytes(path),
    }


def main() -> None:
    ts, vals = make_data()
    total = SERIES * PER_SERIES
    with tempfile.TemporaryDirectory() as tmp:
        store = bench_store(Path(tmp), ts, vals)
        rows = bench_rows(Path(tmp), ts, vals)
    result = {
        "samples": total,
        "series": SERIES,
        "store": store,
        "rows_baseline": rows,
        "bytes_per_sample": store["disk_bytes"] / total,
        "chunk_payload_bytes_per_sample": store["chunk_payload_bytes"] / total,
        "baseline_bytes_per_sample": rows["disk_bytes"] / total,
        "ingest_ratio_vs_baseline": store["ingest_samples_per_s"] / rows["ingest_samples_per_s"],
    }
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "store.json").write_text(json.dumps(result, indent=2))
    print(f"store bench: {total:,} samples over {SERIES:,} series (NAB values, 15 s grid)")
    print(f"  ingest: {store['ingest_samples_per_s']:,.0f} samples/s "
          f"({store['ingest_seconds']:.1f} s, incl. compaction); "
          f"row-per-sample baseline {rows['ingest_samples_per_s']:,.0f} samples/s "
          f"(ratio {result['ingest_ratio_vs_baseline']:.2f})")
    print(f"  disk: {result['bytes_per_sample']:.2f} bytes/sample (whole file after VACUUM; "
          f"chunk payload {result['chunk_payload_bytes_per_sample']:.2f}); "
          f"baseline {result['baseline_bytes_per_sample']:.2f} bytes/sample")


if __name__ == "__main__":
    main()
