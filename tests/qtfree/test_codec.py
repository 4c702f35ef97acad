"""The chunk codec gives back the exact float64 values and is compact for regular data."""

from __future__ import annotations

import numpy as np
import pytest

from aiops_desktop.store import codec

TS = 1_700_000_000_000 + np.arange(240, dtype=np.int64) * 15_000


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return np.array_equal(a.view(np.uint64), b.view(np.uint64))


@pytest.mark.parametrize(
    "values",
    [
        np.cumsum(np.arange(240) % 7).astype(float),  # counter
        np.round(np.linspace(0, 99.99, 240), 2),  # percent with 2 decimals
        np.random.default_rng(3).uniform(0, 1, 240),  # full-precision floats
        np.r_[np.nan, np.inf, -np.inf, np.zeros(237)],  # staleness markers, infinities
        np.full(240, -0.0),
        np.r_[1e300, np.ones(239) * 1e-300],
    ],
    ids=["counter", "decimal", "float", "nan-inf", "negzero", "extreme"],
)
def test_roundtrip_is_bit_exact(values: np.ndarray) -> None:
    ts, (out,) = codec.decode(codec.encode(TS, [values]))
    assert np.array_equal(ts, TS)
    assert _same_bits(out, values)


def test_irregular_timestamps_and_several_columns() -> None:
    ts = np.array([5, 6, 1000, 1001, 10**12], dtype=np.int64)
    cols = [np.array([1.0, 2, 3, 4, 5]), np.array([0.1, 0.2, 0.3, 0.4, 0.5])]
    out_ts, out = codec.decode(codec.encode(ts, cols))
    assert np.array_equal(out_ts, ts)
    assert all(_same_bits(a, b) for a, b in zip(out, cols, strict=True))


def test_single_sample() -> None:
    ts, (vals,) = codec.decode(codec.encode(TS[:1], [np.array([42.5])]))
    assert ts.tolist() == [TS[0]] and vals.tolist() == [42.5]


def test_regular_scrape_of_a_counter_is_under_one_byte_per_sample() -> None:
    blob = codec.encode(TS, [np.cumsum(np.full(240, 3.0))])
    assert len(blob) / 240 < 1.0


@pytest.mark.parametrize(
    ("ts", "vals", "message"),
    [
        (np.array([], dtype=np.int64), [np.array([])], "empty"),
        (np.array([2, 1], dtype=np.int64), [np.array([1.0, 2.0])], "increasing"),
        (np.array([1, 2], dtype=np.int64), [np.array([1.0])], "one value per timestamp"),
    ],
)
def test_bad_input_is_refused(ts: np.ndarray, vals: list[np.ndarray], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        codec.encode(ts, vals)


def test_corrupt_or_foreign_blob_is_reported() -> None:
    blob = codec.encode(TS, [np.ones(240)])
    with pytest.raises(codec.ChunkFormatError, match="corrupt"):
        codec.decode(blob[:20] + b"\x00garbage")
    with pytest.raises(codec.ChunkFormatError, match="not supported"):
        codec.decode(b"\x09" + blob[1:])
    with pytest.raises(codec.ChunkFormatError, match="too short"):
        codec.decode(b"\x01")


def test_float_artefacts_stay_on_the_compact_decimal_path() -> None:
    rng = np.random.default_rng(11)
    values = np.round(rng.uniform(40, 60, 240), 3)
    values[[3, 50, 200]] = [51.846000000000004, 94.79799999999999, np.nan]
    _, (out,) = codec.decode(blob := codec.encode(TS, [values]))
    assert _same_bits(out, values)
    plan = codec._decimal_plan(values)
    assert plan is not None and plan[0] == 3 and plan[2].tolist() == [3, 50, 200]
    xor_blob = codec.encode(TS, [values + rng.uniform(1e-9, 2e-9, 240)])  # full precision
    assert len(blob) < 0.7 * len(xor_blob)


def test_random_chunks_roundtrip() -> None:
    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(1, 300))
        ts = np.cumsum(rng.integers(1, 60_000, n)).astype(np.int64)
        pick = rng.integers(0, 3)
        vals = [
            rng.normal(0, 1e6, n),
            np.round(rng.normal(0, 100, n), int(rng.integers(0, 6))),
            np.cumsum(rng.integers(0, 1000, n)).astype(float),
        ][pick]
        out_ts, (out,) = codec.decode(codec.encode(ts, [vals]))
        assert np.array_equal(out_ts, ts) and _same_bits(out, vals)


def _exception_outside() -> bytes:
    """A real chunk whose one exception (a NaN) is said to be at sample 99 of 20."""
    import zlib

    values = np.r_[np.arange(19.0), np.nan]
    blob = codec.encode(TS[:20], [values])
    raw = bytearray(zlib.decompress(blob[16:]))
    at = len(raw) - 8 - 4  # the exception's index, then its value, end the data
    assert int.from_bytes(raw[at : at + 4], "little") == 19
    raw[at : at + 4] = (99).to_bytes(4, "little")
    return blob[:16] + zlib.compress(bytes(raw))


def _crafted(count: int, ncols: int, body: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack("<BBIHq", 1, 3, count, ncols, 0) + zlib.compress(body)


@pytest.mark.parametrize(
    ("blob", "said"),
    [
        # a header that claims 20 million samples, and 180 MB of zeros behind it
        (_crafted(20_000_000, 1, bytes(180 << 20)), "not one of ours"),
        # a believable count, but far more data than it needs: not decompressed past that
        (_crafted(240, 1, bytes(64 << 20)), "longer than its header says"),
        (_crafted(240, 1, b"\x00" * 5), "does not match its header"),  # cut short
        (_crafted(240, 0, b""), "not one of ours"),
        (_exception_outside(), "does not match"),
    ],
    ids=["bomb", "too-long", "cut-short", "no-columns", "exception-index-outside"],
)
def test_a_crafted_chunk_is_refused_without_reading_what_it_claims(blob: bytes, said: str) -> None:
    """A chunk is a capture's content: a header is not believed past what the store writes,
    and the data never decompresses to more than its header needs."""
    with pytest.raises(codec.ChunkFormatError, match=said):
        codec.decode(blob)
