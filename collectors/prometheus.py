"""Prometheus HTTP API v1 client (also Thanos querier, VictoriaMetrics, Mimir).

Results stay numpy arrays (``PromSeries``): charts, the store and the detectors want arrays,
and a pydantic object per sample would cost more than the query. ``to_metric_series`` builds
the domain model at the edges (CLI JSON, reports).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from aiops_desktop.models.metrics import PromSeries
from aiops_desktop.models.text import labels_text
from collectors.errors import (
    CollectorBadResponse,
    CollectorError,
    CollectorInvalidQuery,
    auth_refused,
)
from collectors.shapes import SHAPE_ERRORS

if TYPE_CHECKING:
    from collectors.http import BackendClient


#: the most of a server's own words kept (an error, a warning): as ``upstream_error`` keeps of
#: a refusal's body. A server (or a proxy before it) may send megabytes of them, and every
#: reader shows them in a label.
UPSTREAM_CHARS = 500
#: the most warnings kept of one answer; the rest are counted
MOST_WARNINGS = 20


def ready_answer(http: BackendClient, status: int) -> bool:
    """A readiness probe's answer (Prometheus, Alertmanager, Loki, Tempo): 200 is ready, any
    other answer not ready. A refused credential (401, 403) and a redirect (never followed: a
    login page) are no "not ready": they raise, in the words a query's refusal has, so an
    expired token is said as one rather than as a backend down."""
    where = f"{http.name} ({http.base_url})"
    if status in (401, 403):
        raise auth_refused(where, http.name, status)
    if 300 <= status < 400:
        raise CollectorError(
            f"{where} redirected (HTTP {status}); redirects are not followed: give the "
            "endpoint's own URL",
            backend=http.name,
            status=status,
        )
    return status == 200


def upstream_text(value: Any) -> str:
    """A server's words as text, cut to ``UPSTREAM_CHARS`` (a long string is cut before it is
    copied; one too deep or too long to write out is named, not written)."""
    if isinstance(value, str):
        return value[:UPSTREAM_CHARS]
    try:
        return str(value)[:UPSTREAM_CHARS]
    except (RecursionError, ValueError):  # nested too deep; an int past str's digit limit
        return f"({type(value).__name__} too large to show)"


def _warnings(value: Any) -> list[str]:
    """The answer's warnings as text: a list, each cut, at most ``MOST_WARNINGS`` of them."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"warnings are not a list but {type(value).__name__}")
    kept = [upstream_text(w) for w in value[:MOST_WARNINGS]]
    if len(value) > MOST_WARNINGS:
        kept.append(f"… and {len(value) - MOST_WARNINGS} more warnings")
    return kept


@dataclass
class PromResult:
    result_type: str  # vector | matrix | scalar | string
    series: list[PromSeries]
    warnings: list[str]


def _ts(value: datetime | float) -> str:
    if isinstance(value, datetime):
        return f"{value.timestamp():.3f}"
    return f"{value:.3f}"


def _step(step: timedelta | float) -> str:
    seconds = step.total_seconds() if isinstance(step, timedelta) else float(step)
    return f"{seconds:g}"


def _float(text: Any) -> float:
    """A sample value. "NaN", "+Inf" and "-Inf" are values Prometheus really sends (a
    ``histogram_quantile`` over nothing, a division by zero): they are kept, and the readers
    that need a number (``last_value``) take them as unknown."""
    try:
        return float(text)
    except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: a JSON int 1e400
        raise CollectorBadResponse(
            f"sample value {upstream_text(text)[:80]!r} is not a number"
        ) from exc


def _time(value: Any) -> float:
    """A sample's timestamp: a finite number, or the answer is not Prometheus' (an infinite
    time would sort, grid and chart as nonsense far from where it was read)."""
    try:
        t = float(value)
    except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: a JSON int 1e400
        raise CollectorBadResponse(
            f"sample time {upstream_text(value)[:80]!r} is not a finite number"
        ) from exc
    if not math.isfinite(t):
        raise CollectorBadResponse(f"sample time {value!r} is not a finite number")
    return t


#: label values taken as text: Prometheus only sends strings, a proxy may turn "1" into 1
_SCALARS = (str, int, float, bool)


def _labels(metric: Any) -> dict[str, str]:
    """A series' labels as text. Every reader keys rows, joins and dictionaries on label
    values, so a list or an object where a string belongs (a broken or hostile endpoint)
    would raise far from here, for the whole fleet: the answer is refused here instead, and
    only this cluster's read of this query fails, with the reason."""
    if metric is None:
        return {}
    if not isinstance(metric, dict):
        raise CollectorBadResponse(f"series labels are not an object: {str(metric)[:80]!r}")
    labels = {}
    for key, value in metric.items():
        if not isinstance(value, _SCALARS) or not isinstance(key, str):
            raise CollectorBadResponse(f"label {str(key)[:40]!r} is not a string")
        labels[key] = value if isinstance(value, str) else str(value)
    return labels


def _item(item: Any) -> dict[str, Any]:
    """One series of a vector or matrix: an object, or the answer is not Prometheus'."""
    if not isinstance(item, dict):
        raise CollectorBadResponse(f"a series is not an object: {upstream_text(item)[:80]!r}")
    return item


#: the most native-histogram series named in the one warning that says they were left out
MOST_NAMED = 5


def _left_out(histograms: list[dict[str, str]]) -> list[str]:
    """The one warning for the native histograms left out (none: none), naming the first few
    series they were of (a series' float samples before or after them are kept).
    Their buckets are no number a chart or a table holds; a query that wants one asks for it
    (``histogram_count``, ``histogram_sum``, ``histogram_quantile``)."""
    if not histograms:
        return []
    named = ", ".join(upstream_text(labels_text(h))[:120] for h in histograms[:MOST_NAMED])
    more = f" and {len(histograms) - MOST_NAMED} more" if len(histograms) > MOST_NAMED else ""
    return [
        f"the native histogram samples of {len(histograms)} series left out (not charted: ask for "
        f"histogram_count(), histogram_sum() or histogram_quantile() of them): {named}{more}"
    ]


def _matrix(result: Any) -> tuple[list[PromSeries], list[str]]:
    out = []
    histograms = []
    for item in map(_item, result or []):
        values = item.get("values") or []
        labels = _labels(item.get("metric"))
        if item.get("histograms"):  # a series that was (or became) a native histogram
            histograms.append(labels)
            if not values:  # nothing but histograms: no series with no points
                continue
        out.append(
            PromSeries(
                labels,
                np.fromiter((_time(p[0]) for p in values), dtype=np.float64, count=len(values)),
                np.fromiter((_float(p[1]) for p in values), dtype=np.float64, count=len(values)),
            )
        )
    return out, _left_out(histograms)


def _vector(result: Any) -> tuple[list[PromSeries], list[str]]:
    out = []
    histograms = []
    for item in map(_item, result or []):
        if "value" not in item and "histogram" in item:  # one native histogram: not the others
            histograms.append(_labels(item.get("metric")))
            continue
        t, v = item["value"]
        out.append(
            PromSeries(_labels(item.get("metric")), np.array([_time(t)]), np.array([_float(v)]))
        )
    return out, _left_out(histograms)


def _scalar(result: Any) -> tuple[list[PromSeries], list[str]]:
    if not isinstance(result, list) or len(result) != 2:
        raise CollectorBadResponse("scalar result is not [time, value]")
    t, v = result
    return [PromSeries({}, np.array([_time(t)]), np.array([_float(v)]))], []


#: how a string result's text begins among the answer's warnings
STRING_RESULT = "a string result, not a series"


def _string(result: Any) -> tuple[list[PromSeries], list[str]]:
    """A string expression's answer (``"text"`` in PromQL) is no series: its text is said
    among the warnings, not answered as nothing at all. It is the whole answer, nothing
    missing: the multi-cluster engine says it as a note (by ``STRING_RESULT``)."""
    if not isinstance(result, list) or len(result) != 2:
        raise CollectorBadResponse("string result is not [time, text]")
    return [], [f"{STRING_RESULT}: {upstream_text(result[1])[:200]!r}"]


_PARSERS = {"matrix": _matrix, "vector": _vector, "scalar": _scalar, "string": _string}


def parse_query_data(payload: Any, backend: str = "prometheus") -> PromResult:
    """Parse the ``/api/v1/query`` / ``query_range`` envelope into ``PromResult``."""
    if not isinstance(payload, dict) or payload.get("status") not in ("success", "error"):
        raise CollectorBadResponse(f"{backend}: not a Prometheus API response", backend=backend)
    if payload["status"] == "error":
        upstream = upstream_text(payload.get("error", "unknown error"))
        raise CollectorInvalidQuery(
            f"{backend} refused the query: {upstream}", upstream=upstream, backend=backend
        )
    data = payload.get("data")
    if not isinstance(data, dict) or "resultType" not in data:
        raise CollectorBadResponse(f"{backend}: response has no data.resultType", backend=backend)
    kind = data["resultType"]
    parser = _PARSERS.get(kind)
    if parser is None:
        raise CollectorBadResponse(f"{backend}: unknown resultType {kind!r}", backend=backend)
    try:
        series, left_out = parser(data.get("result"))
        warnings = _warnings(payload.get("warnings")) + left_out
    except CollectorBadResponse as exc:  # said without the backend: say whose answer it was
        raise CollectorBadResponse(f"{backend}: {exc}", backend=backend) from exc
    except SHAPE_ERRORS as exc:
        raise CollectorBadResponse(
            f"{backend}: result not in Prometheus format ({upstream_text(exc)[:200]})",
            backend=backend,
        ) from exc
    return PromResult(kind, series, warnings)


def _data(payload: Any, backend: str) -> Any:
    if not isinstance(payload, dict) or payload.get("status") != "success":
        upstream = (
            upstream_text(payload.get("error")) if isinstance(payload, dict) else "no envelope"
        )
        raise CollectorBadResponse(f"{backend}: unexpected answer: {upstream}", backend=backend)
    return payload.get("data")


class PrometheusClient:
    def __init__(self, http: BackendClient) -> None:
        self.http = http

    @property
    def name(self) -> str:
        return self.http.name

    async def query(
        self, promql: str, at: datetime | float | None = None, *, timeout_s: float | None = None
    ) -> PromResult:
        form = {"query": promql}
        if at is not None:
            form["time"] = _ts(at)
        if timeout_s is not None:
            form["timeout"] = f"{timeout_s:g}s"
        result: PromResult = await self.http.post_json(
            "/api/v1/query", form, timeout_s=timeout_s, then=self._parse
        )
        return result

    async def query_range(
        self,
        promql: str,
        start: datetime | float,
        end: datetime | float,
        step: timedelta | float,
        *,
        timeout_s: float | None = None,
    ) -> PromResult:
        form = {"query": promql, "start": _ts(start), "end": _ts(end), "step": _step(step)}
        if timeout_s is not None:
            form["timeout"] = f"{timeout_s:g}s"
        result: PromResult = await self.http.post_json(
            "/api/v1/query_range", form, timeout_s=timeout_s, then=self._parse
        )
        return result

    def _parse(self, payload: Any) -> PromResult:
        """Runs in a worker thread for big answers (see BackendClient.OFFLOAD_BYTES)."""
        return parse_query_data(payload, self.name)

    async def series(
        self, match: list[str], start: float | None = None, end: float | None = None
    ) -> list[dict[str, str]]:
        params: list[tuple[str, str]] = [("match[]", m) for m in match]
        params += [(k, _ts(v)) for k, v in (("start", start), ("end", end)) if v is not None]
        data = _data(await self.http.get_json("/api/v1/series", params), self.name)
        return [dict(item) for item in data or []]

    async def labels(self) -> list[str]:
        return [str(x) for x in _data(await self.http.get_json("/api/v1/labels"), self.name) or []]

    async def label_values(self, label: str) -> list[str]:
        data = _data(await self.http.get_json(f"/api/v1/label/{label}/values"), self.name)
        return [str(x) for x in data or []]

    async def metadata(self, metric: str | None = None) -> dict[str, list[dict[str, str]]]:
        params = {"metric": metric} if metric else None
        data = _data(await self.http.get_json("/api/v1/metadata", params), self.name)
        return dict(data or {})

    async def buildinfo(self) -> dict[str, str]:
        return dict(_data(await self.http.get_json("/api/v1/status/buildinfo"), self.name) or {})

    async def ready(self) -> bool:
        """Readiness: ``/-/ready`` (Prometheus, Thanos); VictoriaMetrics answers ``/health``.

        Not ready is False; an endpoint that cannot be reached, refuses the credential or
        redirects raises, with the reason (``ready_answer``).
        """
        status = await self.http.status("/-/ready")
        if status == 404:
            status = await self.http.status("/health")
        return ready_answer(self.http, status)

    async def newest_sample_age(
        self, promql: str = "max(timestamp(up)) or max(max_over_time(timestamp(up)[1h:15s]))"
    ) -> float | None:
        """Seconds since the newest sample of ``promql`` (fleet hubs: how fresh is the data).
        The default looks back an hour, so a hub whose pushes stopped 20 minutes ago says
        "20 min old" rather than nothing (a plain instant query sees 5 minutes back)."""
        result = await self.query(promql)
        newest = max((s.values[-1] for s in result.series if s.values.size), default=math.nan)
        if math.isnan(newest):
            return None
        return max(0.0, datetime.now(UTC).timestamp() - float(newest))

    async def aclose(self) -> None:
        await self.http.aclose()
