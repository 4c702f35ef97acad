"""Reading the RCA benchmark layouts of ../shared/data/rca (README there) into cases: the
signals of each service around one injected fault, the fault's time, type and root cause.

Two layouts, told apart by what a folder holds: RCD's ``<service>-<fault>/<run>/{normal,
anomalous}.csv`` (Sock Shop) and Nezha's day folders (``metric/<pod>_metric.csv`` and a
``*fault_list.json``, with ``log/`` and ``trace/`` where present). Metrics map to services as
the README says: the part before the first ``_`` (RCD), the pod name less its two hash parts
(Nezha); a ``-db`` suffix folds into its service.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import numpy as np

from analysis.rca.model import Signal, SignalKind, Window
from analysis.rca.traces import (
    CALL_TIME,
    ERROR_TEMPLATE,
    SAMPLED_PER_STEP,
    call_time_signals,
    error_template_signals,
    log_template,
    time_outside,
)

DEFAULT_RCA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "rca"
csv.field_size_limit(1 << 24)  # a log line can be long
RCD_KEEP = 300  # RCAEval's protocol: last 300 normal and first 300 anomalous samples


@dataclass
class Case:
    name: str
    system: str
    fault: str
    truth: str  # the root cause's service
    detect_s: float
    signals: list[Signal]
    calls: dict[str, set[str]] = field(default_factory=dict)  # caller -> callees


def service_of(name: str) -> str:
    service = name[:-3] if name.endswith("-db") else name
    return service


# -- RCD (Sock Shop) ---------------------------------------------------------------------------
def _rcd_kind(column: str) -> SignalKind | None:
    if column.endswith(("_lat_50", "_lat_99")):
        return None  # dropped by the protocol
    if column.endswith(("_cpu", "_mem")):
        return SignalKind.RESOURCE
    if "_lat_" in column:
        return SignalKind.LATENCY
    if column.endswith("_lod"):
        return SignalKind.TRAFFIC
    return SignalKind.OTHER


def _read_rcd_csv(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open() as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    data = np.array([[float(v) if v not in ("", "nan") else np.nan for v in r] for r in body])
    return header, data


def _ffill_zero(data: np.ndarray) -> np.ndarray:
    out = data.copy()
    for j in range(out.shape[1]):
        col = out[:, j]
        last = np.nan
        for i in range(col.size):
            if np.isnan(col[i]):
                col[i] = last
            else:
                last = col[i]
        col[np.isnan(col)] = 0.0
    return out


def rcd_cases(root: Path) -> Iterator[Case]:
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        service, _, fault = folder.name.rpartition("-")
        for run in sorted(p for p in folder.iterdir() if p.is_dir()):
            header, normal = _read_rcd_csv(run / "normal.csv")
            _, anomalous = _read_rcd_csv(run / "anomalous.csv")
            detect = float(anomalous[0, 0])
            before = normal[-RCD_KEEP:].copy()
            # the normal run was recorded apart (days before): as the protocol concatenates
            # it, its samples are taken as the seconds just before the detection
            before[:, 0] = detect - before.shape[0] + np.arange(before.shape[0])
            data = _ffill_zero(np.vstack([before, anomalous[:RCD_KEEP]]))
            signals = []
            for j, column in enumerate(header[1:], start=1):
                kind = _rcd_kind(column)
                if kind is not None:
                    entity = service_of(column.split("_", 1)[0])
                    signals.append(Signal(entity, column, kind, data[:, 0], data[:, j]))
            yield Case(f"{folder.name}/{run.name}", "sock-shop", fault, service, detect, signals)


# -- Nezha -------------------------------------------------------------------------------------
_POD = re.compile(r"^(?P<service>.+)-[a-z0-9]{8,10}-[a-z0-9]{5}$")
NEZHA_KINDS = {
    "CpuUsage(m)": SignalKind.RESOURCE,
    "CpuUsageRate(%)": SignalKind.RESOURCE,
    "MemoryUsage(Mi)": SignalKind.RESOURCE,
    "MemoryUsageRate(%)": SignalKind.RESOURCE,
    "SyscallRead": SignalKind.RESOURCE,
    "SyscallWrite": SignalKind.RESOURCE,
    "NetworkReceiveBytes": SignalKind.RESOURCE,
    "NetworkTransmitBytes": SignalKind.RESOURCE,
    "PodClientLatencyP90(s)": SignalKind.LATENCY,
    "PodServerLatencyP90(s)": SignalKind.LATENCY,
    "PodClientLatencyP95(s)": SignalKind.LATENCY,
    "PodServerLatencyP95(s)": SignalKind.LATENCY,
    "PodClientLatencyP99(s)": SignalKind.LATENCY,
    "PodServerLatencyP99(s)": SignalKind.LATENCY,
    "PodWorkload(Ops)": SignalKind.TRAFFIC,
    "PodSuccessRate(%)": SignalKind.ERRORS,
}  # fmt: skip  (node metrics are the node's, shared by its pods: not a service's)


def pod_service(pod: str) -> str:
    m = _POD.match(pod)
    return service_of(m.group("service") if m else pod)


def _utc(text: str) -> float:
    return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()


def _nezha_metrics(folder: Path) -> list[Signal]:
    signals = []
    for path in sorted(folder.glob("*_metric.csv")):
        with path.open() as f:
            rows = list(csv.DictReader(f))
        if not rows:
            continue
        service = pod_service(rows[0].get("PodName") or path.name[: -len("_metric.csv")])
        ts = np.array([_utc(r["Time"]) for r in rows])  # Time: TimeStamp is corrupt in places
        for column, kind in NEZHA_KINDS.items():
            if column in rows[0]:
                values = np.array([float(r[column] or "nan") for r in rows])
                name = column
                if column == "PodSuccessRate(%)":  # errors rise as it falls
                    name, values = "PodFailureRate(%)", 100.0 - values
                signals.append(Signal(service, name, kind, ts, values))
    return signals


ERROR_LINES, SPANS, SPAN_P50, CALLS_OUT = (
    "error log lines/min", "spans/min", "span duration p50", "calls out per span")  # fmt: skip


#: the signals read from logs and traces, not metrics (the robust-z baseline leaves them out)
LOG_TRACE_SIGNALS = frozenset({ERROR_LINES, SPANS, SPAN_P50, CALLS_OUT, CALL_TIME})


def from_logs_or_traces(name: str) -> bool:
    """Whether a signal was read from logs or traces (a kind of error line's is named
    ``ERROR_TEMPLATE`` and its template, each its own), not from metrics."""
    return name in LOG_TRACE_SIGNALS or name.startswith(ERROR_TEMPLATE)


def _minute_files(folder: Path, kind: str) -> list[Path]:
    """A day's ``<HH_MM>_<kind>.csv`` files, gzipped (as in ../shared) or not (as Nezha's
    repository has them)."""
    return sorted(p for p in folder.glob(f"*_{kind}.csv*") if p.name.endswith((".csv", ".csv.gz")))


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", newline="")
    return path.open(newline="")


def _log_line(raw: str) -> str:
    """The line a pod wrote, out of the container runtime's JSON record where it is one."""
    try:
        line = json.loads(raw)
    except ValueError:
        return raw
    return str(line.get("log", raw)) if isinstance(line, dict) else raw


@dataclass
class _ErrorLines:
    """A day's error lines as ``(service, minute, template)`` (templated once a day, not
    once a case: a template's template is itself) and the minutes whose logs were read."""

    lines: list[tuple[str, float, str]] = field(default_factory=list)
    minutes: list[float] = field(default_factory=list)

    def signals(self, window: Window) -> list[Signal]:
        """Each service's error lines per template in ``window``, as the app reads them
        (``analysis.rca.traces.error_template_signals``: what it keeps is chosen on the
        window's lines, so the day's later lines cannot change a case's ranking)."""
        return error_template_signals(self.lines, self.minutes,
                                      window.detect_s - window.before_s, window.end_s)  # fmt: skip


def _log_errors(folder: Path, errors: _ErrorLines) -> list[Signal]:
    """Error lines per pod per minute from the minute log files: a line whose level is ERROR
    or that carries an exception; the lines themselves (their templates) into ``errors``.
    Minutes without a file are absent, not zero."""
    if not folder.is_dir():
        return []
    counts: dict[str, dict[float, int]] = {}
    minutes: list[float] = []
    error = re.compile(r"\bERROR\b|Exception|\bexception\b")
    for path in _minute_files(folder, "log"):
        with _open_text(path) as f:
            reader = csv.DictReader(f)
            stamp = None
            for row in reader:
                at = float(row["TimeUnixNano"]) / 1e9
                minute = at // 60 * 60 + 60  # a minute's count is known at its end
                stamp = minute if stamp is None else min(stamp, minute)
                service = pod_service(row["PodName"])
                per = counts.setdefault(service, {})
                per.setdefault(minute, 0)
                if error.search(row["Log"]):
                    per[minute] += 1
                    errors.lines.append((service, minute, log_template(_log_line(row["Log"]))))
            if stamp is not None:
                minutes.append(stamp)
    errors.minutes += minutes
    out = []
    for service, per in counts.items():
        ts = np.array(sorted(set(per) | set(minutes)))
        values = np.array([float(per.get(t, 0)) for t in ts])
        out.append(Signal(service, ERROR_LINES, SignalKind.ERRORS, ts, values,
                          resolution=1.0))  # fmt: skip
    return out


@dataclass(frozen=True, slots=True)
class _Span:
    span_id: str
    parent_span_id: str | None
    service_name: str
    start_ns: int
    duration_ns: int


def _call_times(traces: dict[str, list[_Span]]) -> list[Signal]:
    """The time calls spend outside their callee (analysis.rca.traces), read as the app
    reads it: the newest ``SAMPLED_PER_STEP`` traces of each minute (Tempo's search answers
    the most recent first), not every trace of the day."""
    by_minute: dict[int, list[tuple[int, str]]] = {}
    for trace_id, spans in traces.items():
        first = min(s.start_ns for s in spans)
        by_minute.setdefault(first // 60_000_000_000, []).append((first, trace_id))
    samples = []
    for chosen in by_minute.values():
        for _first, trace_id in sorted(chosen, reverse=True)[:SAMPLED_PER_STEP]:
            samples += [(span.service_name, span.start_ns / 1e9, ms)
                        for span, ms in time_outside(traces[trace_id])]  # fmt: skip
    if not samples:
        return []
    times = [at for _, at, _ in samples]
    return call_time_signals(samples, min(times), max(times))


def _traces(folder: Path, calls: dict[str, set[str]]) -> list[Signal]:
    """Per service per minute from the minute span files: spans, their median duration, how
    many calls each makes to other services (an exception cuts a call tree short) and the
    time calls into it spend outside it (a network delay); the call graph (caller -> callee)
    into ``calls``."""
    if not folder.is_dir():
        return []
    per: dict[str, dict[float, list[float]]] = {}  # service -> minute -> durations
    fanout: dict[str, dict[float, int]] = {}
    traces: dict[str, list[_Span]] = {}
    for path in _minute_files(folder, "trace"):
        with _open_text(path) as f:
            rows = list(csv.DictReader(f))
        owner = {r["SpanID"]: pod_service(r["PodName"]) for r in rows}
        for r in rows:
            traces.setdefault(r["TraceID"], []).append(_Span(
                r["SpanID"], r["ParentID"], owner[r["SpanID"]], int(r["StartTimeUnixNano"]),
                round(float(r["Duration"]) * 1000),  # microseconds
            ))  # fmt: skip
            service = owner[r["SpanID"]]
            minute = float(r["StartTimeUnixNano"]) / 1e9 // 60 * 60 + 60
            per.setdefault(service, {}).setdefault(minute, []).append(float(r["Duration"]))
            parent = owner.get(r["ParentID"])
            if parent is not None and parent != service:
                calls.setdefault(parent, set()).add(service)
                counts = fanout.setdefault(parent, {})
                counts[minute] = counts.get(minute, 0) + 1
    out = []
    for service, minutes in per.items():
        ts = np.array(sorted(minutes))
        spans = np.array([len(minutes[t]) for t in ts], dtype=float)
        out.append(Signal(service, SPANS, SignalKind.TRAFFIC, ts, spans))
        out.append(Signal(service, SPAN_P50, SignalKind.LATENCY, ts,
                          np.array([float(np.median(minutes[t])) for t in ts])))  # fmt: skip
        calls_made = np.array([fanout.get(service, {}).get(t, 0) for t in ts], dtype=float)
        out.append(Signal(service, CALLS_OUT, SignalKind.OTHER, ts, calls_made / spans))
    return out + _call_times(traces)


def _calls(folder: Path) -> dict[str, set[str]]:
    calls: dict[str, set[str]] = {}
    path = folder / "metric" / "dependency.csv"
    if path.exists():
        with path.open() as f:
            for row in csv.DictReader(f):
                calls.setdefault(service_of(row["Source"]), set()).add(service_of(row["Target"]))
    return calls


def nezha_cases(day: Path, system: str, *, logs: bool = True) -> Iterator[Case]:
    faults_file = next(day.glob("*fault_list.json"))
    faults = [f for hour in json.loads(faults_file.read_text()).values() for f in hour]
    signals = _nezha_metrics(day / "metric")
    errors = _ErrorLines()
    if logs:
        signals += _log_errors(day / "log", errors)
    calls = _calls(day)
    if logs:
        signals += _traces(day / "trace", calls)
    for f in sorted(faults, key=lambda f: f["inject_time"]):
        detect = _utc(f["inject_time"])
        # the window bench_rca ranks the case in (the robust-z baseline's: the same span)
        mine = signals + errors.signals(Window(detect))
        yield Case(f"{day.name} {f['inject_time'][11:]}", system, f["inject_type"],
                   pod_service(f["inject_pod"]), detect, mine, calls)  # fmt: skip


def is_nezha_day(folder: Path) -> bool:
    return (folder / "metric").is_dir() and any(folder.glob("*fault_list.json"))


def load_cases(root: Path) -> Iterator[Case]:
    """Every case under ``root``: an RCD folder, a Nezha day, or folders of either."""
    if is_nezha_day(root):
        yield from nezha_cases(root, root.parent.name or root.name)
        return
    children = sorted(p for p in root.iterdir() if p.is_dir())
    if children and all((c / "1" / "normal.csv").exists() or any(c.glob("*/normal.csv"))
                        for c in children):  # fmt: skip
        yield from rcd_cases(root)
        return
    for child in children:
        yield from load_cases(child)
