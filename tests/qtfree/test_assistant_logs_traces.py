"""The assistant's logs and traces tools over a cluster whose Loki and Tempo are the stand-in
(the Train Ticket day): the error lines of the injected fault's pod in a window the model
names, its failing traces, and one trace's errors, calls and waterfall, bounded."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from aiops_desktop.services.assistant.toolbox import ToolBox
from aiops_desktop.services.assistant.tools import LINE_CHARS, all_tools
from aiops_desktop.services.core import Core

pytestmark = pytest.mark.integration
POD = "ts-contacts-service-866bd68c97-xcqfx"


@pytest_asyncio.fixture
async def box(lab_core: Core) -> AsyncIterator[ToolBox]:
    yield ToolBox(lab_core, all_tools())


async def call(box: ToolBox, name: str, arguments: dict[str, Any]) -> Any:
    out = await box.call(name, json.dumps(arguments))
    assert not out.is_error, out.content
    return json.loads(out.content)["result"]


@pytest.mark.asyncio
async def test_the_error_lines_and_failing_traces_of_a_faulty_pod(box: ToolBox) -> None:
    logs = await call(box, "query_logs", {
        "logql": f'{{k8s_pod_name="{POD}"}} |= "ERROR"', "until": "2023-01-29T08:48:04Z",
        "since_minutes": 5, "limit": 20,
    })  # fmt: skip
    assert len(logs["lines"]) == 20 and logs["more"] is True and logs["unread"] == []
    assert all(x["level"] == "error" and x["pod"] == POD for x in logs["lines"])
    assert all(len(x["line"]) <= LINE_CHARS for x in logs["lines"])
    found = await call(box, "search_traces", {
        "service": "ts-contacts-service", "errors_only": True, "until": "2023-01-29T08:48:04Z",
        "since_minutes": 5, "limit": 3,
    })  # fmt: skip
    assert 1 <= len(found["traces"]) <= 3
    trace = await call(box, "get_trace", {"trace_id": found["traces"][0]["trace_id"]})
    assert trace["cluster"] == "lab" and "ts-contacts-service" in trace["services"]
    assert any(e["service"] == "ts-contacts-service" for e in trace["errors"])
    assert any(c["to"] == "ts-contacts-service" and c["failed"] for c in trace["calls"])
    assert trace["waterfall"][0]["depth"] == 0 and len(trace["waterfall"]) <= 60


@pytest.mark.asyncio
async def test_a_bad_query_and_an_unknown_trace_are_said(box: ToolBox) -> None:
    said = await call(box, "query_logs", {"logql": '{k8s_pod_name="x"'})
    # one cluster could not answer: said in unread, not a failure of the tool
    assert said["lines"] == [] and "parse error" in said["unread"][0]
    missing = await box.call("get_trace", json.dumps({"trace_id": "0" * 31 + "1"}))
    assert missing.is_error and "no cluster has trace" in missing.content
