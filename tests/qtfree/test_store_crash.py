"""A process killed with SIGKILL mid-write loses no committed batch and leaves a sound file."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

WRITER = r"""
import sys
import numpy as np
from aiops_desktop.store.database import Database
from aiops_desktop.store.series import SeriesBatch, SeriesStore
from aiops_desktop.settings import StoreSettings

db = Database(sys.argv[1], batch_max_delay_s=0.005)
series = SeriesStore(db, StoreSettings(chunk_samples=64))
batch = 0
while True:
    futures = [
        db.write(lambda c, b=batch, j=j: c.execute(
            "INSERT INTO app_meta VALUES (?, ?)", (f"b{b}-{j}", "x" * 200)))
        for j in range(40)
    ]
    ts = 1_700_000_000_000 + (batch * 50 + np.arange(50)) * 1000
    futures.append(series.append([SeriesBatch("c", "m", {"i": str(k)}, ts, ts % 97)
                                  for k in range(20)]))
    for f in futures:
        f.result()
    print(batch, flush=True)
    batch += 1
"""


@pytest.mark.slow
def test_sigkill_loses_no_committed_batch(tmp_path: Path) -> None:
    rng = random.Random(20261127)
    for attempt in range(20):
        path = tmp_path / f"crash-{attempt}.sqlite3"
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        committed = -1
        kill_after = rng.randint(2, 25)
        deadline = time.monotonic() + 60
        while committed < kill_after and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            committed = int(line)
        time.sleep(rng.uniform(0, 0.02))  # land inside the next batch
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        assert proc.stderr is not None
        err = proc.stderr.read()
        proc.stderr.close()
        assert committed >= kill_after, f"writer did not get going: {err}"

        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            keys = {r[0] for r in conn.execute("SELECT key FROM app_meta")}
            for batch in range(committed + 1):
                assert all(f"b{batch}-{j}" in keys for j in range(40)), (attempt, batch)
            samples = conn.execute(
                "SELECT (SELECT COUNT(*) FROM samples_head) + "
                "(SELECT COALESCE(SUM(count), 0) FROM chunks)"
            ).fetchone()[0]
            assert samples >= (committed + 1) * 50 * 20
        finally:
            conn.close()
