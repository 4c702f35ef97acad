"""The writer waits to fill a batch only for bulk writes (a poll's samples, which come in
bursts and share a transaction); a lone write of any other kind (a person's acknowledgement,
a health check's row) commits without waiting out the batch delay, while a burst of them
still shares one transaction."""

from __future__ import annotations

import concurrent.futures
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from aiops_desktop.store.database import Database

LONG_DELAY_S = 10.0  # the batch delay: far past what any write below may wait


def _insert(key: str) -> Callable[[sqlite3.Connection], object]:
    return lambda c: c.execute("INSERT INTO app_meta VALUES (?, ?)", (key, "v"))


def test_writes_awaited_one_after_another_do_not_each_wait_out_the_batch_delay(
    tmp_path: Path,
) -> None:
    database = Database(tmp_path / "c.sqlite3", batch_max_delay_s=LONG_DELAY_S)
    try:
        for i in range(3):  # each awaited before the next: none waits for a batch to fill
            database.write(_insert(f"k{i}")).result(timeout=LONG_DELAY_S / 2)
        assert database.writer.batches_committed == 3
    finally:
        database.close()


def test_a_burst_of_writes_still_shares_a_transaction(tmp_path: Path) -> None:
    database = Database(tmp_path / "c.sqlite3", batch_max_delay_s=LONG_DELAY_S)
    try:
        started = threading.Event()
        # the writer is held in a write while the burst is queued behind it
        first = database.write(lambda c: started.wait(5))
        burst = [database.write(_insert(f"k{i}")) for i in range(200)]
        started.set()
        assert first.result(timeout=LONG_DELAY_S / 2)
        concurrent.futures.wait(burst, timeout=LONG_DELAY_S / 2)
        assert all(f.done() for f in burst)
        assert database.writer.batches_committed <= 2
    finally:
        database.close()


def test_bulk_writes_still_wait_to_share_a_transaction(tmp_path: Path) -> None:
    database = Database(tmp_path / "c.sqlite3", batch_max_delay_s=0.5)
    try:
        written = []
        for i in range(3):
            written.append(database.write(_insert(f"k{i}"), bulk=True))
            threading.Event().wait(0.02)  # a poll's samples, tens of ms apart
        for f in written:
            f.result(timeout=5)
        assert database.writer.batches_committed == 1
    finally:
        database.close()
