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
from collectors.http import BackendClient

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
