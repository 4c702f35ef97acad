"""`aiops-desktop incidents` says why an incident is open again and how many the store holds
but does not list (both were said nowhere)."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from aiops_desktop.cli import incidents as cli
from aiops_desktop.cli.args import Io
from aiops_desktop.models.enums import FindingSeverity
from aiops_desktop.models.incidents import Incident

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Incidents:
    left_out = 4

    async def listed(self) -> list[Incident]:
        because = (
            "open again: CRITICAL ran-east: gpu-1/gpu3: XID 79 began after the acknowledgement"
        )
        return [Incident(id="inc-1", title="ran-east: GPU hot", severity=FindingSeverity.CRITICAL,
                         opened_at=T0, updated_at=T0, reopened_at=T0,
                         reopened_because=because)]  # fmt: skip


@pytest.mark.asyncio
async def test_the_list_says_why_open_again_and_what_it_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def whole(_core: object, _io: object) -> bool:
        return True

    monkeypatch.setattr(cli, "_regroup", whole)
    said = Io(out=io.StringIO(), stdin=io.StringIO(), err=io.StringIO())
    core = SimpleNamespace(incidents=Incidents(), capture=None)
    args = argparse.Namespace(ack=None, json=False)
    assert await cli._incidents(core, args, said) == 0  # type: ignore[arg-type]
    out = said.out.getvalue()  # type: ignore[attr-defined]
    assert "    open again: CRITICAL ran-east: gpu-1/gpu3: XID 79 began after" in out
    assert said.err.getvalue() == "4 less pressing incidents not listed\n"  # type: ignore[attr-defined]
