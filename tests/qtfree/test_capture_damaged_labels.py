"""A capture's export redacts every series' labels: one series whose labels text is damaged
(a disk error or a hand edit passes PRAGMA quick_check) is left out of the capture, with its
samples, instead of failing the whole export with a JSONDecodeError."""

from __future__ import annotations

import sqlite3

from aiops_desktop.store.capture_redact import _redact_series


def test_a_series_whose_labels_are_damaged_is_left_out_not_the_export() -> None:
    conn = sqlite3.connect(":memory:")
    conn.executescript("""
        CREATE TABLE series (id INTEGER PRIMARY KEY, labels TEXT UNIQUE);
        CREATE TABLE chunks (series_id INTEGER, data BLOB);
        CREATE TABLE samples_head (series_id INTEGER, ts INTEGER);
        INSERT INTO series VALUES (1, '{"pod":"api-0"}'), (2, '{"pod": "db-0", "tok');
        INSERT INTO chunks VALUES (1, x'00'), (2, x'00');
        INSERT INTO samples_head VALUES (1, 5), (2, 5);
    """)
    _redact_series(conn, {})
    assert [r[0] for r in conn.execute("SELECT id FROM series")] == [1]
    assert [r[0] for r in conn.execute("SELECT series_id FROM chunks")] == [1]
    assert [r[0] for r in conn.execute("SELECT series_id FROM samples_head")] == [1]
