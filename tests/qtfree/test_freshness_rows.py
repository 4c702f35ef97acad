"""Rows kept per cluster: a cluster that cannot be read keeps its last rows, marked stale with
their age; every other cluster's rows are the newest read's, whatever failed elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiops_desktop.services.polling.freshness import LastGoodRows, ShownRows

T0 = datetime(2026, 11, 27, 6, 0, 0, tzinfo=UTC)
Row = tuple[str, str, str]  # cluster, thing, state


def kept() -> LastGoodRows[Row]:
    return LastGoodRows(lambda r: (r[0], r[1]), lambda r: r[0])


def down(*names: str):  # type: ignore[no-untyped-def]
    return lambda name: name in names


def rows(shown: ShownRows[Row]) -> list[tuple[Row, bool]]:
    return [(a.row, a.stale) for a in shown.rows]


def test_a_failed_cluster_keeps_its_rows_and_the_others_show_theirs() -> None:
    store = kept()
    first = [("a", "1", "OK"), ("a", "2", "OK"), ("a", "3", "OK"), ("b", "1", "OK")]
    assert store.offer(first, [], down(), T0).badge() == ""
    # a times out; b's GPU fell off the bus: fewer rows than before, and a problem
    later = T0 + timedelta(minutes=3)
    shown = store.offer([("b", "1", "CRITICAL")], ["a: timed out"], down("a"), later)
    assert rows(shown) == [
        (("b", "1", "CRITICAL"), False),  # fresh, never hidden behind the old answer
        (("a", "1", "OK"), True), (("a", "2", "OK"), True), (("a", "3", "OK"), True),
    ]  # fmt: skip
    assert all(a.as_of == T0 for a in shown.rows if a.stale) and shown.stale == {"a": T0}
    assert shown.badge(now=later) == (
        "STALE: showing data from 2026-11-27 06:00:00 UTC (3 min ago) for a: a: timed out"
    )


def test_a_row_of_a_cluster_read_fine_is_gone_whatever_failed_elsewhere() -> None:
    store = kept()
    store.offer([("a", "1", "OK"), ("b", "1", "OK"), ("b", "2", "OK")], [], down(), T0)
    shown = store.offer([("b", "1", "OK")], ["a: unreachable"], down("a"), T0)
    assert rows(shown) == [(("b", "1", "OK"), False), (("a", "1", "OK"), True)]


def test_a_cluster_read_in_part_keeps_only_what_it_did_not_answer() -> None:
    """nvidia-smi failed on one node: the cluster's other nodes are this read's."""
    store = kept()
    store.offer([("a", "n1", "OK"), ("a", "n2", "OK")], [], down(), T0)
    later = T0 + timedelta(seconds=30)
    shown = store.offer([("a", "n1", "WARNING")], ["a: nvidia-smi on n2: exit 15"], down("a"),
                        later)  # fmt: skip
    assert rows(shown) == [(("a", "n1", "WARNING"), False), (("a", "n2", "OK"), True)]
    assert shown.rows[0].as_of == later and shown.rows[1].as_of == T0


def test_kept_rows_keep_their_age_until_their_cluster_is_read_again() -> None:
    store = kept()
    store.offer([("a", "1", "OK"), ("b", "1", "OK")], [], down(), T0)
    for minutes in (1, 2, 10):
        shown = store.offer([("b", "1", "OK")], ["a: refused"], down("a"),
                            T0 + timedelta(minutes=minutes))  # fmt: skip
        assert rows(shown)[1] == (("a", "1", "OK"), True) and shown.stale == {"a": T0}
    assert "(10 min ago) for a" in shown.badge(now=T0 + timedelta(minutes=10))
    back = store.offer([("b", "1", "OK")], [], down(), T0 + timedelta(minutes=11))
    assert rows(back) == [(("b", "1", "OK"), False)] and back.badge() == ""  # a has none now
    # a problem that loses nothing is said as it is, without STALE
    fine = store.offer([("b", "1", "OK")], ["b: one field timed out"], down("b"), T0)
    assert fine.badge() == "b: one field timed out"


def test_the_badge_names_a_few_clusters_and_counts_the_rest() -> None:
    store = kept()
    store.offer([(f"m{i:02}", "1", "OK") for i in range(40)], [], down(), T0)
    hub_down = store.offer([], ["hub: unreachable"], lambda name: True, T0 + timedelta(hours=3))
    assert hub_down.badge(now=T0 + timedelta(hours=3)) == (
        "STALE: showing data from 2026-11-27 06:00:00 UTC (3.0 h ago) for 40 clusters "
        "(m00, m01, m02, m03, m04 and 35 more): hub: unreachable"
    )
