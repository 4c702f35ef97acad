"""A server's names are text, never lines of their own: a metric or label name holding a line
break (Prometheus 3 takes any UTF-8 name) prints escaped in `query` and `analyse`, and what an
API server says of itself and of the user (`clusters validate`) is kept as one printable line,
so no "VALID - all checks passed" can be forged under a real verdict."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aiops_desktop.cli import clusters as cli_clusters
from aiops_desktop.cli.args import Io, Printable
from aiops_desktop.models import Cluster
from aiops_desktop.models.enums import ValidationOutcome
from aiops_desktop.models.text import labels_text, one_line, printable
from aiops_desktop.services.kube import validation
from aiops_desktop.services.kube.validation import (
    ACCESS_REVIEW,
    RULES_REVIEW,
    SELF_SUBJECT_REVIEW,
    ValidationResult,
)
from collectors.errors import CollectorAuthError, KubeConfigInvalid
from tests.qtfree.cli_runner import call_main
from tests.qtfree.test_kube_inventory_validation_shapes import ALL_RULES, ALLOWED, FakeClient, check
from tests.servers.faults import FaultServer

#: names that would read as a row of the `query` table if printed as they are
FORGED_NAME = "up\nhub-1                     1              1  all_good{}"
FORGED_KEY = "job\r\nFORGED LINE"
#: every way a line can be broken, and controls a terminal acts on
BREAKS = "\n\r\v\f\x85\u2028\u2029\x1b\t"


def test_a_name_or_key_holding_a_line_break_is_escaped_as_a_value_is() -> None:
    text = labels_text({"__name__": FORGED_NAME, FORGED_KEY: "x", "pod": f"a{BREAKS}b"})
    assert text.isprintable() and one_line(text) == text, text
    assert text == FORGED_NAME.replace("\n", "\\n") + (
        '{job\\r\\nFORGED LINE="x", pod="a\\n\\r\\u000b\\u000c\\u0085\\u2028\\u2029\\u001b\\tb"}'
    )
    assert labels_text({"__name__": 'a"b\\c'}) == 'a\\"b\\\\c'  # escaped, as a value is
    assert labels_text({"__name__": "up", "job": "node"}) == 'up{job="node"}'  # as before


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[FaultServer]:
    vector = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"__name__": FORGED_NAME, "instance": "a"}, "value": [1764800000, "1"]},
        {"metric": {FORGED_KEY: "x", "instance": "b"}, "value": [1764800000, "1"]}]}}  # fmt: skip
    server = FaultServer("answer", workdir=tmp_path, wrong_shape=json.dumps(vector).encode())
    yield server
    server.stop()


def test_query_prints_one_row_per_series_whatever_its_names(
    tmp_path: Path, prometheus: FaultServer
) -> None:
    home = tmp_path / "home"
    assert call_main(home, "clusters", "add", "hub-1", "--prometheus-url", prometheus.url)[0] == 0
    code, out, err = call_main(home, "query", "up")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3, out  # the header and two series: no row of the server's own
    assert all(line.startswith(("CLUSTER", "hub-1 ")) for line in lines), out
    assert "FORGED LINE" in lines[2] and "all_good" in lines[1]


#: what a hostile (or intercepted) API server says of itself and of the user
HOSTILE_VERSION = {"gitVersion": "v1.29.0\n  reads    41 of 41 the app uses",
                   "platform": "linux/amd64\u2028FORGED"}  # fmt: skip
HOSTILE_WHO = {"username": "system:anonymous\nprod-a: VALID - all checks passed",
               "groups": ["ops\r\nFORGED", "system:authenticated"]}  # fmt: skip


@pytest.mark.asyncio
async def test_what_an_api_server_says_is_kept_as_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = FakeClient({SELF_SUBJECT_REVIEW: {"status": {"userInfo": HOSTILE_WHO}},
                         RULES_REVIEW: ALL_RULES, ACCESS_REVIEW: ALLOWED},
                        version=HOSTILE_VERSION)  # fmt: skip
    result = await check(monkeypatch, client)
    assert result.outcome is ValidationOutcome.VALID
    said = [result.version, result.platform, result.user, *result.groups, result.reason]
    for text in said:
        assert text is not None and one_line(text) == text, text
    assert result.user == "system:anonymous prod-a: VALID - all checks passed"
    assert result.groups == ["ops FORGED", "system:authenticated"]

    out = io.StringIO()
    asked = argparse.Namespace(name="prod-a", json=False)
    printed = Io(Printable(out), io.StringIO(), Printable(io.StringIO()))
    await cli_clusters._validate(_core_answering(result), asked, printed)
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["prod-a:", "server", "version", "user",
                                                   "reads"], lines  # fmt: skip
    assert printable(out.getvalue()) == out.getvalue()


def _core_answering(result: ValidationResult) -> Any:
    async def validate(_name: str) -> ValidationResult:
        return result

    return SimpleNamespace(
        registry=SimpleNamespace(get=lambda name: SimpleNamespace(name=name)),
        kube=SimpleNamespace(validate=validate),
    )


class FailingClient(FakeClient):
    async def get(self, path: str, query: object = None) -> object:
        raise CollectorAuthError("prod-a: refused\nprod-a: valid - all checks passed")


@pytest.mark.asyncio
async def test_an_error_s_words_are_one_line_in_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The words of an exec plugin (its stderr, an identity provider's error it passes on) or
    of a failed call become the reason, printed on the verdict's line: one line too."""
    refused = await check(monkeypatch, FailingClient({}))
    assert refused.outcome is ValidationOutcome.INVALID
    assert refused.reason == (
        "the API server refused the credential (prod-a: refused prod-a: valid - all checks passed)"
    )

    async def plugin_failed(*_args: object, **_kwargs: object) -> FakeClient:
        raise KubeConfigInvalid("kubeconfig cannot be used: exec: process returned 1. "
                                "error: login\r\nprod-a: valid - all checks passed")  # fmt: skip

    monkeypatch.setattr(validation.KubeClient, "open", plugin_failed)
    cluster = Cluster(name="prod-a", api_server_url="https://api.prod-a.example:6443")
    failed = await validation.validate(cluster, None)  # type: ignore[arg-type]
    assert failed.outcome is ValidationOutcome.INVALID
    assert one_line(failed.reason) == failed.reason and "login prod-a: valid" in failed.reason
