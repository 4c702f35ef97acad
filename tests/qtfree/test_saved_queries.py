"""Saved queries (PRODUCT section 2, "query history and saved queries"): kept by name, listed,
deleted; refused to a viewer and in a capture (read-only); from the command line too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiops_desktop.models import Aggregation
from aiops_desktop.models.enums import UserRole
from aiops_desktop.models.errors import NotFoundError, UsageError
from aiops_desktop.models.metrics import ConsoleRequest
from aiops_desktop.services.queries.console import SAVED_NAME_CHARS, QueryConsole
from aiops_desktop.services.runtime.access import Access, AccessDenied
from aiops_desktop.store.database import Database
from aiops_desktop.store.queries import QueryRepository
from tests.qtfree.cli_runner import call_main
from tests.qtfree.test_cli_commands_review_fixes import SAMPLE

GPU_TEMP = ConsoleRequest(promql="max by (cluster) (DCGM_FI_DEV_GPU_TEMP)",
                          clusters=["ran-east", "ai-lab"], range_s=7200, step_s=60,
                          aggregation=Aggregation.MAX)  # fmt: skip


def _console(folder: Path, **kwargs: object) -> tuple[QueryConsole, Database]:
    db = Database(folder / "cache.sqlite3")
    return QueryConsole(None, None, QueryRepository(db), **kwargs), db  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_query_is_saved_listed_replaced_and_deleted(tmp_path: Path) -> None:
    console, db = _console(tmp_path)
    try:
        kept = await console.save("  GPU\ttemperatures\n", GPU_TEMP)
        assert kept == "GPU temperatures"  # one line, as it is listed
        await console.save("Up", ConsoleRequest(promql="up", clusters=[]))
        (gpu, up) = await console.saved()
        assert (gpu.name, gpu.promql, gpu.clusters) == (kept, GPU_TEMP.promql, GPU_TEMP.clusters)
        assert (gpu.query_type, gpu.range_s, gpu.step_s, gpu.aggregation) == (
            "RANGE",
            7200,
            60,
            "MAX",
        )
        assert (up.name, up.query_type, up.range_s) == ("Up", "INSTANT", None)
        await console.save("Up", ConsoleRequest(promql="up == 0", clusters=[]))  # replaced
        assert [(r.name, r.promql) for r in await console.saved()][1] == ("Up", "up == 0")
        await console.delete_saved("Up")
        assert [r.name for r in await console.saved()] == [kept]
        with pytest.raises(NotFoundError, match="no saved query is named 'Up'"):
            await console.delete_saved("Up")
    finally:
        db.close()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("name", "request_", "said"),
    [
        (" \n", GPU_TEMP, "needs a name"),
        ("x" * (SAVED_NAME_CHARS + 1), GPU_TEMP, f"at most {SAVED_NAME_CHARS} characters"),
        ("Nothing", ConsoleRequest(promql="  ", clusters=[]), "no query to save"),
    ],
)
async def test_a_save_without_a_name_or_a_query_is_refused(
    tmp_path: Path, name: str, request_: ConsoleRequest, said: str
) -> None:
    console, db = _console(tmp_path)
    try:
        with pytest.raises(UsageError, match=said):
            await console.save(name, request_)
        assert await console.saved() == []
    finally:
        db.close()


@pytest.mark.asyncio
async def test_a_viewer_and_a_capture_save_nothing(tmp_path: Path) -> None:
    viewer, db = _console(tmp_path, access=Access(UserRole.VIEWER))
    repo = QueryRepository(db)
    capture = QueryConsole(None, None, repo, read_only="a capture is read-only: save them "  # type: ignore[arg-type]
                           "elsewhere")  # fmt: skip
    operator = QueryConsole(None, None, repo, access=Access(UserRole.OPERATOR))  # type: ignore[arg-type]
    try:
        with pytest.raises(AccessDenied, match="may not save or delete queries"):
            await viewer.save("GPU", GPU_TEMP)
        with pytest.raises(UsageError, match="a capture is read-only"):
            await capture.save("GPU", GPU_TEMP)
        assert await viewer.saved() == []
        assert await operator.save("GPU", GPU_TEMP) == "GPU"  # an operator may
        with pytest.raises(AccessDenied):
            await viewer.delete_saved("GPU")
    finally:
        db.close()


def test_the_command_line_saves_lists_and_deletes(tmp_path: Path) -> None:
    """``query --save`` keeps the query even where no cluster answers it now (nothing
    listens: kept for when it does), but not one naming no cluster registered;
    ``saved-queries`` lists it, as JSON too."""
    code, _, err = call_main(tmp_path, "query", "up", "--save", "Nobody", "--clusters", "esat-1")
    assert code == 4 and "saved as" not in err  # a typo is not kept
    code, _, err = call_main(tmp_path, "clusters", "add", "east",
                             "--prometheus-url", "http://127.0.0.1:9")  # fmt: skip
    assert code == 0, err
    code, _, err = call_main(tmp_path, "query", "up", "--save", "Everything up", "--range", "2h",
                             "--timeout", "2")  # fmt: skip
    assert "saved as 'Everything up'" in err and code == 1  # saved; not answered now
    code, out, _ = call_main(tmp_path, "saved-queries")
    assert code == 0
    assert out == ("Everything up: up\n"
                   "  range 2h, step 60 s, merge, on every cluster with metrics\n")  # fmt: skip
    code, out, _ = call_main(tmp_path, "saved-queries", "--json")
    (doc,) = json.loads(out)
    assert doc["name"] == "Everything up" and doc["range_s"] == 7200 and doc["clusters"] == []
    code, _, err = call_main(tmp_path, "saved-queries", "--delete", "Everything up")
    assert code == 0 and "deleted 'Everything up'" in err
    code, out, _ = call_main(tmp_path, "saved-queries")
    assert out.startswith("no saved query")


def test_a_capture_refuses_a_save_on_the_command_line(tmp_path: Path) -> None:
    code, _, err = call_main(tmp_path, "--capture", str(SAMPLE), "query", "up", "--save", "x")
    assert code != 0 and "a capture is read-only" in err


def test_a_query_every_cluster_refuses_is_invalid_input_live_too() -> None:
    """Exit 2 for bad PromQL, live as on a capture (docs/architecture.md); an outage 1."""
    from aiops_desktop.cli.data import refused_or_error
    from aiops_desktop.models import QueryStatus
    from aiops_desktop.models.metrics import ClusterOutcome, MetricQuery, QueryAnswer

    def answer(*reasons: str) -> QueryAnswer:
        failed = [ClusterOutcome(f"c{i}", False, 1.0, reason=r, error="x")
                  for i, r in enumerate(reasons)]  # fmt: skip
        return QueryAnswer(MetricQuery(promql="up("), QueryStatus.ERROR, [], failed, 1.0)

    assert refused_or_error(answer("invalid_query", "invalid_query")) == 2
    assert refused_or_error(answer("invalid_query", "unreachable")) == 1
    assert refused_or_error(answer()) == 1


def test_the_fleet_of_a_cache_without_clusters_is_not_a_quiet_fleet(tmp_path: Path) -> None:
    code, out, err = call_main(tmp_path, "fleet")
    assert code == 4 and "no cluster is registered" in err and out == ""


def test_a_query_every_cluster_refuses_is_not_saved(tmp_path: Path) -> None:
    """PromQL every server refuses (bad_data) can never answer: not kept, and not said to be
    (it was saved before it ran); one merely unreachable is kept (an answer may come later);
    a save refused (no name) is refused before the query is asked (review of da25f29)."""
    from tests.qtfree.test_cli_hostile import Stub, prometheus

    refusing = Stub(prometheus("refuse"))
    try:
        code, _, err = call_main(tmp_path, "clusters", "add", "east",
                                 "--prometheus-url", refusing.url)  # fmt: skip
        assert code == 0, err
        code, _, err = call_main(tmp_path, "query", "rate(up[5m]", "--save", "Broken")
        assert code == 2 and "saved as" not in err and "not saved" in err, err
        assert call_main(tmp_path, "saved-queries")[1].startswith("no saved query")
        asked = len(refusing.asked)
        code, _, err = call_main(tmp_path, "query", "up", "--save", " \n")
        assert code == 2 and "needs a name" in err and len(refusing.asked) == asked
    finally:
        refusing.stop()


@pytest.mark.asyncio
@pytest.mark.parametrize("typed", ["GPU\ttemps", " GPU temps ", "GPU\ntemps"])
async def test_a_saved_query_is_deleted_by_the_name_it_was_saved_by(
    tmp_path: Path, typed: str
) -> None:
    """save keeps a name as one stripped line; delete_saved looked it up as typed ('not
    found' for the very name --save took) (review of da25f29)."""
    console, db = _console(tmp_path)
    try:
        assert await console.save(typed, GPU_TEMP) == "GPU temps"
        assert await console.delete_saved(typed) == "GPU temps"
        assert await console.saved() == []
    finally:
        db.close()


def test_saved_queries_not_kept_by_save_are_listed_one_cut_line_each(tmp_path: Path) -> None:
    """A saved query may come from elsewhere than ``save`` (an opened capture's table): its
    name, PromQL, clusters and aggregation are printed one printable cut line each, as text
    and as JSON (a 200 KB name with line breaks and a right-to-left override was printed as
    it was) (review of da25f29)."""
    from aiops_desktop.cli.data import SAVED_PROMQL_SHOWN
    from aiops_desktop.models.metrics import QueryRecord
    from aiops_desktop.settings import DB_FILENAME

    db = Database(tmp_path / DB_FILENAME)  # the command line's cache
    hostile = "GPU temps\nFAKE: rm -rf / \u202eevil\u202c" + "x" * 200_000
    record = QueryRecord(promql="up\n" + "y" * 100_000, clusters=["ran\neast" + "z" * 9000],
                         query_type="INSTANT", range_s=None, step_s=60,
                         aggregation="MERGE\nFORGED" + "w" * 9000, name=hostile)  # fmt: skip
    try:
        QueryRepository(db).save(record).result(timeout=30)
    finally:
        db.close()
    code, out, _ = call_main(tmp_path, "saved-queries")
    assert code == 0 and len(out.splitlines()) == 2, out[:300]
    assert out.startswith("GPU temps FAKE: rm -rf / evil") and "\u202e" not in out
    name, promql = out.splitlines()[0].split(": up ", 1)
    assert len(name) == SAVED_NAME_CHARS and len("up " + promql) == SAVED_PROMQL_SHOWN
    assert len(out) < 2 * SAVED_PROMQL_SHOWN + 2 * SAVED_NAME_CHARS
    code, out, _ = call_main(tmp_path, "saved-queries", "--json")
    (doc,) = json.loads(out)
    assert len(doc["name"]) == SAVED_NAME_CHARS and "\n" not in doc["name"]
    assert len(doc["promql"]) == SAVED_PROMQL_SHOWN and "\u202e" not in doc["name"]
    assert len(out) < 1500
