"""Loki's label names and one label's values, read for completion: at most MOST_COMPLETIONS
(100,000: the completer looks a prefix up in a sorted model), sorted, and a cut answer says
so in the log and in what it hands back (how many Loki answered, for the completion note)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from collectors.loki import MOST_COMPLETIONS, Completions, LokiClient


class _Http:
    """What BackendClient.get_json hands back: Loki's answer, decoded."""

    name = "loki"

    def __init__(self, values: list[Any]) -> None:
        self.values = values

    async def get_json(self, path: str, params: Any = None, **_: Any) -> Any:
        return {"status": "success", "data": self.values}


def _read(values: list[Any], name: str | None) -> Completions:
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
    assert MOST_COMPLETIONS == 100_000
    assert len(got) == MOST_COMPLETIONS
    assert got.answered == n  # the cut reaches the caller, not only the log
    assert got == sorted(got)
    assert set(got) <= set(values)
    said = " ".join(r.getMessage() for r in caplog.records)
    assert f"{n:,}" in said and f"{MOST_COMPLETIONS:,}" in said


def test_a_small_answer_is_whole_sorted_and_not_said(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="aiops.collectors.loki"):
        got = _read(["shop", "Auth", 7, "billing"], "k8s_namespace_name")
    assert got == ["7", "Auth", "billing", "shop"]
    assert got.answered == 4
    assert not caplog.records


def test_values_past_the_old_ten_thousand_are_offered() -> None:
    """A busy label, answered sorted (as Loki does): cut at the first 10,000, the values later
    in the alphabet could never be completed ('checkout-': 5,000 existed, none offered)."""
    pods = sorted(
        [f"build-job-{i:05d}" for i in range(20_000)]
        + [f"checkout-{i:04d}" for i in range(5_000)]
        + [f"web-{i:04d}" for i in range(5_000)]
    )
    got = _read(pods, "k8s_pod_name")
    assert got == pods and got.answered == len(pods) == 30_000
    for prefix in ("build-job-", "checkout-", "web-"):
        assert sum(p.startswith(prefix) for p in got) == sum(p.startswith(prefix) for p in pods)
