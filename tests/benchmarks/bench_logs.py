"""Logs at volume (`make bench-logs`): the Logs page's live tail and a million fetched lines,
on the window's qasync loop, against the Loki stand-in serving the whole Train Ticket day
(172,805 lines; tests/servers/loki_tempo_server.py).

- Tail: the page's presenter and view (as shipped: at most 500 lines/s shown) tail the day
  from its start while the server sends 500, 2,000, 5,000 and 10,000 lines/s and then as fast
  as it can, TAIL_S seconds each. Measured: lines/s received and parsed, lines/s shown, the
  loop's lag (a 10 ms ticker: p50/p99/max).
- Both run as the app runs: Python's collector on the UI thread with what start-up made
  frozen (``ui/gc_guard.py``).
- Fetch: the page's query path (paged reads of 5,000 lines, at most 50,000 a read, each
  answer handed to the view, which keeps 5,000) over the day hour by hour until 1,000,000
  lines were fetched. Measured: lines/s, RSS peak (and growth), the loop's lag.

Targets (reported, not asserted): lag p99 < 30 ms; RSS bounded (the page holds 5,000 lines).
Figures: bench-results/logs.json."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.bench_scale import Ticker, rss_mb
from tests.servers.loki_tempo import DAY, SERVER_SCRIPT
from tests.servers.processes import ServerProcess, free_port

RESULTS = ROOT / "bench-results"
TAIL_S = 8.0
TAIL_RATES = (500, 2000, 5000, 10_000, 0)  # 0: flat out
FETCH_LINES = 1_000_000
DAY_START = datetime(2023, 1, 29, 8, 40, tzinfo=UTC)
DAY_END = datetime(2023, 1, 29, 10, 10, tzinfo=UTC)
QUERY = '{k8s_namespace_name="train-ticket"}'


async def run(url: str, home: Path) -> dict[str, Any]:
    from PySide6.QtWidgets import QApplication

    from aiops_desktop.models import EndpointKind
    from aiops_desktop.models.registry import ClusterSpec
    from aiops_desktop.models.time_range import TimeRange
    from aiops_desktop.secrets import SecretStore
    from aiops_desktop.services.core import Core
    from aiops_desktop.settings import resolve_paths
    from ui.gc_guard import MainThreadGarbageCollector
    from ui.presenters.logs_traces import LogRequest, LogsPresenter
    from ui.theme import apply_theme
    from ui.views.logs_view import LogsView

    theme = apply_theme(QApplication.instance())  # type: ignore[arg-type]
    gc_guard = MainThreadGarbageCollector()  # as the app runs: collected on the UI thread
    gc_guard.start()
    core = Core.open(resolve_paths(home), secrets=SecretStore())
    await core.registry.add(ClusterSpec(name="lab", endpoint_urls={EndpointKind.LOKI: url}))
    presenter = LogsPresenter(logs=core.logs_traces, registry=core.registry, tasks=core.supervisor)
    view = LogsView(theme)
    view.resize(1280, 800)
    view.show()
    presenter.sig_lines.connect(view.show_lines)
    presenter.sig_tail_lines.connect(view.show_tail_lines)
    presenter.sig_tail_state.connect(view.show_tail_state)
    gc_guard.freeze()  # as the app does once it has loaded
    ticker = Ticker()
    ticker.start()
    out: dict[str, Any] = {"tail": {}, "lines_in_day": None}
    try:
        await asyncio.sleep(1.0)
        for rate in TAIL_RATES:  # lines/s the server sends: 20 frames a second, or flat out
            per_frame, interval = (max(1, rate // 20), 0.05) if rate else (500, 0.0)
            httpx.post(f"{url}/__tail_pace", params={"per_frame": per_frame,
                                                     "interval_s": interval})  # fmt: skip
            request = LogRequest("lab", QUERY, TimeRange.between(DAY_START, DAY_END))
            began = time.perf_counter()
            presenter.start_tail(request)
            await asyncio.sleep(TAIL_S)
            state = presenter.tail_state
            presenter.stop_tail()
            took = time.perf_counter() - began
            figures = ticker.figures(began + 1.0, time.perf_counter())
            received = state.shown + state.skipped + len(presenter._pending)
            name = f"{rate} lines/s sent" if rate else "as fast as the server sends"
            out["tail"][name] = {
                "received_lines_per_s": round(received / took),
                "shown_lines_per_s": round(state.shown / took),
                **{k: v for k, v in figures.items() if k.startswith(("lag", "ticks_over"))},
            }
            print(f"tail ({name}): {received / took:,.0f} lines/s received and parsed, "
                  f"{state.shown / took:,.0f}/s shown; lag p50 {figures['lag_p50_ms']} / p99 "
                  f"{figures['lag_p99_ms']} / max {figures['lag_max_ms']} ms", flush=True)  # fmt: skip
            await asyncio.sleep(0.5)
        rss_before = rss_mb()
        fetched = 0
        began = time.perf_counter()
        while fetched < FETCH_LINES:
            at = DAY_START
            while at < DAY_END and fetched < FETCH_LINES:
                result = await core.logs_traces.logs("lab", QUERY, start=at,
                                                     end=at + timedelta(minutes=30),
                                                     limit=5000, most=50_000)  # fmt: skip
                view.show_lines(result.entries, result.truncated)
                fetched += len(result.entries)
                at += timedelta(minutes=30)
                del result
        took = time.perf_counter() - began
        figures = ticker.figures(began, time.perf_counter())
        out["fetch"] = {
            "lines": fetched, "seconds": round(took, 1), "lines_per_s": round(fetched / took),
            "rss_before_mb": round(rss_before, 1), **figures,
        }  # fmt: skip
        print(f"fetch: {fetched:,} lines in {took:.1f} s ({fetched / took:,.0f} lines/s); RSS "
              f"{rss_before:.0f} MB before, peak {figures['rss_peak_mb']} MB; lag p50 "
              f"{figures['lag_p50_ms']} / p99 {figures['lag_p99_ms']} / max "
              f"{figures['lag_max_ms']} ms", flush=True)  # fmt: skip
    finally:
        await ticker.stop()
        presenter.close()
        view.close()
        await core.shutdown()
        gc_guard.stop()
    return out


def main() -> None:
    import qasync
    from PySide6.QtWidgets import QApplication

    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    server = ServerProcess(
        [sys.executable, str(SERVER_SCRIPT), "--port", str(port), "--day", str(DAY),
         "--tail-per-frame", "500", "--tail-interval-s", "0"],
        cwd=work, log_name="loki-tempo",
    )  # fmt: skip
    try:
        found = server.wait_for_log(r"loki-tempo ready: (\d+) lines", timeout=300)
        server.wait_for_port(port)
        app = QApplication.instance() or QApplication(["bench-logs"])
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        try:
            out = loop.run_until_complete(run(f"http://127.0.0.1:{port}", work / "home"))
        finally:
            loop.close()
            asyncio.set_event_loop(None)
        out["lines_in_day"] = int(found.group(1))
    finally:
        server.stop()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "logs.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS / 'logs.json'}")


if __name__ == "__main__":
    main()
