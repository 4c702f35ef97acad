"""The PromQL console's service: run one query over chosen clusters, keep the history."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from aiops_desktop.models import Aggregation, Cluster, EndpointKind, QueryType, utcnow
from aiops_desktop.models.errors import NotFoundError, UsageError
from aiops_desktop.models.metrics import ConsoleRequest, MetricQuery, QueryAnswer, QueryRecord
from aiops_desktop.models.text import one_line
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.queries.multicluster import MultiClusterQuery, combined
from aiops_desktop.services.runtime.access import Access, Action
from aiops_desktop.store.queries import QueryRepository

log = logging.getLogger(__name__)
SAVED_NAME_CHARS = 80  # the most of a saved query's name


def saved_name(name: str) -> str:
    """A saved query's name as it is kept and looked up: one line, no blanks around it (the
    name ``save`` took is the one ``delete_saved`` finds, a tab or a trailing blank alike)."""
    return one_line(name).strip()


@dataclass
class ConsoleAnswer(QueryAnswer):
    """A console query's answer, with what the person should know beside it (``notes``: a
    coarser step than asked, its history row could not be written, say)."""


class QueryConsole:
    def __init__(
        self,
        registry: ClusterRegistry,
        queries: MultiClusterQuery,
        repo: QueryRepository,
        *,
        access: Access | None = None,
        read_only: str | None = None,
    ) -> None:
        self._registry = registry
        self._queries = queries
        self._repo = repo
        self._access = access or Access()
        #: why nothing can be saved (an opened capture), or None
        self._read_only = read_only

    def targets(self, names: list[str]) -> tuple[list[Cluster], frozenset[str] | None]:
        """The clusters to ask (a hub member through its hub) and whose series to keep."""
        if not names:
            chosen = [c for c in self._registry.clusters() if c.endpoint(EndpointKind.PROMETHEUS)]
            return chosen, None
        return self._registry.targets(names)

    def recorded(self, kind: QueryType) -> list[str] | None:
        """The PromQL of ``kind`` a capture answers (those its export recorded), sorted; None
        where the queries are not a capture's (live: any may be asked)."""
        from aiops_desktop.services.outputs.recorded import RecordedQueries

        if not isinstance(self._queries, RecordedQueries):
            return None
        return self._queries.promql(kind)

    async def run(self, request: ConsoleRequest) -> ConsoleAnswer:
        clusters, keep = self.targets(request.clusters)
        now = utcnow()
        query = MetricQuery(
            promql=request.promql,
            query_type=QueryType.RANGE if request.range_s else QueryType.INSTANT,
            start=now - timedelta(seconds=request.range_s) if request.range_s else None,
            end=now,
            step=timedelta(seconds=request.step_s),
            clusters=[c.name for c in clusters],
            aggregation=Aggregation.MERGE,  # combined here, once the members not asked are out
            timeout_s=request.timeout_s,
        )
        merged = await self._queries.run(query, clusters)
        answer = ConsoleAnswer(
            query=merged.query.model_copy(update={"aggregation": request.aggregation}),
            status=merged.status,
            series=await combined(merged.series, request.aggregation, keep),
            outcomes=merged.outcomes,
            duration_ms=merged.duration_ms,
            fetched_at=merged.fetched_at,
            notes=list(merged.notes),  # a coarser step than asked (11,000 points at most)
        )
        record = QueryRecord(
            promql=request.promql,
            clusters=request.clusters,
            query_type=query.query_type.value,
            range_s=request.range_s,
            step_s=request.step_s,
            aggregation=request.aggregation.value,
            status=answer.status.value,
            series=len(answer.series),
            duration_ms=answer.duration_ms,
            run_at=now.isoformat(),
        )
        try:
            await asyncio.wrap_future(self._repo.record(record))
        except Exception as exc:  # a full disk, a locked database: the answer is fetched, kept
            log.warning("query history not saved", extra={"error": str(exc)[:200]})
            answer.notes.append(f"query history not saved: {str(exc)[:200]}")
        return answer

    async def history(self, limit: int = 100) -> list[QueryRecord]:
        return await asyncio.to_thread(self._repo.history, limit)

    def _may_save(self) -> None:
        if self._read_only:
            raise UsageError(self._read_only)
        self._access.require(Action.SAVE_QUERIES)

    def check_save(self, name: str, request: ConsoleRequest) -> str:
        """The name ``request`` would be kept under (``saved_name``), or why it may not be:
        UsageError: no name, too long, no query, a capture (read-only); AccessDenied: a viewer.
        Asked before the query runs (``query --save``): one refused is never asked."""
        self._may_save()
        name = saved_name(name)
        if not name:
            raise UsageError("a saved query needs a name")
        if len(name) > SAVED_NAME_CHARS:
            raise UsageError(f"a saved query's name is at most {SAVED_NAME_CHARS} characters")
        if not request.promql.strip():
            raise UsageError("there is no query to save: type a PromQL query first")
        return name

    async def save(self, name: str, request: ConsoleRequest) -> str:
        """Keep ``request`` under ``name`` (one of that name is replaced); the name as kept:
        one line, at most SAVED_NAME_CHARS (``check_save``)."""
        name = self.check_save(name, request)
        record = QueryRecord(
            name=name,
            promql=request.promql,
            clusters=request.clusters,
            query_type=QueryType.RANGE.value if request.range_s else QueryType.INSTANT.value,
            range_s=request.range_s,
            step_s=request.step_s,
            aggregation=request.aggregation.value,
            run_at=utcnow().isoformat(),
        )
        await asyncio.wrap_future(self._repo.save(record))
        return name

    async def saved(self) -> list[QueryRecord]:
        """The saved queries, by name."""
        return await asyncio.to_thread(self._repo.saved)

    async def delete_saved(self, name: str) -> str:
        """The name deleted, as ``save`` keeps it (``saved_name``); NotFoundError where none
        has that name."""
        self._may_save()
        name = saved_name(name)
        if not await asyncio.wrap_future(self._repo.delete_saved(name)):
            raise NotFoundError(f"no saved query is named {name[:SAVED_NAME_CHARS]!r}")
        return name


__all__ = ["ConsoleAnswer", "ConsoleRequest", "QueryConsole", "QueryRecord"]
