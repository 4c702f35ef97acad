"""The fault matrix as the window lives it: every cluster's Prometheus, Alertmanager, Loki
and Tempo is one of the matrix's faulty servers (refused, hanging, dripping, huge, reset...)
and two Kubernetes APIs drip and hang, while the poller runs fast and every page is shown in
turn (each built once before the measure). The UI loop stays responsive: its lag is measured
(a 10 ms ticker) and written to test-artifacts/fault_lag.json; the bound asserted here is a
hang detector (a blocked loop shows the faults' seconds), the 30 ms target belongs to
`make bench`."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from aiops_desktop.app import DesktopApp
from aiops_desktop.models import EndpointKind
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.core import Core
from aiops_desktop.services.polling.poller import PollerSettings
from aiops_desktop.settings import resolve_paths
from collectors.http import HttpPolicy
from tests.conftest import ROOT
from tests.servers.faults import FAULTS, FaultProcess
from tests.ui.conftest import run_coro
from ui.pages import PAGES

pytestmark = pytest.mark.integration
MEASURE_S = 12.0
HANG_BOUND_MS = 250.0  # a loop that waited on any fault would show its 2-10 s


@pytest.fixture
def faulty(tmp_path: Path) -> Iterator[FaultProcess]:
    """The servers run in their own process: in this one, their threads (a drip byte, a TLS
    handshake, a huge body's blocks) would take the GIL from the loop this test times."""
    wanted = {f: (f, False) for f in FAULTS}
    wanted |= {f"kube-{f}": (f, True) for f in ("drip", "accept-and-hang")}
    servers = FaultProcess(wanted, workdir=tmp_path / "faults")
    yield servers
    servers.stop()


async def _show_each(window: object, names: list[str], dwell_s: float) -> None:
    """Every page once, whatever building it takes (a page skipped here, because the pages
    before it took their turns' time, was built in the measured pass: its charts, 0.7 s)."""
    for name in names:
        window.show_view(name)  # type: ignore[attr-defined]
        await asyncio.sleep(dwell_s)


async def _lag_while_paging(window: object, names: list[str], seconds: float) -> list[float]:
    lags: list[float] = []
    end = time.monotonic() + seconds
    turn = seconds / len(names)
    shown = -1
    while time.monotonic() < end:
        page = int((seconds - (end - time.monotonic())) // turn)
        if page != shown and page < len(names):
            shown = page
            window.show_view(names[page])  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(time.perf_counter() - t0 - 0.01)
    return lags


def test_the_window_stays_responsive_under_every_fault(
    qtbot: QtBot,
    qloop,  # type: ignore[no-untyped-def]
    theme,  # type: ignore[no-untyped-def]
    secret_service,  # type: ignore[no-untyped-def]
    faulty: FaultProcess,
    tmp_path: Path,
) -> None:
    core = Core.open(
        resolve_paths(tmp_path / "home"),
        secrets=SecretStore(secret_service.backend()),
        poller_settings=PollerSettings(speed=0.05, timeout_s=2.0),
        http_policy=HttpPolicy(connect_timeout_s=1, read_timeout_s=2, retries=0,
                               max_response_bytes=2**20),
    )  # fmt: skip
    kinds = (EndpointKind.PROMETHEUS, EndpointKind.ALERTMANAGER, EndpointKind.LOKI,
             EndpointKind.TEMPO)  # fmt: skip
    for i, fault in enumerate(FAULTS):
        url = faulty.urls[fault]
        run_coro(qtbot, core.registry.add(
            ClusterSpec(name=f"fault-{i:02d}", endpoint_urls=dict.fromkeys(kinds, url))
        ))  # fmt: skip
    for name in ("kube-drip", "kube-accept-and-hang"):
        cert = faulty.certs[name]
        assert cert is not None
        spec = ClusterSpec(
            name=name, api_server_url=faulty.urls[name], ca_bundle_pem=cert.read_text()
        )
        run_coro(qtbot, core.registry.add(spec, ClusterSecrets(token="a-token-9f1")))
    app = DesktopApp(core, theme)
    app.window.resize(1280, 800)
    app.window.show()
    run_coro(qtbot, app.load())
    try:
        names = [p.key for p in PAGES] + ["details:kube-drip", "cluster:fault-04", "fleet"]
        # each page once first: building a page (its imports, its charts) is measured by
        # the start-up benchmark; this measures the loop while the faults go on
        run_coro(qtbot, _show_each(app.window, names, 0.3), timeout=60)
        lags = run_coro(
            qtbot, _lag_while_paging(app.window, names, MEASURE_S), timeout=MEASURE_S + 30
        )
        statuses = dict(core.poller.status)
    finally:
        run_coro(qtbot, app.close(), timeout=60)
    lag_ms = np.array(lags) * 1000
    figures = {"seconds": MEASURE_S, "ticks": int(lag_ms.size), "pages": names,
               "faulty_servers": len(faulty.urls), "p50_ms": float(np.percentile(lag_ms, 50)),
               "p99_ms": float(np.percentile(lag_ms, 99)), "max_ms": float(lag_ms.max()),
               "polls": sum(s.polls for s in statuses.values()),
               "failed_polls": sum(s.total_errors for s in statuses.values())}  # fmt: skip
    out = ROOT / "test-artifacts" / "fault_lag.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))
    print(f"UI loop under every fault: {figures}")
    assert figures["polls"] > len(FAULTS) and figures["failed_polls"] > len(FAULTS)
    assert figures["p99_ms"] < HANG_BOUND_MS, figures
