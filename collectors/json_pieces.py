"""JSON read in pieces, so that a big answer does not stop the event loop (the UI's thread).

``json.loads`` holds the GIL for its whole parse, even in a worker thread: a 62 MiB list of
pods held it 1.2 s, and the event loop waiting on it (the UI's thread) stood still as long.
Here the answer's outer levels (a list's ``items``, Prometheus' and Loki's ``data.result``)
are walked in Python, and each value below them is decoded by the json module's C decoder
on its own: between two values the interpreter may hand the GIL over (the same parse let
the loop wait 0.18 s at most). The values read are the ones ``json.loads`` reads, and a
document it refuses is refused here too, with a ``json.JSONDecodeError``.

Where walking costs more than it gives, ``json.loads`` reads: a small document (at most
``WHOLE_BYTES``: the GIL held a few ms; the walk made a 228 KiB label list 20 times slower
on the event loop) and an array of plain values (numbers, strings: decoded one by one, a
38 MB array of numbers took 16 s instead of 0.9 s)."""

from __future__ import annotations

import json
import re
from typing import Any

#: the levels walked here (the rest decoded whole, value by value): a list's items (1),
#: Prometheus' and Loki's result (2) and the fields of one item (3)
WALKED = 3
#: a document this small is read whole (``json.loads``): its parse holds the GIL ~3 ms
WHOLE_BYTES = 256 * 1024
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def loads(data: bytes | str) -> Any:
    """``json.loads(data)``, in pieces (bytes in UTF-8, -16 or -32, as json reads them)."""
    if len(data) <= WHOLE_BYTES:
        return json.loads(data)
    text = data if isinstance(data, str) else data.decode(json.detect_encoding(data),
                                                          "surrogatepass")  # fmt: skip
    value, end = _value(text, _skip(text, 0), 0)
    end = _skip(text, end)
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def _skip(text: str, at: int) -> int:
    match = _WS.match(text, at)
    return match.end() if match else at


def _value(text: str, at: int, depth: int) -> tuple[Any, int]:
    opening = text[at : at + 1]
    if depth >= WALKED or opening not in ("[", "{"):
        return _DECODER.raw_decode(text, at)
    if opening == "[":
        return _array(text, at, depth)
    return _object(text, at, depth)


def _array(text: str, at: int, depth: int) -> tuple[list[Any], int]:
    out: list[Any] = []
    first = _skip(text, at + 1)
    if text[first : first + 1] not in ("[", "{"):  # plain values (or none): read whole
        return _DECODER.raw_decode(text, at)
    at = first
    while True:
        value, at = _value(text, at, depth + 1)
        out.append(value)
        at = _skip(text, at)
        after = text[at : at + 1]
        if after == "]":
            return out, at + 1
        if after != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
        at = _skip(text, at + 1)


def _object(text: str, at: int, depth: int) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    at = _skip(text, at + 1)
    if text[at : at + 1] == "}":
        return out, at + 1
    while True:
        if text[at : at + 1] != '"':
            raise json.JSONDecodeError(
                "Expecting property name enclosed in double quotes", text, at
            )
        key, at = _DECODER.raw_decode(text, at)  # a string: it begins with a quote
        at = _skip(text, at)
        if text[at : at + 1] != ":":
            raise json.JSONDecodeError("Expecting ':' delimiter", text, at)
        out[key], at = _value(text, _skip(text, at + 1), depth + 1)
        at = _skip(text, at)
        after = text[at : at + 1]
        if after == "}":
            return out, at + 1
        if after != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
        at = _skip(text, at + 1)
