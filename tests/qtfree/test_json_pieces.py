"""JSON read in pieces (collectors.json_pieces): it reads what json.loads reads and refuses
what json.loads refuses, at the levels it walks itself and below them."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from collectors import json_pieces

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def walked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every document walked, however small (those below WHOLE_BYTES are read whole)."""
    monkeypatch.setattr(json_pieces, "WHOLE_BYTES", 0)


KUBE_LIST = {
    "kind": "PodList", "apiVersion": "v1",
    "metadata": {"resourceVersion": "77", "continue": ""},
    "items": [
        {"metadata": {"name": f"pod-{i}", "labels": {"app": "a"}, "ownerReferences": []},
         "spec": {"containers": [{"name": "c", "env": [{"name": "E", "value": "é \u2603"}]}]},
         "status": {"phase": "Running", "restarts": [1, 2.5, -3e-7, None, True, False]}}
        for i in range(3)
    ],
}  # fmt: skip
PROM_MATRIX = {
    "status": "success",
    "data": {"resultType": "matrix", "result": [
        {"metric": {"__name__": "up", "job": "j"}, "values": [[1.7e9, "1"], [1.7e9 + 15, "NaN"]]},
        {"metric": {}, "values": []},
    ]},
    "warnings": ["a", "b"],
}  # fmt: skip
TEXTS = [
    json.dumps(KUBE_LIST),
    json.dumps(KUBE_LIST, indent=3),
    json.dumps(PROM_MATRIX, separators=(",", ":")),
    ' \n\t{ "items" : [ ] , "metadata" : { } }\r\n ',
    '{"a": 1, "a": 2, "items": [{"x": 1, "x": [3]}]}',  # duplicate keys: the last one holds
    '{"s": "\\ud800 half an emoji", "u": "\\u00e9\\n\\"", "n": NaN, "i": -Infinity}',
    '[[[[[[1, [2, {"deep": [3, {"deeper": []}]}]]]]]]]',
    "[]", "{}", "0", '"just a string"', "null", "true", "[1e400, -0.0, 12345678901234567890]",
]  # fmt: skip
BROKEN = [
    "", "   ", "{", "[", '{"a" 1}', '{"a": 1,}', "[1,]", "[1 2]", '{"a": 1 "b": 2}',
    "{1: 2}", "{'a': 1}", '{"items": [1, 2', '{"a": 1}}', '{"a": 1} x', "[1] [2]",
    '{"a": "unterminated}', '{"a": "bad \\x escape"}', '{"a": "raw\ncontrol"}',
    '{"items": [{"x": }]}', '{"items": [,]}', "\ufeff{}",
]  # fmt: skip


@pytest.mark.parametrize("text", TEXTS)
def test_a_document_reads_as_json_loads_reads_it_from_text_and_from_bytes(text: str) -> None:
    expected = json.loads(text)
    assert _same(json_pieces.loads(text), expected)
    for encoding in ("utf-8", "utf-16", "utf-32-le", "utf-8-sig"):
        assert _same(json_pieces.loads(text.encode(encoding, "surrogatepass")), expected)


@pytest.mark.parametrize("text", BROKEN)
def test_what_json_loads_refuses_is_refused(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    with pytest.raises(json.JSONDecodeError):
        json_pieces.loads(text)


def test_every_cut_of_a_list_reads_or_is_refused_as_json_loads_does() -> None:
    """A server that stops answering mid-way: each of a document's prefixes (and each
    one-character change of it) reads the same, or is refused the same, both ways."""
    text = json.dumps(KUBE_LIST)
    rng = random.Random(7)
    cuts = [text[:n] for n in range(len(text) + 1)]
    cuts += [_changed(text, rng) for _ in range(400)]
    for cut in cuts:
        try:
            expected = json.loads(cut)
        except json.JSONDecodeError:
            with pytest.raises(json.JSONDecodeError):
                json_pieces.loads(cut)
        else:
            assert _same(json_pieces.loads(cut), expected), cut


def test_a_nesting_too_deep_is_refused_as_json_loads_refuses_it() -> None:
    text = "[" * 200_000 + "]" * 200_000
    with pytest.raises(RecursionError):
        json.loads(text)
    with pytest.raises(RecursionError):  # caught with ValueError as JSON_ERRORS by the callers
        json_pieces.loads(text)


def test_the_apps_own_json_files_read_the_same() -> None:
    files = sorted(ROOT.glob("resources/**/*.json"))
    assert files
    for path in files:
        raw = path.read_bytes()
        assert _same(json_pieces.loads(raw), json.loads(raw)), path


def _changed(text: str, rng: random.Random) -> str:
    at = rng.randrange(len(text))
    return text[:at] + rng.choice('{}[],:"0a \\') + text[at + 1 :]


def _same(a: object, b: object) -> bool:
    """Equal, NaN included, and of the same types throughout (1 is not 1.0 nor True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def test_a_big_list_of_objects_with_flat_arrays_reads_as_json_loads_reads_it() -> None:
    """Past WHOLE_BYTES, as the app reads a big answer: its items walked, an array of plain
    values in them read whole (label values, a series' points)."""
    doc = {"items": [{"n": i, "tags": ["a", 1, None, 2.5] * 20, "empty": [], "nested": [[1]]}
                     for i in range(3000)], "values": list(range(20_000))}  # fmt: skip
    text = json.dumps(doc)
    assert len(text) > 256 * 1024
    assert _same(json_pieces.loads(text), json.loads(text))
