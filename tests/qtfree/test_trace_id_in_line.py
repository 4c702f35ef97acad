"""The trace a log line names: its entry's trace_id label first, then an id the text labels
(``trace_id=``, ``traceID:``, ``"traceId": "..."``), a bare 32-hex token only when there is
neither: an ETag, an MD5 or a user id earlier in the line is no trace."""

from __future__ import annotations

from aiops_desktop.models.observability import trace_id_in

TRACE = "51def24606746811fa552389b02d2d3f"
ETAG = "d41d8cd98f00b204e9800998ecf8427e"
USER = "7c9e6679742540de944be07fc1f90ae7"


def test_a_labelled_id_wins_over_an_earlier_bare_token() -> None:
    lines = [
        f'GET /static/app.js 200 etag="{ETAG}" trace_id={TRACE}',
        f"user={USER} checkout failed traceID: {TRACE}",
        f'{{"md5": "{ETAG}", "traceId": "{TRACE}"}}',
        f"md5={ETAG} TraceId={TRACE.upper()}",
        f"user {USER} trace_id {TRACE}",
    ]
    for line in lines:
        assert trace_id_in(line) == TRACE, line


def test_the_entrys_trace_id_label_comes_first() -> None:
    line = f"user={USER} trace_id={ETAG}"  # the text names another: the label is the entry's
    assert trace_id_in(line, {"trace_id": TRACE, "app": "shop"}) == TRACE
    assert trace_id_in(f"etag {ETAG}", {"traceId": TRACE.upper()}) == TRACE
    # a label that is no trace id is passed over
    assert trace_id_in(f"trace_id={TRACE}", {"trace_id": "not-an-id"}) == TRACE
    assert trace_id_in(f"trace_id={TRACE}", {"trace_id": ""}) == TRACE


def test_a_bare_token_only_when_nothing_is_labelled() -> None:
    assert trace_id_in(f"request {TRACE} took 3 ms") == TRACE
    assert trace_id_in(f"{ETAG} then {TRACE}") == ETAG  # nothing says which: the first
    assert trace_id_in("no id here 1234") is None
    assert trace_id_in(f"trace_id={TRACE}0") is None  # 33 hex digits: no id
    assert trace_id_in("", {}) is None
