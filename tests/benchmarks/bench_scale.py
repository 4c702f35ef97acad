"""Scale under load: the real window offscreen against a fleet and a big cluster, all real servers.

- One Prometheus as a fleet hub (``cluster`` label) backfilled with DCGM exporter series of
  2,000 GPUs and linuxptp-daemon series of 2,000 PTP ports across 200 clusters (site-000 ..
  site-199: 2 GPU nodes of 5 GPUs, 1 grandmaster and 9 clients each; a few hot GPUs, XIDs, ports
  in holdover or freerun). The series the app reads over an hour (GPU utilisation and
  temperature, PTP clock state and offset) hold an hour at 15 s; the others, read as instant
  values, the last 5 minutes; all of them 10 minutes ahead, so "now" stays covered while the
  benchmark runs.
- A Kubernetes API (kmock behind nginx TLS, bearer tokens: tests.servers.kube_api) holding
  20,000 pods over 100 namespaces and 200 nodes (1 % crash-looping, 1 % pending, a few nodes
  NotReady), with 50 Event objects a second created/updated (``--churn``), streamed to the
  app's events watch.
- The desktop window (DesktopApp: every presenter, the poller, discovery) on a qasync loop,
  offscreen, with the hub registered as a FLEET cluster (200 members) and the big cluster with
  its API token in a private Secret Service (gnome-keyring on its own D-Bus).

Shown in turn, each for BENCH_LAG_SECONDS (20 s by default): the fleet page, the GPU page, the
PTP page, the cluster's Kubernetes page on its Pods tab (20,000 rows) and the same page on its
Events tab (the timeline fed by the watch, redrawn twice a second). Measured: event-loop lag (a 10 ms asyncio ticker: p50/p99/max), RSS (sampled each
tick, and the kernel's high-water mark reset after set-up), how long after ``show_view`` each
page had its data on screen ("usable"), and the watch events the timeline received per second.
Targets (reported, not asserted): lag p99 < 30 ms, RSS < 600 MB.

The fleet page is already on screen when the pages begin (the window shows it when the first
cluster is added): its tiles' start-up time is reported under "startup".

Writes bench-results/scale.json and prints the figures. Overrides: BENCH_LAG_SECONDS,
BENCH_PODS, BENCH_CHURN, BENCH_CLUSTERS; BENCH_PROFILE=1 also writes a cProfile of each phase
to bench-results/scale-profile-PHASE.txt (the figures are then slower than without it).
"""

from __future__ import annotations

import asyncio
import collections
import cProfile
import json
import multiprocessing
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np

from tests.conftest import SecretService, require_binary
from tests.servers import gpu_fleet, ptp_fleet
from tests.servers.kube_api import RunningKubeApi, start_kube_api
from tests.servers.kube_objects import _namespace, _node, _pod
from tests.servers.prometheus import SeriesSpec, openmetrics, start_prometheus
from tests.servers.tls import make_pki

CLUSTERS = int(os.environ.get("BENCH_CLUSTERS", "200"))
GPU_NODES, GPUS_PER_NODE = 2, 5  # 10 GPUs per cluster
PTP_CLIENTS = 9  # and one grandmaster: 10 PTP ports per cluster
PODS = int(os.environ.get("BENCH_PODS", "20000"))
KUBE_NODES, NAMESPACES = 200, 100
CHURN = float(os.environ.get("BENCH_CHURN", "50"))
LAG_SECONDS = float(os.environ.get("BENCH_LAG_SECONDS", "20"))
USABLE_TIMEOUT_S = 90.0
STEADY_MIN_S = 5.0  # a page stays at least this long after its data is on screen
STEP_S = 15
HOUR = 240  # samples of the series read over an hour
SHORT = 21  # samples back of the series read as instant values (5 minutes: rate(...[5m]))
AHEAD = 40  # samples after now (10 minutes)
HUB, SITE = "fleet-hub", "big-site"
#: the series the app reads over the last hour (the poller's fleet panels, the PTP board's
#: compliance); every other series is read as an instant value
LONG = {
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_GPU_TEMP",
    "openshift_ptp_clock_state",
    "openshift_ptp_offset_ns",
}
TARGET_P99_MS, TARGET_RSS_MB = 30.0, 600.0
#: BENCH_PROFILE=1: cProfile each phase into bench-results/scale-profile-PHASE.txt (slower)
PROFILE = os.environ.get("BENCH_PROFILE", "") not in ("", "0")
#: BENCH_STALLS=1: sample the UI thread's stack while the loop is late (bench-results/scale-stalls.txt)
STALLS = os.environ.get("BENCH_STALLS", "") not in ("", "0")
#: BENCH_MEMORY=1: tracemalloc's 25 biggest allocation sites at the end, to
#: bench-results/scale-memory.txt (slow: the figures do not count then)
MEMORY = os.environ.get("BENCH_MEMORY", "") not in ("", "0")
PHASE = ["startup"]  # the page shown: what the stall sampler files its samples under
RESULTS = ROOT / "bench-results"


def write_profile(profile: cProfile.Profile, phase: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / f"scale-profile-{phase}.txt").open("w") as out:
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(40)


def rss_mb(field_name: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- the fleet hub's series -------------------------------------------------------------------
def site(c: int) -> str:
    return f"site-{c:03d}"


def gpu_series() -> list[SeriesSpec]:
    """tests.servers.gpu_fleet's DCGM series (names, labels, values) for this fleet's nodes,
    with a few GPUs in trouble: hot (86 C), XID 79, uncorrectable remapped rows."""
    nodes = {
        (site(c), f"gpu-{n}"): GPUS_PER_NODE for c in range(CLUSTERS) for n in range(GPU_NODES)
    }
    with mock.patch.object(gpu_fleet, "NODES", nodes):
        series = gpu_fleet.gpu_fleet_series()
    out: list[SeriesSpec] = []
    for metric, labels, value in series:
        fn = value
        c, node, gpu = int(labels["cluster"][5:]), labels["Hostname"], int(labels["gpu"])
        if metric == "DCGM_FI_DEV_GPU_TEMP" and c % 25 == 1 and node == "gpu-0" and gpu == 3:
            fn = gpu_fleet.const(86.0)
        elif metric == "DCGM_FI_DEV_XID_ERRORS" and c % 40 == 7 and node == "gpu-1" and gpu == 0:
            fn = gpu_fleet.const(79.0)
        elif (
            metric == "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS"
            and c % 50 == 9
            and node == "gpu-1"
            and gpu == 4
        ):
            fn = gpu_fleet.const(2.0)
        out.append((metric, labels, fn))
    return out


def ptp_series() -> list[SeriesSpec]:
    """tests.servers.ptp_fleet's linuxptp-daemon series (names, labels, value codes, shapes)
    for a grandmaster and clients per cluster; some clients in HOLDOVER then FREERUN, some
    drifting (the shapes of ptp_fleet's ran-east/du-2 and ran-west/du-4)."""
    out: list[SeriesSpec] = []
    for c in range(CLUSTERS):
        cluster = site(c)
        ports = [("gm-0", "ens2f0", True)] + [
            (f"du-{n}", "ens1f0", False) for n in range(PTP_CLIENTS)
        ]
        for k, (node, iface, master) in enumerate(ports):
            p = c * len(ports) + k
            lost = not master and p % 97 == 5
            drift = not master and not lost and p % 89 == 3
            shape = (
                ("ran-east", "du-2") if lost else ("ran-west", "du-4") if drift else (cluster, node)
            )
            base = {"cluster": cluster, "node": node, "process": "ptp4l"}
            port = base | {"iface": iface}
            klass = 6.0 if master else 255.0
            out += [
                ("openshift_ptp_clock_state", port, ptp_fleet.state(*shape)),
                ("openshift_ptp_offset_ns", port | {"from": "master"}, ptp_fleet.offset(*shape)),
                ("openshift_ptp_max_offset_ns", port | {"from": "master"},
                 (lambda i: 400.0) if lost or drift else (lambda i: 25.0)),
                ("openshift_ptp_delay_ns", port | {"from": "master"}, lambda i: 412.0),
                ("openshift_ptp_frequency_adjustment_ns", port | {"from": "master"}, lambda i: -1200.0),
                ("openshift_ptp_clock_class", port, ptp_fleet.clock_class(lost, klass)),
                ("openshift_ptp_interface_role", port, lambda i, m=master: 2.0 if m else 1.0),
                ("openshift_ptp_process_status", base | {"config": "ptp4l.0.config"}, lambda i: 1.0),
                ("openshift_ptp_process_restart_count", base | {"config": "ptp4l.0.config"},
                 lambda i: 0.0),
            ]  # fmt: skip
            if master:  # the T-GM's GNSS receiver (ts2phc) and DPLL
                gm = {"cluster": cluster, "node": node, "iface": iface}
                out += [
                    ("openshift_ptp_gnss_status", gm | {"process": "gnss"}, lambda i: 3.0),
                    ("openshift_ptp_phase_status", gm | {"process": "dpll"}, lambda i: 3.0),
                    ("openshift_ptp_frequency_status", gm | {"process": "dpll"}, lambda i: 2.0),
                ]  # fmt: skip
    return out


def write_openmetrics(kind: str, path: str, start_s: int) -> None:
    """One family at a time (bounded memory), without the closing ``# EOF``. Sample i of every
    series is at start_s + i * STEP_S; series read as instant values start SHORT samples
    before now instead of an hour (HOUR samples) before. Runs in a child process."""
    series = gpu_series() if kind == "gpu" else ptp_series()
    families: dict[str, list[SeriesSpec]] = {}
    for spec in series:
        families.setdefault(spec[0], []).append(spec)
    skip = HOUR - SHORT
    with open(path, "w") as out:
        for metric, specs in families.items():
            if metric in LONG:
                text = openmetrics(specs, start_s, HOUR + AHEAD, STEP_S)
            else:
                shifted = [(m, labels, lambda i, f=fn: f(i + skip)) for m, labels, fn in specs]
                text = openmetrics(shifted, start_s + skip * STEP_S, SHORT + AHEAD, STEP_S)
            out.write(text.removesuffix("# EOF\n"))


@dataclass
class Backfill:
    series: int = 0
    samples: int = 0
    generate_s: float = 0.0
    promtool_s: float = 0.0
    start_s: float = 0.0
    text_mb: float = 0.0
    processes: list[Any] = field(default_factory=list)
    started: float = 0.0


def start_generating(workdir: Path, start_s: int) -> Backfill:
    """Both families' OpenMetrics text, written by two child processes (forked before any
    thread exists) while this one starts the Kubernetes API."""
    workdir.mkdir(parents=True)
    fork = multiprocessing.get_context("fork")
    backfill = Backfill(started=time.perf_counter())
    for kind in ("gpu", "ptp"):
        proc = fork.Process(
            target=write_openmetrics, args=(kind, str(workdir / f"{kind}.om"), start_s)
        )
        proc.start()
        backfill.processes.append(proc)
    return backfill


def finish_backfill(workdir: Path, backfill: Backfill) -> Any:
    for proc in backfill.processes:
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"writing the backfill failed (exit code {proc.exitcode})")
    source = workdir / "backfill.om"
    with source.open("wb") as out:
        for kind in ("gpu", "ptp"):
            with (workdir / f"{kind}.om").open("rb") as part:
                shutil.copyfileobj(part, out, 16 << 20)
            (workdir / f"{kind}.om").unlink()
        out.write(b"# EOF\n")
    backfill.generate_s = time.perf_counter() - backfill.started
    backfill.text_mb = source.stat().st_size / 2**20
    series = len(gpu_series()) + len(ptp_series())
    long = CLUSTERS * (2 * GPU_NODES * GPUS_PER_NODE + 2 * (PTP_CLIENTS + 1))
    backfill.series = series
    backfill.samples = long * (HOUR + AHEAD) + (series - long) * (SHORT + AHEAD)
    t0 = time.perf_counter()
    data = workdir / "data"
    data.mkdir()
    done = subprocess.run(
        [require_binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(source),
         str(data)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"promtool backfill failed: {done.stderr[-2000:]}")
    source.unlink()
    backfill.promtool_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    hub = start_prometheus(workdir)  # over the blocks just written
    backfill.start_s = time.perf_counter() - t0
    return hub


# -- the big cluster --------------------------------------------------------------------------
def kube_objects() -> list[dict[str, Any]]:
    """20,000 pods over 100 namespaces and 200 nodes, built like tests.servers.kube_objects:
    1 % crash-looping (OOMKilled), 1 % pending (unschedulable), 1 in 50 nodes NotReady."""
    objects = [_namespace(f"app-{n:03d}") for n in range(NAMESPACES)] + [_namespace("churn")]
    objects += [
        _node(f"worker-{n:03d}", "worker", gpus=8 if n % 10 == 0 else 0, ready=n % 50 != 17)
        for n in range(KUBE_NODES)
    ]
    for i in range(PODS):
        pod = _pod(f"app-{i % NAMESPACES:03d}", f"svc-{i % 400:03d}-{i:05d}", app=f"svc-{i % 400}")
        pod["spec"]["nodeName"] = f"worker-{i % KUBE_NODES:03d}"
        running = {"running": {"startedAt": "2026-11-20T08:01:00Z"}}
        container = {"name": "main", "ready": True, "restartCount": i % 3, "state": running}
        pod["status"] = {"phase": "Running", "containerStatuses": [container]}
        if i % 100 == 7:
            container.update(ready=False, restartCount=20 + i % 37, state={"waiting": {
                "reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}},
                lastState={"terminated": {"exitCode": 137, "reason": "OOMKilled"}})  # fmt: skip
        elif i % 100 == 42:
            pod["spec"].pop("nodeName")
            pod["status"] = {"phase": "Pending", "conditions": [{
                "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/200 nodes are available: 200 Insufficient nvidia.com/gpu."}]}  # fmt: skip
        objects.append(pod)
    return objects


def churn_sent(kube: RunningKubeApi) -> tuple[int, float, float] | None:
    """(events sent, seconds since the churn began, at what wall time) as the API server's
    churn last reported them."""
    found = re.findall(r"churn: (\d+) sent in ([\d.]+) s at ([\d.]+)", kube.api.output())
    return (int(found[-1][0]), float(found[-1][1]), float(found[-1][2])) if found else None


# -- the window -------------------------------------------------------------------------------
class Ticker:
    """A 10 ms asyncio sleep, again and again: how late each wake-up is (the loop's lag), and
    RSS at each one."""

    def __init__(self) -> None:
        self.at: list[float] = []
        self.lag_ms: list[float] = []
        self.rss: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        if STALLS:
            self._beat = time.perf_counter()
            threading.Thread(target=self._sample_stalls, args=(threading.get_ident(),),
                             daemon=True).start()  # fmt: skip

    def _sample_stalls(self, main_id: int) -> None:
        """BENCH_STALLS=1: where the UI thread is while the loop is late (sampled every 5 ms),
        innermost frames first, written to bench-results/scale-stalls.txt."""
        seen: collections.Counter[str] = collections.Counter()
        while self._task is not None and not self._task.done():
            time.sleep(0.005)
            if time.perf_counter() - self._beat > 0.03:
                frames = sys._current_frames()
                frame = frames.get(main_id)
                stack = traceback.extract_stack(frame)[-8:] if frame else []
                seen[f"{PHASE[0]}: " + " <- ".join(f"{Path(f.filename).name}:{f.name}:{f.lineno}"
                                 for f in reversed(stack))] += 1  # fmt: skip
                for ident, other in frames.items():  # what the other threads are doing then
                    if ident in (main_id, threading.get_ident()):
                        continue
                    stack = traceback.extract_stack(other)[-4:]
                    seen[f"{PHASE[0]}:   [other] " + " <- ".join(f"{Path(f.filename).name}:{f.name}:{f.lineno}"
                                 for f in reversed(stack))] += 1  # fmt: skip
            if seen and sum(seen.values()) % 200 == 0:
                lines = [f"{n:6d} {where}" for where, n in seen.most_common(40)]
                (ROOT / "bench-results" / "scale-stalls.txt").write_text("\n".join(lines) + "\n")

    async def _run(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(0.01)
            now = self._beat = time.perf_counter()
            self.at.append(now)
            self.lag_ms.append((now - t0 - 0.01) * 1000)
            self.rss.append(rss_mb())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def figures(self, since: float, until: float | None = None) -> dict[str, float]:
        at = np.array(self.at)
        keep = (at >= since) & (at <= (until if until is not None else np.inf))
        lag, rss = np.array(self.lag_ms)[keep], np.array(self.rss)[keep]
        if lag.size == 0:
            return {"ticks": 0}
        return {
            "ticks": int(lag.size),
            "lag_p50_ms": round(float(np.percentile(lag, 50)), 2),
            "lag_p99_ms": round(float(np.percentile(lag, 99)), 2),
            "lag_max_ms": round(float(lag.max()), 1),
            "ticks_over_30ms": int((lag >= 30).sum()),
            "stalled_ms": round(float(lag[lag >= 30].sum()), 1),  # time lost in lags >= 30 ms
            "rss_peak_mb": round(float(rss.max()), 1),
        }


async def wait_for(predicate: Callable[[], bool], timeout: float) -> float | None:
    """Seconds until ``predicate`` held (checked every 50 ms), or None past ``timeout``."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if predicate():
            return time.perf_counter() - t0
        await asyncio.sleep(0.05)
    return None


def title_count(text: str, pattern: str) -> int:
    match = re.search(pattern, text)
    return int(match.group(1)) if match else 0


async def desktop_run(
    hub_url: str, kube: RunningKubeApi, home: Path, backend: Any
) -> dict[str, Any]:
    from PySide6.QtWidgets import QApplication

    from aiops_desktop.app import DesktopApp
    from aiops_desktop.logs import configure_logging
    from aiops_desktop.models import ClusterKind, EndpointKind
    from aiops_desktop.models.polling import Source
    from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
    from aiops_desktop.secrets import SecretStore
    from aiops_desktop.services.core import Core
    from aiops_desktop.settings import resolve_paths
    from ui.theme import apply_theme

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme = apply_theme(app)
    paths = resolve_paths(home)
    configure_logging(paths.ensure().log_file)
    ticker = Ticker()
    ticker.start()
    out: dict[str, Any] = {"log_file": str(paths.log_file)}
    if MEMORY:
        tracemalloc.start(8)
    t_open = time.perf_counter()
    core = Core.open(paths, secrets=SecretStore(backend)).assemble()  # as the app: qt_boot
    desktop = DesktopApp(core, theme)
    window = desktop.window
    window.resize(1600, 1000)
    window.show()
    await desktop.load()
    out["window_open_s"] = round(time.perf_counter() - t_open, 2)
    try:
        # -- start-up: both clusters registered, the hub's first poll, discovery of the site
        profile = cProfile.Profile() if PROFILE else None
        if profile is not None:
            profile.enable()
        t0 = time.perf_counter()
        await core.registry.add(
            ClusterSpec(name=HUB, kind=ClusterKind.FLEET, endpoint_urls={EndpointKind.PROMETHEUS: hub_url})
        )  # fmt: skip
        await core.registry.add(
            ClusterSpec(name=SITE, api_server_url=kube.url, ca_bundle_pem=kube.ca_pem),
            ClusterSecrets(token="admin-token"),
        )
        first = (HUB, Source.METRICS)
        fleet = window.fleet

        async def since_start(predicate: Callable[[], bool]) -> float | None:
            found = await wait_for(predicate, USABLE_TIMEOUT_S)
            return None if found is None else round(time.perf_counter() - t0, 2)

        polled = await since_start(
            lambda: first in core.poller.status and core.poller.status[first].latency_ms is not None
        )
        tiles = await since_start(
            lambda: sum(1 for t in fleet.tiles if not t.isHidden()) >= CLUSTERS
        )
        discovered = await since_start(
            lambda: (
                core.registry.get(SITE).capabilities.discovered_at is not None
                or SITE in core.discovery.failed
            )
        )
        if profile is not None:
            profile.disable()
            write_profile(profile, "startup")
        status = core.poller.status.get(first)
        out["startup"] = {
            "hub_first_poll_s": polled,
            "hub_poll_latency_ms": status.latency_ms if status else None,
            "fleet_tiles_after_s": tiles,
            "site_discovered_after_s": discovered if SITE not in core.discovery.failed else None,
            "members": len(core.live.clusters()),
            **ticker.figures(t0),
        }  # fmt: skip
        # the high-water mark from here on: the set-up (servers, backfill) is not the app's
        try:
            Path("/proc/self/clear_refs").write_text("5")
            hwm_reset = True
        except OSError:
            hwm_reset = False
        t_pages = time.perf_counter()

        async def page(
            name: str,
            view: str,
            usable: Callable[[], bool],
            watch: Callable[[], None] | None = None,
        ) -> dict[str, Any]:
            """Show ``view`` for LAG_SECONDS (and at least STEADY_MIN_S after its data is on
            screen); ``watch`` is called every 50 ms meanwhile."""
            profile = cProfile.Profile() if PROFILE else None
            if profile is not None:
                profile.enable()
            start = time.perf_counter()
            PHASE[0] = name
            window.show_view(view)

            def ready() -> bool:
                if watch is not None:
                    watch()
                return usable()

            after = await wait_for(ready, USABLE_TIMEOUT_S)
            end = start + LAG_SECONDS
            if after is not None:
                end = max(end, start + after + STEADY_MIN_S)
            while time.perf_counter() < end:
                if watch is not None:
                    watch()
                await asyncio.sleep(0.05)
            if profile is not None:
                profile.disable()
                write_profile(profile, name)
            result: dict[str, Any] = {"usable_after_s": None if after is None else round(after, 2)}
            result |= ticker.figures(start, end)
            if after is not None:
                steady = ticker.figures(start + after, end)
                result["steady"] = {k: steady[k] for k in steady if k.startswith("lag")}
            result["seconds"] = round(time.perf_counter() - start, 1)
            print(f"  {name}: usable after {result['usable_after_s']} s", flush=True)
            return result

        pages: dict[str, Any] = {}

        def fleet_rows() -> int:
            return sum(1 for t in fleet.tiles if not t.isHidden())

        pages["fleet"] = await page("fleet", "fleet", lambda: fleet_rows() >= CLUSTERS)
        pages["fleet"]["rows"] = fleet_rows()
        pages["fleet"]["summary"] = fleet.summary.text()

        gpu = window.gpu
        gpus = CLUSTERS * GPU_NODES * GPUS_PER_NODE

        def gpu_rows() -> int:
            return title_count(gpu.title.text(), r"· (\d+) GPUs")

        pages["gpu"] = await page("gpu", "gpu", lambda: gpu_rows() >= gpus)
        pages["gpu"] |= {"rows": gpu_rows(), "heatmap": f"{gpu.heatmap.rowCount()} x {gpu.heatmap.columnCount()}",
                         "problems": gpu.problems.rowCount(), "title": gpu.title.text(),
                         "error": gpu.error.text()}  # fmt: skip

        ptp = window.ptp
        ports = CLUSTERS * (PTP_CLIENTS + 1)
        pages["ptp"] = await page("ptp", "ptp", lambda: ptp.table.rowCount() >= ports)
        pages["ptp"] |= {"rows": ptp.table.rowCount(), "title": ptp.title.text(),
                         "error": ptp.error.text()}  # fmt: skip

        kube_view = window.kube
        kube_view.tabs.setCurrentWidget(kube_view.pods)
        # (when, timeline version, its rows, newest churn event seen): the churn's events carry
        # resourceVersion 1,000,000 + their sequence number
        seen: list[tuple[float, int, int, int]] = []

        def follow_timeline() -> None:
            timeline, state = core.kube.follow(SITE)  # the page's own watch (idempotent)
            text = state.resource_version or ""
            newest = max(
                int(text) - 1_000_000 if text.isdigit() else -1, seen[-1][3] if seen else -1
            )
            seen.append((time.perf_counter(), timeline.version, len(timeline.rows), newest))

        pages["kubernetes"] = await page(
            "kubernetes", f"details:{SITE}", lambda: kube_view.pods.table.rowCount() >= PODS,
            follow_timeline,
        )  # fmt: skip
        # the same page on its Events tab: the churning timeline drawn twice a second
        kube_view.tabs.setCurrentWidget(kube_view.events)
        events_from = time.perf_counter()
        pages["events"] = await page(
            "events", f"details:{SITE}", lambda: kube_view.events.table.rowCount() > 0,
            follow_timeline,
        )  # fmt: skip
        ended_at = time.time()
        sent = churn_sent(kube)
        # new events received over the second half of the page's time (the first list and
        # kmock's replay of the stored events when a watch starts are not new)
        half = [x for x in seen if x[0] >= (events_from + seen[-1][0]) / 2]
        span = half[-1][0] - half[0][0] if len(half) > 1 else 0.0
        rate = (half[-1][3] - half[0][3]) / span if span else 0.0
        listed = next((x for x in seen if x[1] > 0), None)  # the first list arrived
        applied = (
            (seen[-1][1] - listed[1]) / (seen[-1][0] - listed[0])
            if listed and seen[-1][0] > listed[0]
            else 0.0
        )
        behind = None  # events the server had made that the timeline had not seen at the end
        if sent is not None and seen:
            made = sent[0] + CHURN * (ended_at - sent[2])
            behind = max(0, round(made - 1 - seen[-1][3]))
        pages["kubernetes"] |= {
            "rows": kube_view.pods.table.rowCount(),
            "pods_tab": kube_view.tabs.tabText(1),
            "nodes_tab": kube_view.tabs.tabText(0),
            "events_tab": kube_view.tabs.tabText(2),
            "events_rows_shown": kube_view.events.table.rowCount(),  # on the Events tab
            "timeline_rows": seen[-1][2] if seen else 0,
            "timeline_events_applied": seen[-1][1] if seen else 0,
            "watch_events_per_s": round(rate, 1),
            "timeline_updates_per_s": round(applied, 1),
            "watch_behind_events": behind,
            "churn_sent_per_s": round(sent[0] / sent[1], 1) if sent and sent[1] else None,
            "status": kube_view.status.text(),
        }  # fmt: skip
        pages["events"]["rows"] = kube_view.events.table.rowCount()
        window.show_view("fleet")  # leaving the page stops its watch
        out["pages"] = pages
        out["overall"] = ticker.figures(t_pages)
        out["overall"]["rss_hwm_mb"] = round(rss_mb("VmHWM"), 1)
        out["overall"]["rss_hwm_reset_after_setup"] = hwm_reset
        if MEMORY:
            top = tracemalloc.take_snapshot().statistics("traceback")[:25]
            lines = [f"{s.size / 2**20:8.1f} MB {s.count:9d} blocks\n    " + "\n    ".join(
                s.traceback.format()[-8:]) for s in top]  # fmt: skip
            (RESULTS / "scale-memory.txt").write_text("\n".join(lines) + "\n")
    finally:
        await ticker.stop()
        await desktop.close()
    return out


def run_window(hub_url: str, kube: RunningKubeApi, home: Path, backend: Any) -> dict[str, Any]:
    import qasync
    from PySide6.QtWidgets import QApplication

    from aiops_desktop.logs import shutdown_logging

    app = QApplication.instance() or QApplication(["bench-scale"])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(desktop_run(hub_url, kube, home, backend))
    finally:
        loop.close()
        asyncio.set_event_loop(None)
        shutdown_logging()


@dataclass
class Servers:
    stops: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        for stop in reversed(self.stops):
            try:
                stop()
            except Exception as exc:  # stop the others anyway
                print(f"stopping a server failed: {exc}", file=sys.stderr)


def log_problems(log_file: Path) -> list[str]:
    """The app log's warnings and errors (message and fields), for the report."""
    if not log_file.exists():
        return []
    found = []
    for line in log_file.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("level") in ("WARNING", "ERROR", "CRITICAL"):
            extra = {k: v for k, v in record.items() if k not in ("ts", "level", "logger", "msg")}
            found.append(
                f"{record['level']} {record.get('logger')}: {record.get('msg')} {extra}"[:400]
            )
    return found


def main() -> None:
    out: dict[str, Any] = {
        "scale": {"clusters": CLUSTERS, "gpus": CLUSTERS * GPU_NODES * GPUS_PER_NODE,
                  "ptp_ports": CLUSTERS * (PTP_CLIENTS + 1), "pods": PODS, "kube_nodes": KUBE_NODES,
                  "churn_events_per_s": CHURN, "page_seconds": LAG_SECONDS, "cpus": os.cpu_count()},
        "targets": {"lag_p99_ms": TARGET_P99_MS, "rss_mb": TARGET_RSS_MB},
    }  # fmt: skip
    servers = Servers()
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        work = Path(tmp)
        try:
            start_s = int(time.time()) // STEP_S * STEP_S - HOUR * STEP_S
            backfill = start_generating(work / "hub", start_s)  # before any thread exists
            t0 = time.perf_counter()
            pki = make_pki(work / "pki")
            objects = kube_objects()
            kube = start_kube_api(work / "kube", pki, objects, churn=CHURN)
            servers.stops.append(kube.stop)
            del objects
            kube_start_s = time.perf_counter() - t0
            hub = finish_backfill(work / "hub", backfill)
            servers.stops.append(hub.stop)
            out["setup"] = {
                "hub_series": backfill.series, "hub_samples": backfill.samples,
                "backfill_text_mb": round(backfill.text_mb, 1),
                "backfill_generate_s": round(backfill.generate_s, 1),
                "backfill_promtool_s": round(backfill.promtool_s, 1),
                "prometheus_start_s": round(backfill.start_s, 1),
                "backfill_s": round(backfill.generate_s + backfill.promtool_s + backfill.start_s, 1),
                "kube_api_start_s": round(kube_start_s, 1),
            }  # fmt: skip
            print(f"set-up: {json.dumps(out['setup'])}", flush=True)
            (work / "secret-service").mkdir()
            secret_service = SecretService(work / "secret-service")
            servers.stops.append(secret_service.stop)
            os.environ["DBUS_SESSION_BUS_ADDRESS"] = secret_service.address
            out["rss_before_window_mb"] = round(rss_mb(), 1)
            out |= run_window(hub.url, kube, work / "home", secret_service.backend())
            out["app_log_problems"] = log_problems(Path(out.pop("log_file")))[-20:]
        finally:
            servers.stop()
    pages = out.get("pages", {})
    overall = out.get("overall", {})
    out["met"] = {
        "lag_p99": bool(overall.get("lag_p99_ms", np.inf) < TARGET_P99_MS),
        "lag_p99_per_page": {k: bool(v.get("lag_p99_ms", np.inf) < TARGET_P99_MS) for k, v in pages.items()},
        "rss": bool(max(overall.get("rss_peak_mb", np.inf), overall.get("rss_hwm_mb", 0)) < TARGET_RSS_MB),
        "pages_usable": {k: v.get("usable_after_s") is not None for k, v in pages.items()},
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(out, indent=2))
    report(out)


def report(out: dict[str, Any]) -> None:
    s, setup, start = out["scale"], out["setup"], out["startup"]
    print(f"scale: {s['clusters']} clusters behind one fleet hub ({s['gpus']} GPUs, {s['ptp_ports']} "
          f"PTP ports), one cluster of {s['pods']} pods on {s['kube_nodes']} nodes with "
          f"{s['churn_events_per_s']:g} events/s; {s['cpus']} CPUs")  # fmt: skip
    print(f"  hub backfill {setup['backfill_s']:.1f} s ({setup['hub_series']} series, "
          f"{setup['hub_samples'] / 1e6:.1f} M samples: text {setup['backfill_generate_s']:.1f} s, "
          f"promtool {setup['backfill_promtool_s']:.1f} s, start {setup['prometheus_start_s']:.1f} s); "
          f"Kubernetes API up in {setup['kube_api_start_s']:.1f} s")  # fmt: skip
    print(f"  start-up: hub's first poll {start['hub_first_poll_s']} s, {start['members']} members, "
          f"{s['clusters']} fleet tiles after {start['fleet_tiles_after_s']} s; lag p99 "
          f"{start.get('lag_p99_ms', float('nan')):.1f} ms, max {start.get('lag_max_ms', float('nan')):.0f} ms")  # fmt: skip
    for name, p in out["pages"].items():
        usable = (
            "NOT usable"
            if p["usable_after_s"] is None
            else f"usable after {p['usable_after_s']:.2f} s"
        )
        print(f"  {name:<10} {p.get('rows', 0):>6} rows, {usable}; lag p50 {p.get('lag_p50_ms', float('nan')):.1f} "
              f"/ p99 {p.get('lag_p99_ms', float('nan')):.1f} / max {p.get('lag_max_ms', float('nan')):.0f} ms"
              f" (target p99 < {TARGET_P99_MS:g}); loop stalled {p.get('stalled_ms', 0) / 1000:.1f} of {p['seconds']:.0f} s; "
              f"RSS peak {p.get('rss_peak_mb', float('nan')):.0f} MB")  # fmt: skip
    k, o = out["pages"].get("kubernetes", {}), out["overall"]
    print(f"  events: {k.get('watch_events_per_s')} new/s reached the timeline in the Events tab's second half "
          f"(the API server made {k.get('churn_sent_per_s')} /s; {k.get('timeline_updates_per_s')} updates/s "
          f"applied with the watch's replay); {k.get('watch_behind_events')} events behind at the end; "
          f"timeline {k.get('timeline_rows')} rows, {k.get('events_rows_shown')} shown")  # fmt: skip
    print(f"  overall: lag p50 {o['lag_p50_ms']:.1f} / p99 {o['lag_p99_ms']:.1f} / max {o['lag_max_ms']:.0f} ms "
          f"(target < {TARGET_P99_MS:g}: {'met' if out['met']['lag_p99'] else 'MISSED'}); RSS peak "
          f"{o['rss_peak_mb']:.0f} MB, high-water {o['rss_hwm_mb']:.0f} MB (target < {TARGET_RSS_MB:g}: "
          f"{'met' if out['met']['rss'] else 'MISSED'})")  # fmt: skip


if __name__ == "__main__":
    main()
