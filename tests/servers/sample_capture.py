"""Makes resources/samples/sample.aiops through the real path: OpenMetrics text with GPU (DCGM),
PTP (linuxptp-daemon), SR-IOV and platform series for three clusters behind one fleet hub, with
the fixtures' known incidents (an XID 79, a GPU at 84 C, remapped rows, a PTP client in
HOLDOVER then FREERUN, an offset drifting past 100 ns, VF drops) -> promtool backfill into a
real Prometheus -> the app's own poller and anomaly detection -> capture export, labelled
SAMPLE DATA.

    python -m tests.servers.sample_capture resources/samples/sample.aiops
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from aiops_desktop.models import ClusterKind, EndpointKind
from aiops_desktop.models.polling import Source
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import export_capture
from aiops_desktop.settings import resolve_paths
from tests.servers.fixtures import platform_series
from tests.servers.gpu_fleet import gpu_fleet_series
from tests.servers.prometheus import SeriesSpec, openmetrics, start_prometheus
from tests.servers.ptp_fleet import ptp_fleet_series
from tests.servers.sriov_fleet import sriov_fleet_series

HUB = "ran-hub"
STEP_S, COUNT = 15, 240 + 40  # an hour, and 10 minutes before it for rate()'s first windows
#: the XID 79 comes 10 minutes before the end (COUNT - 40): an XID held all along would read
#: as one from before the XID window; and 10 minutes after the PTP client's FREERUN, past the
#: 5 minutes an RCA window reads after it (two faults of one minute read as one cascade)
#: the platform fixture's cluster names -> the sample's (the GPU/PTP fixtures' own names)
NAMES = {"east-1": "ran-east", "west-2": "ran-west", "edge-7": "ai-lab"}
ANALYSED = (
    "node_cpu",
    "node_memory",
    "gpu_temperature",
    "gpu_xid_errors",
    "ptp_offset",
    "ptp_clock_state",
)


def sample_series() -> list[SeriesSpec]:
    series: list[SeriesSpec] = []
    for fixture_name, name in NAMES.items():
        series += [
            (m, labels | {"cluster": name}, fn) for m, labels, fn in platform_series(fixture_name)
        ]
    return series + gpu_fleet_series(xid_at=COUNT - 40) + ptp_fleet_series() + sriov_fleet_series()


async def record(core: Core, server_url: str, out: Path) -> None:
    await core.registry.add(ClusterSpec(
        name=HUB, kind=ClusterKind.FLEET, endpoint_urls={EndpointKind.PROMETHEUS: server_url},
    ))  # fmt: skip
    hub = core.registry.get(HUB)
    await core.poller.run_source(hub, Source.HEALTH)
    await core.poller.run_source(hub, Source.METRICS)
    await asyncio.wrap_future(core.series.flush())
    for member in core.series.cluster_names():
        for panel in ANALYSED:
            found = await core.anomalies.analyse_history(member, panel, since=timedelta(hours=2))
            print(f"{member} {panel}: {len(found)} anomalies")
    manifest = await export_capture(
        core, out, clusters=[HUB], since=timedelta(hours=2), label="SAMPLE DATA"
    )
    _compact(out)
    print(f"wrote {out} ({out.stat().st_size:,} bytes): {manifest.describe()}; {manifest.counts}")


def _compact(path: Path) -> None:
    """Vacuumed with 4 KiB pages: the store's 16 KiB pages suit its writes, but a capture's
    small tables leave most of theirs part-filled (the bundled sample: 1.1 MB -> about
    0.7 MB, the same content)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA page_size=4096")
        conn.execute("VACUUM")
    finally:
        conn.close()


def main(out: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="aiops-sample-") as work:
        start = int(time.time()) // STEP_S * STEP_S - COUNT * STEP_S
        server = start_prometheus(
            Path(work) / "prom", openmetrics(sample_series(), start, COUNT, STEP_S)
        )
        core = Core.open(
            resolve_paths(Path(work) / "home"), secrets=SecretStore()
        )  # nothing secret is stored
        try:
            asyncio.run(_run(core, server.url, out))
        finally:
            core.close()
            server.stop()
    return 0


async def _run(core: Core, url: str, out: Path) -> None:
    try:
        await record(core, url, out)
    finally:
        await core.supervisor.shutdown()
        await core.pool.aclose()


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "resources/samples/sample.aiops")))
