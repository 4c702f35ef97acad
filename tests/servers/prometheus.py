"""A real Prometheus, backfilled from OpenMetrics with promtool, on 127.0.0.1."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import require_binary
from tests.servers.processes import ServerProcess

SeriesSpec = tuple[str, dict[str, str], Callable[[int], float]]  # metric, labels, f(i) -> value


def openmetrics(
    series: Iterable[SeriesSpec], start_s: int, count: int, step_s: int, *, kind: str = "gauge"
) -> str:
    """OpenMetrics text: timestamps in seconds, each series sorted, ``# EOF`` last."""
    by_metric: dict[str, list[str]] = {}
    for metric, labels, fn in series:
        label_text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        lines = by_metric.setdefault(metric, [])
        for i in range(count):
            lines.append(f"{metric}{{{label_text}}} {fn(i)!r} {start_s + i * step_s}")
    out = []
    for metric, lines in by_metric.items():
        out.append(f"# TYPE {metric} {kind}")
        out.extend(lines)
    out.append("# EOF")
    return "\n".join(out) + "\n"


@dataclass
class RunningPrometheus:
    process: ServerProcess
    port: int
    data_dir: Path
    first_sample_s: int | None = None  # a backfilled fixture's first sample (Unix time)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.stop()


def start_prometheus(
    workdir: Path, om_text: str | None = None, *, extra_args: Iterable[str] = (), port: int = 0
) -> RunningPrometheus:
    prometheus = require_binary("prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "data"
    data.mkdir(exist_ok=True)
    if om_text is not None:
        promtool = require_binary("promtool")
        source = workdir / "backfill.om"
        source.write_text(om_text)
        done = subprocess.run(
            [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"promtool backfill failed: {done.stderr}")
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    proc = ServerProcess(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=3650d",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-remote-write-receiver",
            *extra_args,
        ],
        cwd=workdir,
        log_name="prometheus",
    )
    match = proc.wait_for_log(r"Listening on.*?address=127\.0\.0\.1:(\d+)")
    bound = int(match.group(1))
    proc.wait_for_log(r"Server is ready to receive web requests")
    return RunningPrometheus(proc, bound, data)
