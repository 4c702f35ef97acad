"""A stand-in for Loki and Tempo (neither can run here: their licence rules them out and no
package ships a binary), answering the documented subset byte for byte as they do, over real
data: the Train Ticket logs and traces of a Nezha day folder (../shared/data/rca), converted
on the fly, never copied.

- Logs: each line of ``log/<HH_MM>_log.csv.gz`` is the container runtime's JSON; its ``log``
  field is the line, in a stream labelled as OpenShift Logging labels them
  (``k8s_namespace_name="train-ticket"``, ``k8s_pod_name``, ``k8s_container_name``,
  ``k8s_node_name``, ``service_name`` (the pod's name without its hashes), ``log_type``).
- Traces: ``trace/<HH_MM>_trace.csv.gz`` spans; a span is an error (status 2) when its
  service logged an ERROR line in it (the log's SpanID); its log lines are its events.
- TraceQL metrics (``/api/metrics/query_range``): the subset the app polls, rate,
  count_over_time and quantile_over_time of duration, ``by`` span attributes.
- Paths: Loki's own (``/loki/api/v1/...``) and a LokiStack gateway's
  (``/api/logs/v1/<tenant>/loki/api/v1/...``), Tempo's own (``/api/...``) and a TempoStack
  gateway's (``/api/traces/v1/<tenant>/tempo/api/...``). The gateways want a bearer token:
  none or a wrong one is 401, the ``--reader-token`` on the audit tenant 403; under a tenant
  they route its API only (``.../ready`` is a 404, as on the real gateway's public port).
- The tail's pace on demand: ``POST /__tail_pace?per_frame=N&interval_s=S`` (benchmarks).
- Faults on demand: ``POST /__fault?mode=M&count=N`` makes the next N requests answer 429,
  500, hang, slow (3 s), a huge line, a line of bytes that are not UTF-8, or (tail) a cut
  WebSocket after a frame.

Run as a child process by tests/servers/loki_tempo.py; prints "loki-tempo ready" when it
listens."""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import csv
import gzip
import json
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from aiops_desktop.models.observability import service_of_pod as service_of
from analysis.logql import LogQLError, LogSelector, MetricQuery, parse

csv.field_size_limit(16 * 1024 * 1024)
TENANTS = ("application", "infrastructure", "audit")
NAMESPACE = "train-ticket"
_LEVEL = re.compile(r"^\S+\s+(INFO|WARN|ERROR|DEBUG)\b")


@dataclass
class Stream:
    labels: dict[str, str]
    ts: list[int] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


@dataclass
class Store:
    streams: dict[tuple[tuple[str, str], ...], Stream] = field(default_factory=dict)
    traces: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    span_logs: dict[str, list[tuple[int, str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )  # span id -> (ns, level, line)


def load(day: Path, first: str, last: str) -> Store:
    store = Store()
    rows = []
    for path in sorted((day / "log").glob("*_log.csv.gz")):
        if not first <= path.name[:5] <= last:
            continue
        with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            next(reader, None)
            for row in reader:
                if len(row) < 8:
                    continue
                try:
                    line = str(json.loads(row[7])["log"]).rstrip("\n")
                except (ValueError, KeyError, TypeError):
                    line = row[7]
                rows.append((int(row[1]), row[2], row[3], row[4], row[5], row[6], line))
    rows.sort()
    for ns, node, pod, container, _trace_id, span_id, line in rows:
        labels = {"k8s_namespace_name": NAMESPACE, "k8s_pod_name": pod,
                  "k8s_container_name": container, "k8s_node_name": node,
                  "service_name": service_of(pod), "log_type": "application"}  # fmt: skip
        key = tuple(sorted(labels.items()))
        stream = store.streams.setdefault(key, Stream(labels))
        stream.ts.append(ns)
        stream.lines.append(line)
        level = _LEVEL.match(line)
        if span_id:
            store.span_logs[span_id].append((ns, level.group(1) if level else "", line))
    for path in sorted((day / "trace").glob("*_trace.csv.gz")):
        if not first <= path.name[:5] <= last:
            continue
        with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            for row in reader:
                store.traces[row["TraceID"]].append(row)
    return store


def _b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode("ascii")


def otlp_trace(store: Store, trace_id: str) -> dict[str, Any]:
    """One trace as Tempo's /api/traces answers it: ``batches`` per service."""
    by_service: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in store.traces[trace_id]:
        logs = store.span_logs.get(row["SpanID"], [])
        errors = [line for _, level, line in logs if level == "ERROR"]
        span: dict[str, Any] = {
            "traceId": _b64(trace_id), "spanId": _b64(row["SpanID"]),
            "name": row["OperationName"], "kind": "SPAN_KIND_SERVER",
            "startTimeUnixNano": row["StartTimeUnixNano"],
            "endTimeUnixNano": row["EndTimeUnixNano"],
            "attributes": [{"key": "k8s.pod.name", "value": {"stringValue": row["PodName"]}},
                           {"key": "k8s.namespace.name", "value": {"stringValue": NAMESPACE}}],
            "status": {"code": 2, "message": errors[0][:300]} if errors else {},
            "events": [{"timeUnixNano": str(ns), "name": "log",
                        "attributes": [{"key": "message", "value": {"stringValue": line}}]}
                       for ns, _, line in logs],
        }  # fmt: skip
        if row["ParentID"] != "root":
            span["parentSpanId"] = _b64(row["ParentID"])
        by_service[service_of(row["PodName"])].append(span)
    return {"batches": [
        {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": s}}]},
         "scopeSpans": [{"scope": {"name": "nezha-train-ticket"}, "spans": spans}]}
        for s, spans in by_service.items()
    ]}  # fmt: skip


class Faults:
    def __init__(self) -> None:
        self.mode = ""
        self.count = 0

    def take(self, *modes: str) -> str:
        """The fault for this request when it is one of ``modes`` (used up), else ""."""
        if self.count <= 0 or self.mode not in modes:
            return ""
        self.count -= 1
        return self.mode


def _text(status: int, body: str, **headers: str) -> web.Response:
    return web.Response(status=status, text=body + "\n", content_type="text/plain",
                        headers=headers)  # fmt: skip


def _json(doc: Any) -> web.Response:
    return web.Response(body=json.dumps(doc, separators=(",", ":")).encode(),
                        content_type="application/json")  # fmt: skip


def _api_path(path: str) -> str | None:
    """The API path a request asks: as it is, or under a gateway's tenant prefix only what
    the gateway routes there (observatorium: ``/api/logs/v1/<tenant>/loki/api/v1/...`` and
    ``/api/traces/v1/<tenant>/tempo/api/...``; its ``/ready`` is on its internal port, so
    ``/api/logs/v1/<tenant>/ready`` is a 404). None: nothing the gateway routes."""
    found = re.match(r"^/api/(logs|traces)/v1/[^/]+(/.*)?$", path)
    if found is None:
        return path
    below = found.group(2) or ""
    if found.group(1) == "logs":
        return below if below.startswith("/loki/api/v1/") else None
    return below.removeprefix("/tempo") if below.startswith("/tempo/api/") else None


class App:
    def __init__(self, store: Store, token: str, reader_token: str) -> None:
        self.store = store
        self.token, self.reader_token = token, reader_token
        self.faults = Faults()
        self.requests: list[str] = []
        self._by_start: tuple[list[int], list[dict[str, Any]]] | None = None

    # -- the gate every request passes ------------------------------------------------------
    def _gate(self, request: web.Request) -> web.Response | None:
        path = request.path
        self.requests.append(f"{request.method} {request.rel_url}")
        found = re.match(r"^/api/(logs|traces)/v1/([^/]+)/", path)
        if found:
            tenant = found.group(2)
            given = request.headers.get("Authorization", "")
            if given not in (f"Bearer {self.token}", f"Bearer {self.reader_token}"):
                return _text(401, "unauthorized")
            if found.group(1) == "logs" and tenant not in TENANTS:
                return _text(404, f"tenant {tenant} not found")
            if tenant == "audit" and given == f"Bearer {self.reader_token}":
                return _text(403, "forbidden")
        return None

    async def _fault(self) -> web.Response | None:
        mode = self.faults.take("429", "500", "404", "hang", "slow")
        if mode == "404":  # a path this version does not serve (Tempo before 2.4: metrics)
            return _text(404, "404 page not found")
        if mode == "429":
            return _text(429, "Too Many Requests", **{"Retry-After": "2"})
        if mode == "500":
            return _text(500, "rpc error: code = Internal desc = boom")
        if mode == "hang":
            await asyncio.sleep(3600)
        if mode == "slow":
            await asyncio.sleep(3)
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = _api_path(request.path) or ""  # unrouted by a gateway: no route matches (404)
        refused = self._gate(request) or (
            None if path == "/loki/api/v1/tail" else await self._fault()
        )
        if refused is not None:
            return refused
        if path == "/loki/api/v1/tail":
            return await self.tail(request)
        for pattern, answer in self._routes():
            found = re.fullmatch(pattern, path)
            if found is None:
                continue
            try:
                return answer(request.query, *found.groups())
            except LogQLError as exc:
                return _text(400, str(exc))
            except ValueError as exc:
                return _text(400, f"invalid request: {exc}")
        return _text(404, "404 page not found")

    def _routes(self) -> list[tuple[str, Any]]:
        streams = self.store.streams.values()
        return [
            ("/ready", lambda _q: _text(200, "ready")),
            ("/loki/api/v1/query_range", lambda q: self.query(q, instant=False)),
            ("/loki/api/v1/query", lambda q: self.query(q, instant=True)),
            ("/loki/api/v1/labels", lambda _q: _json({"status": "success", "data": sorted(
                {k for s in streams for k in s.labels})})),
            ("/loki/api/v1/label/([^/]+)/values", lambda _q, name: _json({
                "status": "success",
                "data": sorted({s.labels[name] for s in streams if name in s.labels})})),
            ("/loki/api/v1/series", self.series),
            ("/api/traces/([0-9a-fA-F]+)", self.trace),
            ("/api/search", self.search),
            ("/api/metrics/query_range", self.metrics),
            ("/api/search/tags", lambda _q: _json(
                {"tagNames": ["k8s.pod.name", "name", "service.name", "status"]})),
            ("/api/search/tag/([^/]+)/values", lambda _q, tag: _json(
                {"tagValues": self.tag_values(tag)})),
        ]  # fmt: skip

    def series(self, q: Any) -> web.Response:
        selectors = [parse(m) for m in q.getall("match[]", [])]
        data = [s.labels for s in self.store.streams.values()
                if any(isinstance(x, LogSelector) and x.matches(s.labels)
                       for x in selectors)]  # fmt: skip
        return _json({"status": "success", "data": data})

    def trace(self, _q: Any, wanted: str) -> web.Response:
        wanted = wanted.lower().zfill(32)
        if wanted not in self.store.traces:
            return _text(404, "trace not found")
        return _json(otlp_trace(self.store, wanted))

    # -- Loki -------------------------------------------------------------------------------
    def _lines(
        self, selector: LogSelector, start: int, end: int
    ) -> list[tuple[dict[str, str], int, str]]:
        keep = selector.line_filter()
        out = []
        for stream in self.store.streams.values():
            if not selector.matches(stream.labels):
                continue
            lo, hi = bisect.bisect_left(stream.ts, start), bisect.bisect_left(stream.ts, end)
            out += [(stream.labels, stream.ts[i], stream.lines[i])
                    for i in range(lo, hi) if keep(stream.lines[i])]  # fmt: skip
        return out

    def query(self, q: Any, *, instant: bool) -> web.Response:
        parsed = parse(q.get("query", ""))
        now = time.time_ns()
        end = int(q.get("end", q.get("time", now)))
        start = int(q.get("start", end - 3600 * 10**9))
        limit = int(q.get("limit", 100))
        if limit > 5000:
            raise ValueError("max entries limit per query exceeded, limit > max_entries_limit "
                             f"({limit} > 5000)")  # fmt: skip
        if isinstance(parsed, MetricQuery):
            return self.metric(parsed, start, end, q, instant=instant)
        lines = self._lines(parsed, start, end)
        backward = q.get("direction", "backward").lower() == "backward"
        lines.sort(key=lambda x: x[1], reverse=backward)
        lines = lines[:limit]
        mode = self.faults.take("bigline", "binary")
        streams: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
        for labels, ns, line in lines:
            entry = streams.setdefault(tuple(sorted(labels.items())),
                                       {"stream": labels, "values": []})  # fmt: skip
            entry["values"].append([str(ns), line])
        doc = {"status": "success", "data": {"resultType": "streams",
               "result": list(streams.values()), "stats": {"summary": {"totalLinesProcessed":
               len(lines)}}}}  # fmt: skip
        body = json.dumps(doc, separators=(",", ":")).encode()
        if mode == "bigline" and lines:  # one line of 1 MiB, as a runaway stack trace writes
            body = body.replace(json.dumps(lines[0][2]).encode(),
                                json.dumps("x" * (1 << 20)).encode(), 1)  # fmt: skip
        if mode == "binary" and lines:  # raw bytes that are not UTF-8 inside a JSON string
            body = body.replace(json.dumps(lines[0][2]).encode(),
                                b'"bad \xff\xfe bytes"', 1)  # fmt: skip
        return web.Response(body=body, content_type="application/json")

    def metric(
        self, m: MetricQuery, start: int, end: int, q: Any, *, instant: bool
    ) -> web.Response:
        step = int(float(str(q.get("step", "60")).rstrip("s")) * 10**9)
        points = [end] if instant else list(range(start - start % step + step, end + 1, step))
        series: dict[tuple[tuple[str, str], ...], dict[int, float]] = defaultdict(dict)
        window = m.range_s * 10**9
        lines = self._lines(m.selector, (points[0] if points else start) - window, end + 1)
        for labels, ns, line in lines:
            if m.by is None:
                key = tuple(sorted(labels.items()))
            else:
                key = tuple(sorted((k, labels.get(k, "")) for k in m.by if k in labels))
            for t in points[
                bisect.bisect_left(points, ns) : bisect.bisect_left(points, ns + window)
            ]:
                weight = len(line.encode()) if m.function == "bytes_over_time" else 1
                series[key][t] = series[key].get(t, 0) + weight
        result = []
        for key, values in series.items():
            scale = m.range_s if m.function == "rate" else 1
            pts = [[t / 1e9, f"{values[t] / scale:g}"] for t in sorted(values)]
            result.append({"metric": dict(key), "value": pts[-1]} if instant
                          else {"metric": dict(key), "values": pts})  # fmt: skip
        kind = "vector" if instant else "matrix"
        return _json({"status": "success", "data": {"resultType": kind, "result": result}})

    async def tail(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        try:
            parsed = parse(q.get("query", ""))
        except LogQLError as exc:
            return _text(400, str(exc))
        if not isinstance(parsed, LogSelector):
            return _text(400, "parse error : tail requires a log query")
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        start = int(q.get("start", time.time_ns() - 3600 * 10**9))
        lines = self._lines(parsed, start, 2**63 - 1)
        lines.sort(key=lambda x: x[1])
        per_frame = int(request.app["tail_per_frame"])
        cut = self.faults.take("cut") == "cut"
        for at in range(0, len(lines), per_frame):
            chunk = lines[at : at + per_frame]
            streams: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
            for labels, ns, line in chunk:
                streams.setdefault(tuple(sorted(labels.items())),
                                   {"stream": labels, "values": []})["values"].append(
                    [str(ns), line])  # fmt: skip
            await ws.send_str(json.dumps({"streams": list(streams.values())}))
            if cut:  # a proxy drops the connection after a frame: no close frame
                assert request.transport is not None
                request.transport.abort()
                return ws
            await asyncio.sleep(float(request.app["tail_interval_s"]))
        async for message in ws:  # all sent: wait for the client to leave
            if message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                break
        return ws

    # -- Tempo ------------------------------------------------------------------------------
    def _summary(self, trace_id: str) -> dict[str, Any]:
        rows = self.store.traces[trace_id]
        root = next((r for r in rows if r["ParentID"] == "root"), rows[0])
        start = min(int(r["StartTimeUnixNano"]) for r in rows)
        end = max(int(r["EndTimeUnixNano"]) for r in rows)
        return {"traceID": trace_id.lstrip("0"), "rootServiceName": service_of(root["PodName"]),
                "rootTraceName": root["OperationName"], "startTimeUnixNano": str(start),
                "durationMs": round((end - start) / 1e6)}  # fmt: skip

    def search(self, q: Any) -> web.Response:
        tags = dict(re.findall(r'([\w.]+)=("(?:[^"\\]|\\.)*"|\S+)', q.get("tags", "")))
        tags = {k: v.strip('"') for k, v in tags.items()}
        if "q" in q:  # the TraceQL the app writes: { resource.service.name = "x" && ... }
            for name, value in re.findall(
                r'(resource\.service\.name|name|status)\s*=\s*"?([\w./-]+)"?', q["q"]
            ):
                tags["service.name" if name.startswith("resource") else name] = value
            found = re.search(r"duration\s*>\s*(\d+)ms", q["q"])
            if found:
                q = {**q, "minDuration": f"{found.group(1)}ms"}
        lo = _ms(q.get("minDuration")) if q.get("minDuration") else None
        hi = _ms(q.get("maxDuration")) if q.get("maxDuration") else None
        start = int(q["start"]) * 10**9 if "start" in q else 0
        end = int(q["end"]) * 10**9 if "end" in q else 2**63 - 1
        limit = int(q.get("limit", 20))
        out = []
        # Tempo answers the most recent traces first
        for first, trace_id, rows in sorted(
            ((min(int(r["StartTimeUnixNano"]) for r in rows), t, rows)
             for t, rows in self.store.traces.items()), reverse=True):  # fmt: skip
            if not start <= first <= end:
                continue
            summary = self._summary(trace_id)
            if (lo is not None and summary["durationMs"] < lo) or (
                hi is not None and summary["durationMs"] > hi
            ):
                continue
            if not all(self._has(rows, k, v) for k, v in tags.items()):
                continue
            out.append(summary)
            if len(out) >= limit:
                break
        return _json({"traces": out, "metrics": {"inspectedTraces": len(self.store.traces)}})

    def _spans(self) -> tuple[list[int], list[dict[str, Any]]]:
        """Every span by its start (read once)."""
        if self._by_start is None:
            rows = sorted((int(r["StartTimeUnixNano"]), i, r) for i, r in enumerate(
                r for t in self.store.traces.values() for r in t))  # fmt: skip
            self._by_start = ([t for t, _, _ in rows], [r for _, _, r in rows])
        return self._by_start

    def _attribute(self, row: dict[str, Any], name: str) -> str:
        """A span's attribute in TraceQL's names (resource.* or unscoped)."""
        short = name.removeprefix("resource.").removeprefix("span.").lstrip(".")
        if short == "service.name":
            return service_of(row["PodName"])
        if short == "k8s.pod.name":
            return str(row["PodName"])
        if short == "k8s.namespace.name":
            return NAMESPACE
        if short == "status":
            failed = any(
                lvl == "ERROR" for _, lvl, _ in self.store.span_logs.get(row["SpanID"], [])
            )
            return "error" if failed else "unset"
        if short == "kind":
            return "server"
        raise ValueError(f"unknown attribute {name}")

    def metrics(self, q: Any) -> web.Response:
        """TraceQL metrics (``/api/metrics/query_range``), the subset the app writes:
        ``{ a = b && ... } | rate() | count_over_time() | quantile_over_time(duration, q)``
        ``by (attributes)``; samples at the start of each step."""
        found = re.fullmatch(
            r"\s*\{([^}]*)\}\s*\|\s*(rate|count_over_time|quantile_over_time)\(([^)]*)\)"
            r"\s*(?:by\s*\(([^)]*)\))?\s*", q.get("q", ""))  # fmt: skip
        if found is None:
            return _text(400, "invalid TraceQL query: parse error at line 1, col 1: syntax error")
        conditions = [c.strip() for c in found.group(1).split("&&") if c.strip()]
        wanted = [re.fullmatch(r"([\w.]+)\s*=\s*\"?([\w./-]+)\"?", c) for c in conditions]
        if any(w is None for w in wanted):
            return _text(400, "invalid TraceQL query: parse error at line 1, col 3: syntax error")
        function, argument = found.group(2), found.group(3)
        by = [b.strip() for b in (found.group(4) or "").split(",") if b.strip()]
        step = int(_ms(str(q.get("step", "60s"))) * 10**6)
        start, end = _when(q["start"]), _when(q["end"])
        if end - start > METRICS_MAX_NS:  # Tempo's default query_frontend.metrics.max_duration
            return _text(400, "metrics query time range exceeds the maximum allowed duration "
                              "of 3h0m0s")  # fmt: skip
        times, rows = self._spans()
        buckets: dict[tuple[str, ...], dict[int, list[float]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for i in range(bisect.bisect_left(times, start), bisect.bisect_left(times, end)):
            row = rows[i]
            if not all(self._attribute(row, w.group(1)) == w.group(2) for w in wanted if w):
                continue
            key = tuple(self._attribute(row, b) for b in by)
            at = times[i] - times[i] % step
            took = (int(row["EndTimeUnixNano"]) - times[i]) / 1e9
            buckets[key][at].append(took)
        series = []
        for key, points in buckets.items():
            samples = []
            for at in sorted(points):
                spans = points[at]
                if function == "rate":
                    value = len(spans) / (step / 1e9)
                elif function == "count_over_time":
                    value = float(len(spans))
                else:
                    quantile = float(argument.split(",")[1])
                    value = sorted(spans)[min(len(spans) - 1, int(quantile * len(spans)))]
                samples.append({"timestampMs": str(at // 10**6), "value": value})
            labels = [{"key": b, "value": {"stringValue": v}} for b, v in zip(by, key, strict=True)]
            prom = ", ".join(f'{b.replace(".", "_")}="{v}"' for b, v in zip(by, key, strict=True))
            series.append({"labels": labels, "promLabels": "{" + prom + "}", "samples": samples})
        return _json({"series": series})

    def _has(self, rows: list[dict[str, Any]], key: str, value: str) -> bool:
        if key == "service.name":
            return any(service_of(r["PodName"]) == value for r in rows)
        if key == "name":
            return any(r["OperationName"] == value for r in rows)
        if key == "k8s.pod.name":
            return any(r["PodName"] == value for r in rows)
        if key == "status" and value == "error":
            return any(lvl == "ERROR" for r in rows
                       for _, lvl, _ in self.store.span_logs.get(r["SpanID"], []))  # fmt: skip
        return False

    def tag_values(self, tag: str) -> list[str]:
        rows = [r for t in self.store.traces.values() for r in t]
        if tag == "service.name":
            return sorted({service_of(r["PodName"]) for r in rows})
        if tag == "name":
            return sorted({r["OperationName"] for r in rows})[:1000]
        if tag == "k8s.pod.name":
            return sorted({r["PodName"] for r in rows})
        return ["error", "ok", "unset"] if tag == "status" else []

    async def set_fault(self, request: web.Request) -> web.Response:
        self.faults.mode = request.query.get("mode", "")
        self.faults.count = int(request.query.get("count", "1"))
        return _text(200, "ok")

    async def pace(self, request: web.Request) -> web.Response:
        """The tail's pace from now on: lines per frame and seconds between frames."""
        request.app["tail_per_frame"] = int(request.query.get("per_frame", "100"))
        request.app["tail_interval_s"] = float(request.query.get("interval_s", "0.02"))
        return _text(200, "ok")

    async def seen(self, _request: web.Request) -> web.Response:
        return _json(self.requests)


METRICS_MAX_NS = 3 * 3600 * 10**9


def _when(text: str) -> int:
    """Tempo's start/end: unix seconds, or nanoseconds."""
    value = int(text)
    return value if value > 10**12 else value * 10**9


def _ms(text: str) -> float:
    found = re.fullmatch(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)", text)
    if not found:
        raise ValueError(f"invalid duration {text!r}")
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4, "h": 3.6e6}[found.group(2)]
    return float(found.group(1)) * scale


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--day", type=Path, required=True)
    parser.add_argument("--first", default="00_00", help="the first minute file (HH_MM)")
    parser.add_argument("--last", default="23_59", help="the last minute file (HH_MM)")
    parser.add_argument("--token", default="loki-token")
    parser.add_argument("--reader-token", default="reader-token")
    parser.add_argument("--tail-per-frame", type=int, default=100)
    parser.add_argument("--tail-interval-s", type=float, default=0.02)
    args = parser.parse_args()
    store = load(args.day, args.first, args.last)
    state = App(store, args.token, args.reader_token)
    app = web.Application(client_max_size=1 << 20)
    app["tail_per_frame"], app["tail_interval_s"] = args.tail_per_frame, args.tail_interval_s
    app.router.add_post("/__fault", state.set_fault)
    app.router.add_get("/__requests", state.seen)
    app.router.add_post("/__tail_pace", state.pace)
    app.router.add_route("GET", "/{tail:.*}", state.handle)
    lines = sum(len(s.ts) for s in store.streams.values())
    print(f"loki-tempo ready: {lines} lines in {len(store.streams)} streams, "
          f"{len(store.traces)} traces", flush=True)  # fmt: skip
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
