"""Compact encoding of time-series chunks.

A chunk is one series' samples over a stretch of time, stored as one BLOB. The budget is
Prometheus's own (~1.3 bytes per sample); this codec gets there with numpy and zlib,
no bit-level loop in Python:

- timestamps (int64 ms): first value, first delta, then delta-of-delta. Regular scrapes make
  the delta-of-delta all zeros, which zlib squeezes to almost nothing.
- values: when most values are decimals with few digits (counters, percentages, temperatures:
  most exporter output), they are scaled to integers (VictoriaMetrics' trick), delta-encoded
  and stored at the narrowest integer width. The values that do not survive that bit for bit
  (float artefacts such as 51.846000000000004, NaN staleness markers, -0.0) are stored verbatim
  as exceptions, so the encoding stays lossless. When too many values are exceptions
  (full-precision floats), each value is XORed with its predecessor (Gorilla's trick) and the 8
  byte planes are stored one after another so zlib sees the runs of zero bytes.

Decoding gives back exactly the same float64 values (tested bit for bit).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt

from aiops_desktop.store.errors import StoreError

FORMAT_VERSION = 1
_HEADER = struct.Struct("<BBIHq")  # version, value mode, count, columns, first timestamp
_MODE_XOR = 2
_MODE_DECIMAL_EXC = 3
_MAX_EXCEPTION_SHARE = 0.1
_MAX_DECIMALS = 9
_MAX_EXACT_INT = 2**53
_ZLEVEL = 6
#: what a chunk may say it holds: the store writes at most ``chunk_samples`` (at most 4096)
#: samples of a few columns; a crafted capture's header is not believed beyond that
MAX_SAMPLES = 4096
MAX_COLUMNS = 16

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class ChunkFormatError(StoreError, ValueError):
    """A chunk BLOB that this version cannot read (corrupt, or written by a newer version)."""


def _narrow(values: IntArray) -> tuple[int, bytes]:
    """Store ints at the narrowest width that holds them; returns (width code, bytes)."""
    if values.size == 0:
        return 1, b""
    lo, hi = int(values.min()), int(values.max())
    for code, dtype in ((1, np.int8), (2, np.int16), (4, np.int32)):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return code, values.astype(dtype).tobytes()
    return 8, values.astype(np.int64).tobytes()


def _widen(code: int, raw: memoryview, count: int) -> IntArray:
    dtype = {1: np.int8, 2: np.int16, 4: np.int32, 8: np.int64}.get(code)
    if dtype is None:
        raise ChunkFormatError(f"unknown integer width {code}")
    out = np.frombuffer(raw, dtype=dtype, count=count)
    return out.astype(np.int64)


def _decimal_plan(values: FloatArray) -> tuple[int, IntArray, IntArray] | None:
    """(k, integers, exception indices) for the smallest k that leaves few exceptions.

    ``integers[i] / 10**k`` reproduces ``values[i]`` bit for bit except at the exception
    indices, whose values are stored verbatim. A value exact at k decimals is exact at k + 1
    too (the same real number, correctly rounded), so one try at the largest safe k tells
    whether any k can work: full-precision floats leave after a single pass.
    """
    finite = np.isfinite(values)
    safe = np.where(finite, values, 0.0)
    peak = float(np.max(np.abs(safe))) if safe.size else 0.0
    k_max = _MAX_DECIMALS
    while k_max >= 0 and peak * 10.0**k_max >= _MAX_EXACT_INT:
        k_max -= 1
    if k_max < 0:
        return None
    allowed = int(_MAX_EXCEPTION_SHARE * values.size)

    def attempt(k: int) -> tuple[int, IntArray, IntArray]:
        scale = 10.0**k
        ints = np.round(safe * scale).astype(np.int64)
        back = ints.astype(np.float64) / scale
        exact = finite & (back.view(np.uint64) == values.view(np.uint64))
        return k, ints, np.flatnonzero(~exact)

    if attempt(k_max)[2].size > allowed:
        return None
    for k in range(k_max + 1):
        plan = attempt(k)
        if plan[2].size <= allowed:
            return plan
    return None  # unreachable: k_max passed


def encode(timestamps_ms: IntArray, columns: list[FloatArray]) -> bytes:
    """Encode one chunk: timestamps and one or more value columns of the same length."""
    ts = np.ascontiguousarray(timestamps_ms, dtype=np.int64)
    count = int(ts.size)
    if count == 0:
        raise ValueError("cannot encode an empty chunk")
    if any(np.asarray(c).size != count for c in columns):
        raise ValueError("every value column needs one value per timestamp")
    if count > 1 and np.any(np.diff(ts) <= 0):
        raise ValueError("chunk timestamps must be strictly increasing")
    deltas = np.diff(ts)
    dod = np.diff(deltas) if count > 2 else np.zeros(0, dtype=np.int64)
    first_delta = int(deltas[0]) if count > 1 else 0
    ts_code, ts_bytes = _narrow(dod)
    parts = [struct.pack("<qB", first_delta, ts_code), ts_bytes]
    modes = []
    for column in columns:
        values = np.ascontiguousarray(column, dtype=np.float64)
        plan = _decimal_plan(values)
        if plan is not None:
            k, ints, exc = plan
            code, body = _narrow(np.diff(ints))
            exc_values = values[exc].tobytes()
            parts.append(
                struct.pack("<BBqBI", _MODE_DECIMAL_EXC, k, int(ints[0]), code, exc.size)
                + body
                + exc.astype(np.uint32).tobytes()
                + exc_values
            )
            modes.append(_MODE_DECIMAL_EXC)
        else:
            bits = values.view(np.uint64)
            xored = np.empty_like(bits)
            xored[0] = bits[0]
            np.bitwise_xor(bits[1:], bits[:-1], out=xored[1:])
            planes = xored.view(np.uint8).reshape(count, 8).T.tobytes()
            parts.append(struct.pack("<B", _MODE_XOR) + planes)
            modes.append(_MODE_XOR)
    body = zlib.compress(b"".join(parts), _ZLEVEL)
    header = _HEADER.pack(FORMAT_VERSION, modes[0] if modes else 0, count, len(columns), int(ts[0]))
    return header + body


def _most_bytes(count: int, ncols: int) -> int:
    """The most a chunk of ``count`` samples and ``ncols`` columns decompresses to: the
    timestamps (9 bytes, then 8 a delta at most) and each column at its widest (15 bytes,
    8 a difference and 12 an exception, or 1 byte and 8 a value)."""
    return 9 + 8 * count + ncols * (15 + 20 * count)


HEADER_SIZE = _HEADER.size


def read_header(blob: bytes) -> tuple[int, int, int]:
    """A chunk's (samples, columns, first timestamp), checked: a header this version writes,
    at most MAX_SAMPLES samples of at most MAX_COLUMNS columns (a chunk is a file's content:
    its header is not believed beyond that); ChunkFormatError otherwise."""
    if len(blob) < _HEADER.size:
        raise ChunkFormatError("chunk too short")
    version, _mode, count, ncols, first_ts = _HEADER.unpack_from(blob)
    if version != FORMAT_VERSION:
        raise ChunkFormatError(f"chunk format {version} is not supported (this app reads 1)")
    if not (1 <= count <= MAX_SAMPLES and 1 <= ncols <= MAX_COLUMNS):
        raise ChunkFormatError(f"chunk says {count} samples of {ncols} columns: not one of ours")
    return count, ncols, first_ts


def decode(blob: bytes) -> tuple[IntArray, list[FloatArray]]:
    """Decode a chunk written by ``encode``; raises ChunkFormatError on anything else (its
    header checked by ``read_header``; it decompresses to at most what that count needs, and
    every part of it must be there)."""
    count, ncols, first_ts = read_header(blob)
    most = _most_bytes(count, ncols)
    try:
        unzip = zlib.decompressobj()
        raw = memoryview(unzip.decompress(blob[_HEADER.size :], most))
        if unzip.unconsumed_tail or not unzip.eof:
            raise ChunkFormatError("chunk data is longer than its header says, or cut short")
        return _decoded(raw, count, ncols, first_ts)
    except ChunkFormatError:
        raise
    except zlib.error as exc:
        raise ChunkFormatError(f"chunk data is corrupt: {exc}") from exc
    except (struct.error, ValueError, IndexError, OverflowError) as exc:
        raise ChunkFormatError(f"chunk data does not match its header: {exc}") from exc


def decode_row(
    blob: bytes, start_ms: int, end_ms: int, count: int
) -> tuple[IntArray, list[FloatArray]]:
    """Decode a stored chunk and check that it holds what its row says: ``count`` samples in
    time order, the first at ``start_ms``, the last at ``end_ms``; ChunkFormatError otherwise.
    The header's count and first timestamp are outside zlib's checksum: one bit flipped there
    decoded cleanly, every sample of the chunk moved in time (hours past now) without a word.
    Every chunk the store writes holds its row's times and count (an opened capture's are
    checked so too, store/capture_rows.py)."""
    ts, columns = decode(blob)
    if (
        ts.size != count
        or int(ts[0]) != start_ms
        or int(ts[-1]) != end_ms
        or bool((np.diff(ts) <= 0).any())
    ):
        raise ChunkFormatError("chunk holds other times than its row says")
    return ts, columns


def _decoded(
    raw: memoryview, count: int, ncols: int, first_ts: int
) -> tuple[IntArray, list[FloatArray]]:
    first_delta, ts_code = struct.unpack_from("<qB", raw)
    pos = 9
    ndod = max(count - 2, 0)
    dod = _widen(ts_code, raw[pos:], ndod)
    pos += ndod * ts_code
    deltas = np.empty(max(count - 1, 0), dtype=np.int64)
    if count > 1:
        deltas[0] = first_delta
        deltas[1:] = first_delta + np.cumsum(dod)
    ts = np.empty(count, dtype=np.int64)
    ts[0] = first_ts
    ts[1:] = first_ts + np.cumsum(deltas)
    columns: list[FloatArray] = []
    for _ in range(ncols):
        mode = raw[pos]
        if mode == _MODE_DECIMAL_EXC:
            k, first, code, nexc = struct.unpack_from("<BqBI", raw, pos + 1)
            pos += 15
            diffs = _widen(code, raw[pos:], count - 1)
            pos += (count - 1) * code
            ints = np.empty(count, dtype=np.int64)
            ints[0] = first
            ints[1:] = first + np.cumsum(diffs)
            column = ints.astype(np.float64) / 10.0**k
            idx = np.frombuffer(raw[pos : pos + 4 * nexc], dtype=np.uint32)
            pos += 4 * nexc
            column[idx] = np.frombuffer(raw[pos : pos + 8 * nexc], dtype=np.float64)
            pos += 8 * nexc
            columns.append(column)
        elif mode == _MODE_XOR:
            pos += 1
            planes = np.frombuffer(raw[pos : pos + 8 * count], dtype=np.uint8)
            pos += 8 * count
            xored = np.ascontiguousarray(planes.reshape(8, count).T).view(np.uint64).ravel()
            bits = np.bitwise_xor.accumulate(xored)
            columns.append(bits.view(np.float64).copy())
        else:
            raise ChunkFormatError(f"unknown value encoding {mode}")
    return ts, columns
