"""What a live tail says of a frame it could not read all of is one line: the server's text in
it (a stream's labels, its values, a frame that is no frame) with line breaks would add lines
to the Logs page's status ("live: 0 lines shown · tail healthy")."""

from __future__ import annotations

import json

import pytest

from collectors.loki import Unread
from collectors.loki_tail import _read_frame

FORGED = "x\nlive: 0 lines shown · tail healthy\r\nno lines were dropped\u2028\tend"
FRAMES = [
    {"streams": [{"stream": FORGED, "values": [["1", "a"]]}]},  # labels that are no object
    {"streams": [{"stream": {"app": "api"}, "values": FORGED}]},  # values that are no list
    {"streams": [{"stream": {"app": "api"}, "values": [FORGED, ["2", "b"]]}]},  # a bad line
    {"streams": [{"stream": {"app": "api"}, "values": [["1", "a"]]}], "dropped_entries": FORGED},
    {"streams": FORGED},
]


@pytest.mark.parametrize("frame", FRAMES)
def test_a_skipped_lines_note_is_one_line(frame: dict[str, object]) -> None:
    batch = _read_frame(json.dumps(frame), "c")
    assert batch.note
    assert batch.note.splitlines() == [batch.note]
    assert "\t" not in batch.note and len(batch.note) <= 400


def test_why_a_line_was_left_out_is_one_bounded_line() -> None:
    unread = Unread()
    unread.add(ValueError(FORGED * 100))
    assert unread.lines == 1
    assert unread.why.splitlines() == [unread.why] and len(unread.why) <= 200
