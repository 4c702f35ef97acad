"""The runbook and the XID table must not disagree on which XIDs are critical: the runbook
told the NOC to drain the node for "CRITICAL (79, 48, 94, 95)" while resources/gpu/xid.json,
which the GPU page and the fleet judge by, rates 94 (a contained ECC error) WARNING."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiops_desktop.models.gpu import GpuReading
from aiops_desktop.services.gpu_cnf.gpu import xid_table
from analysis.gpu_health import assess

RUNBOOK = Path(__file__).resolve().parents[2] / "resources" / "rca" / "runbook.json"
#: "CRITICAL (79, 48, 95)": the codes a runbook text calls critical
CRITICAL_LIST = re.compile(r"CRITICAL\s*\(([\d,\s]+)\)")


def texts(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from texts(value)


def test_every_xid_the_runbook_calls_critical_is_critical_in_the_xid_table() -> None:
    table = xid_table()
    lists = [found for text in texts(json.loads(RUNBOOK.read_text())) if "XID" in text
             for found in CRITICAL_LIST.findall(text)]  # fmt: skip
    named = [int(code) for found in lists for code in re.findall(r"\d+", found)]
    assert named, "the runbook names no critical XIDs: this test checks nothing"
    rated = {code: table[code].severity.value if code in table else "none" for code in named}
    wrong = {code: severity for code, severity in rated.items() if severity != "CRITICAL"}
    assert wrong == {}
    # and the GPU page agrees with the table, as the runbook now does
    for code in named:
        reading = GpuReading("c", "n", "0", "GPU-a", temperature_c=40, xid=code)
        assert assess(reading, table).state.value == "CRITICAL"
