"""RCA's logs and traces reads say what they could not read (``TopologyRead.unread``), in a
failing server's own words: a gateway that echoes its request quotes the Authorization header.
Those words reach the RCA page, `rca`'s stderr, `rca --json` and the incident report, so they
are redacted as every other kept error is."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.errors import AppError
from aiops_desktop.models.observability import TraceSummary
from aiops_desktop.services.intelligence.rca_logs_traces import LogsTracesAround
from analysis.rca.model import Window
from collectors.http import upstream_error

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC).timestamp()
BEARER = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJub2MifQ.c2lnbmF0dXJlLXNlY3JldA"


def _refusal(cluster: str) -> AppError:
    """A gateway's 500 that echoes what it was sent, read as the HTTP client reads a body
    (an AppError, not a collector's, which redacts its own message)."""
    body = b'{"error": "upstream auth failed for Authorization: Bearer ' + BEARER.encode() + b'"}'
    return AppError(f"{cluster}/loki (https://gw.east) failed (HTTP 500): {upstream_error(body)}")


class _EchoesEverything:
    """A gateway in front of Loki and Tempo that refuses every read, quoting its request."""

    async def counts(self, cluster: str, *_a: Any, **_kw: Any) -> list[Any]:
        raise _refusal(cluster)

    async def logs(self, cluster: str, *_a: Any, **_kw: Any) -> Any:
        raise _refusal(cluster)

    async def traces(self, cluster: str, **_kw: Any) -> list[Any]:
        raise _refusal(cluster)

    async def trace(self, cluster: str, trace_id: str) -> Any:
        raise _refusal(cluster)


class _EchoesTheSecondReads(_EchoesEverything):
    """As ``_EchoesEverything``, but the counts and trace searches are answered: the error
    lines and each trace opened are refused."""

    async def counts(self, cluster: str, *_a: Any, **_kw: Any) -> list[Any]:
        return []

    async def traces(self, cluster: str, **kw: Any) -> list[Any]:
        return [TraceSummary(trace_id=f"{int(T0):032x}", root_service="front", root_name="op",
                             start_ns=int(T0 * 1e9), duration_ms=900.0,
                             cluster=cluster)]  # fmt: skip


class _Registry:
    def get(self, name: str) -> Any:
        class Spec:
            def endpoint(self, kind: EndpointKind) -> str:
                return "https://gw.east"

        return Spec()


@pytest.mark.asyncio
@pytest.mark.parametrize("logs", [_EchoesEverything, _EchoesTheSecondReads])
async def test_a_refusal_quoting_a_bearer_token_is_redacted_in_unread(logs: type) -> None:
    around = LogsTracesAround(cast(Any, logs()), cast(Any, _Registry()))
    read = await around.read(["east"], Window(T0, analysis_s=T0 + 300))
    said = {u.split(":")[0] for u in read.unread}
    assert said >= ({"east logs", "east traces"} if logs is _EchoesEverything
                    else {"east error lines", "east traces"})  # fmt: skip
    assert "east traces' call times" in said
    assert not [u for u in read.unread if BEARER in u or BEARER[:20] in u]
    assert all("upstream auth failed" in u for u in read.unread if "HTTP 500" in u)
