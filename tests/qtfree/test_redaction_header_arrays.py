"""Secrets that reached the model or the incident report in clear: header values written as JSON
arrays (Go's encoding/json writes an ``http.Header`` so), a PGP private key block, ipmitool's
``-P`` and sshpass's ``-p``, a Google API key, a password in JSON text three levels deep; and
the error lines and failed spans RCA quotes, cleaned only with the logs' weaker redaction. A
crafted line still costs the redaction little."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from aiops_desktop.logs import MOST_ITEMS, redact
from aiops_desktop.models import EndpointKind
from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.observability import LogEntry, LogResult, Span, Trace, TraceSummary
from aiops_desktop.models.text import printable
from aiops_desktop.services.intelligence.rca_logs_traces import LogsTracesAround
from analysis.rca.model import Window
from analysis.rca.traces import failing_through
from collectors.llm_redaction import REDACTED, redact_for_llm
from tests.qtfree.redaction_cost import MOST_RATIO, ratio, repeated

AUTH = "9f8e7d6c5b4a39281706"
API_KEY = "AbCdEf0123456789zz"
SESSION = "s3cr3tsessionvalue"
PASSWORD = "Winter2026x"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
HEADERS_LINE = (
    '{"level":"info","msg":"upstream request","headers":{"Authorization":["Token ' + AUTH + '"],'
    '"X-Api-Key":["' + API_KEY + '","Zy98Xw76Vu54Ts32rq"],"Cookie":["sessionid=' + SESSION + '"],'
    '"Password":["' + PASSWORD + '"],"Accept":["application/json"]}}'
)
REDACTED_HEADERS = {
    "Authorization": [REDACTED],
    "X-Api-Key": [REDACTED, REDACTED],
    "Cookie": [REDACTED],
    "Password": [REDACTED],
    "Accept": ["application/json"],
}


def test_each_item_of_a_secret_header_s_array_is_redacted_and_the_json_kept() -> None:
    sent = redact_for_llm(HEADERS_LINE)
    for secret in (AUTH, API_KEY, "Zy98Xw76Vu54Ts32rq", SESSION, PASSWORD):
        assert secret not in sent
    assert json.loads(sent)["headers"] == REDACTED_HEADERS  # still JSON, each item a string


def test_a_header_array_in_json_text_is_redacted_as_in_json() -> None:
    """The same line as a container runtime's JSON (a "log" string holding it)."""
    sent = redact_for_llm(json.dumps({"log": HEADERS_LINE}))
    assert json.loads(json.loads(sent)["log"])["headers"] == REDACTED_HEADERS


def test_the_logs_redaction_takes_the_arrays_it_knows_the_names_of() -> None:
    """The app's own log: the API key, the cookie and the password (an Authorization that is
    no Bearer or Basic one is the LLM's redaction's)."""
    headers = json.loads(redact(HEADERS_LINE))["headers"]
    assert headers["X-Api-Key"] == [REDACTED, REDACTED]
    assert headers["Cookie"] == [REDACTED] and headers["Password"] == [REDACTED]


NESTED = json.dumps({"log": json.dumps({"msg": "req", "body": json.dumps(
    {"user": "bob", "password": PASSWORD})})})  # fmt: skip
#: each form, and what is left of it once redacted: the secret gone, the rest of the line kept
FORMS = {
    "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF8xyzSECRETKEYMATERIAL\n"
    "-----END PGP PRIVATE KEY BLOCK-----\nnext": f"{REDACTED}\nnext",
    "ipmitool -I lanplus -H bmc1 -U admin -P Sup3rS3cret chassis power status":
        f"ipmitool -I lanplus -H bmc1 -U admin -P {REDACTED} chassis power status",
    "sshpass -p Winter2026! ssh core@node1": f"sshpass -p {REDACTED} ssh core@node1",
    "sshpass -v -p'Winter2026!' ssh -p 2222 core@node1":
        f"sshpass -v -p'{REDACTED}' ssh -p 2222 core@node1",
    "geocode failed for key AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY":
        f"geocode failed for key {REDACTED}",
    "maps key AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBW- rejected": f"maps key {REDACTED} rejected",
}  # fmt: skip
#: what only looks like them is kept: ipmitool's -p is its port, sshpass -f reads a file and
#: ssh's -p after it is ssh's port
KEPT = [
    "ipmitool -I lanplus -H bmc1 -p 623 -U admin -f /etc/ipmi.pw sensor list",
    "sshpass -f /run/secrets/pw ssh -p 2222 core@node1",
    "AIzaShort is no key",
]


@pytest.mark.parametrize("text", list(FORMS))
def test_each_other_form_is_redacted_and_the_rest_kept(text: str) -> None:
    assert redact_for_llm(text) == FORMS[text]


@pytest.mark.parametrize("text", KEPT)
def test_what_only_looks_like_them_is_kept(text: str) -> None:
    assert redact_for_llm(text) == text


def test_a_password_three_json_texts_deep_is_redacted_and_each_level_kept() -> None:
    sent = redact_for_llm(NESTED)
    assert PASSWORD not in sent
    body = json.loads(json.loads(json.loads(sent)["log"])["body"])
    assert body == {"user": "bob", "password": REDACTED}


T0 = datetime(2023, 1, 29, 9, 0, tzinfo=UTC).timestamp()
ENTITY = "east pod shop/cart-0"
QUOTED_LINES = [
    f"ERROR upstream call failed: Authorization: Token {AUTH}f5e4d3c2b1a0",
    f"ERROR s3 upload denied for key {AWS_KEY}",
    "ERROR env dump EnvVar{Name:DB_PASSWORD,Value:Sup3rS3cret!,ValueFrom:nil,}",
]


class _LokiTempo:
    """A cluster whose error lines and failing span carry secrets only the LLM's redaction
    knows (a non-Bearer Authorization, an AWS key, a Go-printed EnvVar)."""

    async def logs(self, cluster: str, query: str, **_kw: Any) -> LogResult:
        return LogResult(entries=[
            LogEntry(cluster=cluster, timestamp_ns=int((T0 + i) * 1e9), line=line)
            for i, line in enumerate(QUOTED_LINES)
        ])  # fmt: skip

    async def counts(self, cluster: str, *_a: Any, **_kw: Any) -> list[Any]:
        return []

    async def traces(self, cluster: str, **kw: Any) -> list[TraceSummary]:
        if kw.get("traceql") == "{}":
            return []
        return [TraceSummary(trace_id="1" * 32, start_ns=int((T0 + 30) * 1e9), cluster=cluster)]

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        failed = Span(trace_id=trace_id, span_id="0" * 15 + "1", service_name="cart",
                      operation=f"GET /upload?key={AWS_KEY}", start_ns=int((T0 + 30) * 1e9),
                      duration_ns=10**7, status=SpanStatus.ERROR,
                      status_message=f"upstream: Authorization: Token {AUTH}",
                      attributes={"k8s.pod.name": "cart-0",
                                  "k8s.namespace.name": "shop"})  # fmt: skip
        return Trace(trace_id=trace_id, cluster=cluster, spans=[failed])


class _Registry:
    def get(self, name: str) -> Any:
        class Spec:
            def endpoint(self, kind: EndpointKind) -> str:
                return "https://x.example"

        return Spec()


@pytest.mark.asyncio
async def test_rca_quotes_lines_and_span_errors_redacted_as_the_capture_export_does() -> None:
    around = LogsTracesAround(cast(Any, _LokiTempo()), cast(Any, _Registry()))
    window = Window(T0, analysis_s=T0 + 300)
    quotes = await around.quotes([ENTITY], window)
    assert [line for _, line in quotes[ENTITY]] == [redact_for_llm(q) for q in QUOTED_LINES]
    read = await around.read(["east"], window)
    [quoted] = failing_through(read.traces, ENTITY, window.end_s)
    for text in (quoted.root, quoted.error):
        assert AUTH not in text and AWS_KEY not in text and REDACTED in text
    failed = {s.entity: s.values.sum() for s in read.signals if s.name == "failed spans"}
    assert failed == {ENTITY: 1}  # ranked as read


#: each repeated to 200 KB: starts of the new forms that never end
HOSTILE = [
    '"password":["a",', '"Cookie":[', '"authorization":["x', '"X-Api-Key":[ ', "\\", "\\\\\"",
    'password\\\\\\": \\\\\\"a', "ipmitool -P", "sshpass -v", "sshpass -p", "AIza",
    "-----BEGIN PGP PRIVATE KEY BLOCK-----", '"token": [ "a" ,', "[\"", ' "password":[" ',
    '"Cookie":["' + "a" * 600, '"token":[' + "\\" * 100, '"token":[\\"a\\\\\\"',
    '"authorization":[\\"' + "\\" * 30 + '"', '"token":["\\"a',
]  # fmt: skip


@pytest.mark.parametrize("piece", HOSTILE)
def test_a_crafted_line_is_redacted_quickly(piece: str) -> None:
    """Each start reads a bounded part of the line: a rescan per start would cost hundreds of
    times a plain line's work (measured side by side with one: a busy machine slows both)."""
    for size in (16 * 1024, 64 * 1024):
        took = ratio(repeated(piece, size))
        assert took < MOST_RATIO, f"{piece!r} x {size}: {took:.1f} x a plain line"


@pytest.mark.parametrize("item", ['"a",', '"",', '\\"a\\",'])
def test_an_array_of_many_short_items_is_redacted_quickly(item: str) -> None:
    """Each written "[REDACTED]", the items made the line four times as long for the patterns
    after the arrays' to read."""
    took = ratio('"Cookie":[' + repeated(item, 64 * 1024))
    assert took < MOST_RATIO, f"{item!r}: {took:.1f} x a plain line"


COLOURED = [
    "ERROR db login failed password=\x1b[31mHunter2pass\x1b[0m",
    "ERROR token: \x1b[1mtkn_abc123XYZ\x1b[0m rejected",
    "ERROR api_key=\x1b[33m9f8e7d6c5b4a\x1b[0m",
]
COLOURED_SECRETS = ("Hunter2pass", "tkn_abc123XYZ", "9f8e7d6c5b4a")


#: a line a progress display rewrote: an erase code ("[2K" once printable) before its value
ERASED = "ERROR retry failed password=\x1b[2KErase2pass"


class _ColouredLoki(_LokiTempo):
    """Error lines and a failed span's texts as a colouring logger writes them: an ANSI code
    before the value."""

    async def logs(self, cluster: str, query: str, **_kw: Any) -> LogResult:
        return LogResult(entries=[
            LogEntry(cluster=cluster, timestamp_ns=int((T0 + i) * 1e9), line=line)
            for i, line in enumerate([*COLOURED, ERASED])
        ])  # fmt: skip

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        trace = await super().trace(cluster, trace_id)
        [span] = trace.spans
        span = span.model_copy(update={"operation": "POST /login?token=\x1b[KErase3pass",
                                       "status_message": ERASED})  # fmt: skip
        return trace.model_copy(update={"spans": [span]})


@pytest.mark.asyncio
async def test_rca_quotes_a_coloured_line_redacted_then_printable() -> None:
    """Redacted, then made printable: cleaned first, an ANSI code's "[2K" was left before the
    value, which no pattern took for one."""
    around = LogsTracesAround(cast(Any, _ColouredLoki()), cast(Any, _Registry()))
    window = Window(T0, analysis_s=T0 + 300)
    quotes = await around.quotes([ENTITY], window)
    shown = " ".join(line for _, line in quotes[ENTITY])
    assert not [s for s in (*COLOURED_SECRETS, "Erase2pass") if s in shown], shown
    assert "\x1b" not in shown and shown.count(REDACTED) == 4
    read = await around.read(["east"], window)
    [quoted] = failing_through(read.traces, ENTITY, window.end_s)
    for text in (quoted.root, quoted.error):
        assert "Erase" not in text and "\x1b" not in text and REDACTED in text


@pytest.mark.parametrize("line", COLOURED)
def test_a_value_after_a_colour_code_is_redacted_with_or_without_its_escape(line: str) -> None:
    """A text made printable before it is redacted (analysis' quotes) keeps "[31m" of a
    colour code: the value after it is still one."""
    for text in (line, printable(line)):
        for redacted in (redact(text), redact_for_llm(text)):
            assert not [s for s in COLOURED_SECRETS if s in redacted], redacted


#: a cookie of several pairs, an SPNEGO ticket: a header's item longer than 512 characters
LONG_COOKIE = "sessionid=SeCrEt" + "x" * 300 + "; csrftoken=CsRf" + "y" * 250
TICKET = "Negotiate YIIC" + "A" * 1500


@pytest.mark.parametrize("headers", [
    {"Cookie": [LONG_COOKIE]},
    {"Authorization": [TICKET]},
    {"X-Api-Key": ["k1short", "K2" + "z" * 600]},
    {"Set-Cookie": [f"c{i}=v{i}SeCrEt" for i in range(70)]},  # more than 64 items
])  # fmt: skip
def test_a_long_item_or_many_items_are_redacted_each(headers: dict[str, list[str]]) -> None:
    """Each item written redacted, those after the array's MOST_ITEMS folded into its last."""
    [(name, items)] = headers.items()
    for text in (json.dumps({"headers": headers}, separators=(",", ":")),
                 json.dumps({"log": json.dumps({"headers": headers})})):  # fmt: skip
        sent = redact_for_llm(text)
        assert not [s for s in ("SeCrEt", "YIIC", "K2zz") if s in sent], sent[:200]
        doc = json.loads(sent)
        doc = json.loads(doc["log"]) if "log" in doc else doc
        assert doc["headers"] == {name: [REDACTED] * min(len(items), MOST_ITEMS)}


@pytest.mark.parametrize("text", [
    '{"headers":{"Cookie":["sessionid=SeCrEt123; theme=da',  # a line cut in the item
    '{"log":"{\\"headers\\":{\\"Cookie\\":[\\"sessionid=SeCrEt123; th"}',  # its JSON string's end
])  # fmt: skip
def test_an_array_opened_and_not_closed_is_redacted_to_the_end_of_its_string(text: str) -> None:
    for redacted in (redact(text), redact_for_llm(text)):
        assert "SeCrEt123" not in redacted and "th" not in redacted.rsplit(REDACTED, 1)[1]
    if text.startswith('{"log"'):
        assert json.loads(redact(text))["log"].endswith(f'["{REDACTED}')


def test_an_item_ending_in_a_backslash_ends_at_its_quote() -> None:
    text = json.dumps({"Cookie": ["path=C:\\", "sessionid=SeCrEt123"], "next": "kept"})
    for redacted in (text, json.dumps({"log": text})):
        sent = redact_for_llm(redacted)
        assert "SeCrEt123" not in sent and "kept" in sent
        doc = json.loads(sent)
        assert (json.loads(doc["log"]) if "log" in doc else doc)["Cookie"] == [REDACTED] * 2


QUOTING = json.dumps({"headers": {
    "Cookie": ['theme="dark"; sessionid=SeCrEt123'],
    "Authorization": ['Digest username="bob", nonce="n1", response="RESP6629fae4"'],
}}, separators=(",", ":"))  # fmt: skip


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_a_quote_inside_an_item_is_part_of_it_at_any_depth(depth: int) -> None:
    """JSON text inside JSON escapes an item's own quote again (``\\\\\\"``): it does not end
    the item, whose quote is ``\\"``."""
    text = QUOTING
    for _ in range(depth):
        text = json.dumps({"log": text})
    sent = redact_for_llm(text)
    assert "SeCrEt123" not in sent and "RESP6629" not in sent
    for _ in range(depth):
        sent = json.loads(sent)["log"]
    assert json.loads(sent)["headers"] == {"Cookie": [REDACTED], "Authorization": [REDACTED]}
