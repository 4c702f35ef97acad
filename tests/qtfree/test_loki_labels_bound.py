"""Loki's label names and one label's values, read for completion: at most MOST_COMPLETIONS
(as Tempo's tags, MOST_TAGS), sorted, and a cut answer says so in the log."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from collectors.loki import MOST_COMPLETIONS, LokiClient


class _Http:
    """What BackendClient.get_json hands back: Loki's answer, decoded."""

    name = "loki"

    def __init__(self, values: list[Any]) -> None:
        self.values = values

    async def get_json(self, path: str, params: Any = None, **_: Any) -> Any:
        return {"status": "success", "data": self.values}


def _read(values: list[Any], name: str | None) -> list[str]:
    client = LokiClient(_Http(values), "c")  # type: ignore[arg-type]
    return asyncio.run(client.labels() if name is None else client.label_values(name))


@pytest.mark.parametrize("name", [None, "k8s_pod_name"])
def test_a_huge_answer_is_cut_to_the_most_sorted_and_said(
    name: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    n = MOST_COMPLETIONS * 3
    values = [f"pod-{i:07d}" for i in reversed(range(n))]  # the newest first: not sorted
    with caplog.at_level(logging.INFO, logger="aiops.collectors.loki"):
        got = _read(values, name)
    assert MOST_COMPLETIONS == 10_000
    assert len(got) == MOST_COMPLETIONS
    assert got == sorted(got)
    assert set(got) <= set(values)
    said = " ".join(r.getMessage() for r in caplog.records)
    assert f"{n:,}" in said and f"{MOST_COMPLETIONS:,}" in said


def test_a_small_answer_is_whole_sorted_and_not_said(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="aiops.collectors.loki"):
        got = _read(["shop", "Auth", 7, "billing"], "k8s_namespace_name")
    assert got == ["7", "Auth", "billing", "shop"]
    assert not caplog.records
