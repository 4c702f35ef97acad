"""Rows kept per cluster when the read failed in part: each field has its own query, so a row
can come back from a cluster whose read failed without the field that judged it (a GPU's
temperature, a port's clock class). Such a row does not replace what was read whole before:
that stays shown, stale, unless the new row says something worse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiops_desktop.services.polling.freshness import LastGoodRows

T0 = datetime(2026, 11, 27, 6, 0, 0, tzinfo=UTC)
Row = tuple[str, str, int | None, str]  # cluster, thing, a field's value, state

RANK = {"OK": 0, "WARNING": 1, "CRITICAL": 2}


def says_less(new: Row, old: Row) -> bool:
    """``new`` lacks the field ``old`` had, and is no worse."""
    return old[2] is not None and new[2] is None and RANK[new[3]] <= RANK[old[3]]


def kept() -> LastGoodRows[Row]:
    return LastGoodRows(lambda r: (r[0], r[1]), lambda r: r[0], says_less)


def down(*names: str):  # type: ignore[no-untyped-def]
    return lambda name: name in names


def test_a_row_read_in_part_from_a_failed_cluster_keeps_its_last_whole_reading() -> None:
    store = kept()
    store.offer([("a", "1", 85, "CRITICAL"), ("a", "2", 40, "OK")], [], down(), T0)
    later = T0 + timedelta(minutes=2)
    # the field's query timed out for a: both rows come back without it, judged OK
    shown = store.offer([("a", "1", None, "OK"), ("a", "2", None, "OK")],
                        ["a: query timed out"], down("a"), later)  # fmt: skip
    assert [(x.row, x.stale, x.as_of) for x in shown.rows] == [
        (("a", "1", 85, "CRITICAL"), True, T0),
        (("a", "2", 40, "OK"), True, T0),
    ]
    assert shown.stale == {"a": T0} and shown.badge(now=later).startswith("STALE: ")
    # still failing: compared with the last whole reading, not the partial one, same age
    again = store.offer([("a", "1", None, "OK")], ["a: timed out"], down("a"), later)
    assert [(x.row, x.as_of) for x in again.rows] == [
        (("a", "1", 85, "CRITICAL"), T0), (("a", "2", 40, "OK"), T0)
    ]  # fmt: skip
    # read whole again: this read's
    back = store.offer([("a", "1", 60, "OK")], [], down(), later)
    assert [(x.row, x.stale) for x in back.rows] == [(("a", "1", 60, "OK"), False)]


def test_a_worse_row_read_in_part_is_shown_fresh() -> None:
    store = kept()
    store.offer([("a", "1", 85, "WARNING")], [], down(), T0)
    shown = store.offer([("a", "1", None, "CRITICAL")], ["a: timed out"], down("a"), T0)
    assert [(x.row, x.stale) for x in shown.rows] == [(("a", "1", None, "CRITICAL"), False)]


def test_a_row_lacking_a_field_of_a_cluster_read_fine_is_this_reads() -> None:
    """Nothing failed for b: a field no longer reported is the answer, not a failure."""
    store = kept()
    store.offer([("b", "1", 85, "CRITICAL")], [], down(), T0)
    shown = store.offer([("b", "1", None, "OK")], ["a: refused"], down("a"), T0)
    assert [(x.row, x.stale) for x in shown.rows] == [(("b", "1", None, "OK"), False)]


def test_without_a_says_less_rule_a_new_row_always_replaces_its_old_one() -> None:
    store: LastGoodRows[Row] = LastGoodRows(lambda r: (r[0], r[1]), lambda r: r[0])
    store.offer([("a", "1", 85, "CRITICAL")], [], down(), T0)
    shown = store.offer([("a", "1", None, "OK")], ["a: timed out"], down("a"), T0)
    assert [(x.row, x.stale) for x in shown.rows] == [(("a", "1", None, "OK"), False)]
