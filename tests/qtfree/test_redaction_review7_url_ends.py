"""A URL's password is hidden where prose follows its host (found in review of the MCP tools:
a Thanos store's address in a partial-response warning went to the model in clear)."""

from __future__ import annotations

import pytest

from aiops_desktop.logs import redact
from collectors.llm_redaction import redact_for_llm

PASSWORD = "Th4nos-St0re-pw"


@pytest.mark.parametrize(
    "line",
    [
        f"partial response: store https://thanos:{PASSWORD}@store-gw:10901) unreachable",
        f"stores (https://thanos:{PASSWORD}@store-gw:10901), data may be missing",
        f"tried https://thanos:{PASSWORD}@store-gw:10901, https://b:{PASSWORD}@b; both down",
        f"see <https://thanos:{PASSWORD}@store-gw> and [it](https://u:{PASSWORD}@h:1)",
    ],
)
def test_a_url_password_before_prose_is_hidden(line: str) -> None:
    for redacted in (redact(line), redact_for_llm(line)):
        assert PASSWORD not in redacted and "[REDACTED]@" in redacted


def test_an_at_in_a_query_after_a_port_is_still_no_password() -> None:
    line = "GET http://prom:9090/api/v1/query?query=up@1700000000), took 2 s"
    assert redact(line) == line
