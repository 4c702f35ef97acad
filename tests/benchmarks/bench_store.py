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

from aiops_desktop.settings import StoreSettings
from aiops_desktop.store.database import Database
from aiops_desktop.store.series import SeriesBatch, SeriesStore

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


def gorilla_bits(ts: np.ndarray, vals: np.ndarray) -> int:
    """Bits Prometheus's XOR chunk (tsdb/chunkenc/xor.go) needs for one series.

    Timestamps: first 64 bits, first delta 14+, then delta-of-delta in 1 / 2+14 / 3+17 /
    4+20 / 4+64 bits. Values: first 64 bits, then XOR with the previous value: 1 bit when equal,
    2 bits + the previous window when it fits, else 2+5+6 bits + the significant bits.
    """
    bits = 64 + 64
    if ts.size > 1:
        bits += 14 + 64  # first delta (varint, at most this) + first value XOR below
    deltas = np.diff(ts)
    for dod in np.diff(deltas):
        d = int(dod)
        if d == 0:
            bits += 1
        elif -(2**13) <= d < 2**13:
            bits += 2 + 14
        elif -(2**16) <= d < 2**16:
            bits += 3 + 17
        elif -(2**19) <= d < 2**19:
            bits += 4 + 20
        else:
            bits += 4 + 64
    raw = vals.view(np.uint64)
    lead_prev, trail_prev = 0xFF, 0
    for prev, cur in zip(raw[:-1].tolist(), raw[1:].tolist(), strict=True):
        x = prev ^ cur
        if x == 0:
            bits += 1
            continue
        lead = min(64 - x.bit_length(), 31)
        trail = (x & -x).bit_length() - 1
        if lead_prev != 0xFF and lead >= lead_prev and trail >= trail_prev:
            bits += 2 + (64 - lead_prev - trail_prev)
        else:
            lead_prev, trail_prev = lead, trail
            bits += 2 + 5 + 6 + (64 - lead - trail)
    return bits


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
                SeriesBatch(
                    "bench",
                    "nab_value",
                    {"series": str(i)},
                    ts[i, r : r + ROUND],
                    vals[i, r : r + ROUND],
                )
                for i in range(SERIES)
            )
        )
    for f in futures:
        f.result()
    store.flush().result()
    elapsed = time.perf_counter() - t0
    stats = store.stats()
    chunk_bytes = db.fetch_one("SELECT SUM(LENGTH(data)) FROM chunks")[0]
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
    chunk = StoreSettings().chunk_samples
    gorilla = sum(
        gorilla_bits(ts[i, s : s + chunk], vals[i, s : s + chunk])
        for i in range(SERIES)
        for s in range(0, PER_SERIES, chunk)
    )
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
        "prometheus_xor_chunk_bytes_per_sample": gorilla / 8 / total,
        "ingest_ratio_vs_baseline": store["ingest_samples_per_s"] / rows["ingest_samples_per_s"],
    }
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "store.json").write_text(json.dumps(result, indent=2))
    print(f"store bench: {total:,} samples over {SERIES:,} series (NAB values, 15 s grid)")
    print(
        f"  ingest: {store['ingest_samples_per_s']:,.0f} samples/s "
        f"({store['ingest_seconds']:.1f} s, incl. compaction); "
        f"row-per-sample baseline {rows['ingest_samples_per_s']:,.0f} samples/s "
        f"(ratio {result['ingest_ratio_vs_baseline']:.2f})"
    )
    print(
        f"  disk: {result['bytes_per_sample']:.2f} bytes/sample (whole file after VACUUM; "
        f"chunk payload {result['chunk_payload_bytes_per_sample']:.2f}); "
        f"row-per-sample baseline {result['baseline_bytes_per_sample']:.2f} bytes/sample"
    )
    print(
        f"  same data in Prometheus's own XOR chunks: "
        f"{result['prometheus_xor_chunk_bytes_per_sample']:.2f} bytes/sample (payload, computed)"
    )


if __name__ == "__main__":
    main()
