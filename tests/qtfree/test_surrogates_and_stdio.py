"""A lone UTF-16 surrogate in a server's JSON, a failed alert-history write, and a stdout that
is not UTF-8: each crashed a command or lost its data silently."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from aiops_desktop.models import AlertSeverity
from aiops_desktop.models.alerts import Alert
from aiops_desktop.settings import resources_dir
from aiops_desktop.store.alert_events import AlertEventRepository
from aiops_desktop.store.database import Database
from collectors.errors import CollectorBadResponse
from collectors.http import BackendClient
from collectors.loki_tail import parse_frame
from collectors.shapes import document_without_surrogates

NOW = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
#: half an emoji, as Prometheus or Alertmanager may send it: an escape ...
ESCAPED = (
    b'{"status": "success", "data": {"result": [{"metric": {"pod": "half \\ud83d emoji", '
    b'"\\udc00key": "x"}, "value": [1, "2"]}]}}'
)
#: ... or its raw bytes, which json.loads reads with surrogatepass
RAW = '{"summary": "half \ud83d here"}'.encode("utf-8", "surrogatepass")


@pytest.mark.asyncio
@pytest.mark.parametrize("text_backend", [False, True])
@pytest.mark.parametrize("body", [ESCAPED, RAW], ids=["escaped", "raw"])
async def test_a_lone_surrogate_in_a_servers_json_is_read_as_a_replacement_character(
    body: bytes, text_backend: bool
) -> None:
    backend = BackendClient(
        "https://thanos.prod-east.example", name="prod-east/prometheus",
        transport=httpx.MockTransport(lambda _request: httpx.Response(200, content=body)),
        text_backend=text_backend,
    )  # fmt: skip
    try:
        document = await backend.get_json("/api/v1/query", {"query": "up"})
    finally:
        await backend.aclose()
    written = repr(document)
    # nothing left that UTF-8 cannot encode (a report, the cache, stdout)
    str(document).encode("utf-8")
    assert "\ufffd" in written
    if body is ESCAPED:
        metric = document["data"]["result"][0]["metric"]
        assert metric == {"pod": "half \ufffd emoji", "\ufffdkey": "x"}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("text", "read"),
    [(b'"\\ud83d\\ude00"', "\U0001f600"), (b'"half \\ud83d"', "half \ufffd")],
    ids=["escaped-pair", "lone"],
)
async def test_an_answer_nested_deep_with_a_surrogate_escape_is_read(
    text: bytes, read: str
) -> None:
    # json.loads reads 600 levels; the walk that replaces lone surrogates must too (a
    # recursive one ran out of stack, and RecursionError escaped the client)
    depth = 600
    body = b'{"status": "success", "data": ' + b"[" * depth + text + b"]" * depth + b"}"
    backend = BackendClient(
        "https://thanos.prod-east.example", name="prod-east/prometheus",
        transport=httpx.MockTransport(lambda _request: httpx.Response(200, content=body)),
    )  # fmt: skip
    try:
        document = await backend.get_json("/api/v1/query", {"query": "up"})
    except CollectorBadResponse:  # (a clear refusal would do; a crash would not)
        pytest.fail("an answer json.loads reads was refused")
    finally:
        await backend.aclose()
    data = document["data"]
    for _ in range(depth):
        assert isinstance(data, list) and len(data) == 1
        data = data[0]
    assert data == read


def test_a_document_without_surrogates_keeps_its_shape_and_order() -> None:
    # (two keys that are the same once replaced: the last value, in the first's place)
    document = dict(
        [
            ("b", [1, "x\udc00", {"\ud83dk": None, "k": [True, 2.5]}, []]),
            ("a", {}),
            ("\ud800", "first"),
            ("\udbff", "second"),
        ]
    )
    cleaned = document_without_surrogates(document)
    assert cleaned == {
        "b": [1, "x\ufffd", {"\ufffdk": None, "k": [True, 2.5]}, []],
        "a": {},
        "\ufffd": "second",
    }
    assert list(cleaned) == ["b", "a", "\ufffd"]
    assert list(cleaned["b"][2]) == ["\ufffdk", "k"]
    assert document_without_surrogates("half \ud83d") == "half \ufffd"
    assert document_without_surrogates(7) == 7


@pytest.mark.parametrize("as_bytes", [False, True], ids=["text", "binary"])
def test_a_lone_surrogate_in_a_tail_frame_is_read_as_a_replacement_character(
    as_bytes: bool,
) -> None:
    frame = (
        '{"streams": [{"stream": {"app": "web", "\\udc00pod": "a"}, '
        '"values": [["1700000000000000000", "half \\ud83d emoji"]]}]}'
    )
    entry = parse_frame(frame.encode() if as_bytes else frame, "prod-east").entries[0]
    assert entry.line == "half \ufffd emoji"
    assert entry.labels["\ufffdpod"] == "a"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "cache.sqlite3")
    yield database
    database.close()


def test_a_failed_alert_history_write_is_logged(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    # a summary the cache cannot take (as one straight from a server was): the poller does
    # not wait on the write, so only the log can say the history lost this poll
    firing = Alert(fingerprint="abc123", cluster="sur", name="GPUHot",
                   severity=AlertSeverity.CRITICAL, starts_at=NOW,
                   annotations={"summary": "half emoji \ud83d here"})  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="aiops.store"):
        written: Future[None] = AlertEventRepository(db).record("sur", [firing], NOW)
        with pytest.raises(UnicodeEncodeError):
            written.result(timeout=10)
        # the callback runs on the writer thread, just after the future is done
        deadline = time.monotonic() + 10
        while "could not be written" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
    assert "the alert history of sur could not be written" in caplog.text


def test_the_cli_completes_on_a_stdout_that_is_not_utf8(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "AIOPS_DESKTOP_HOME": str(tmp_path)}
    sample = resources_dir() / "samples" / "sample.aiops"
    done = subprocess.run(
        [sys.executable, "-m", "aiops_desktop", "--capture", str(sample), "fleet"],
        capture_output=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert b"UnicodeEncodeError" not in done.stderr, done.stderr[-2000:]
    assert done.returncode in (0, 3), done.stderr[-2000:]
    said = done.stdout.decode("ascii")  # the glyphs degrade to '?', the lines all there
    assert "?" in said and len(said.splitlines()) > 3


@pytest.mark.parametrize(
    ("flags", "locale"), [(["-X", "utf8"], None), ([], "C")], ids=["utf8-mode", "c-locale"]
)
def test_the_cli_writes_a_lone_surrogate_on_a_utf8_mode_stdout(
    flags: list[str], locale: str | None
) -> None:
    # UTF-8 mode (-X utf8, or a C locale coerced to UTF-8) gives stdout surrogateescape,
    # which still refuses a surrogate it did not make: `logs tail` ended at such a line
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONIOENCODING", "PYTHONUTF8")}
    if locale is not None:
        env.update(LC_ALL=locale, LANG=locale)
    program = (
        "import sys\n"
        "from aiops_desktop.cli.args import Printable, tolerant_stdio\n"
        "tolerant_stdio()\n"
        "Printable(sys.stdout).write('half \\ud83d emoji\\n')\n"
        "print('after')\n"
    )
    done = subprocess.run(
        [sys.executable, *flags, "-c", program],
        capture_output=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.decode("utf-8").splitlines() == ["half ? emoji", "after"]
