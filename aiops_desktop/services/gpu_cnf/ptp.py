"""PTP readers over PromQL (linuxptp-daemon series) and the fleet timing board.

Every (cluster, node, interface, process) that reports a clock state becomes a row with its
offset, clock class, interface role, process status and restarts, worst first; compliance over
a window (``analysis.ptp_compliance``) comes from range queries of the clock state and offset.
Queries live in ``resources/ptp/queries.json``.

linuxptp-daemon does not label every series alike: the clock state and offset name the port
its clock follows by the NIC's alias (ens2f0 -> ens2fx, ``port_aliases``), the interface role
names each real port (ens2f0, ens2f1), and the clock class names no port at all (``process``,
``node`` and, since 2025, ``config``). So a role joins the row of its alias (the SLAVE port
where several ports share one), a port with a role and no row of its own is a row of its own
(a MASTER or FAULTY port), and a clock class joins every row of its node's process.

The daemon sets a clock state from ptp4l's offset log lines only: a ptp4l that fails at start
never has one. A process reported down with no row of its own, and a bad clock class, GNSS or
DPLL status with no row to join, each make a row (``_orphan_rows``) rather than vanish; so
does a ptp4l up that never locked on a node with no clock state at all (``_unclocked_rows``).
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import numpy as np

from aiops_desktop.models import Cluster, QueryType, utcnow
from aiops_desktop.models.metrics import ClusterOutcome, MetricQuery, TaggedSeries
from aiops_desktop.models.ptp import (
    DEFAULT_THRESHOLD,
    FAULTY_OFFSET_NS,
    ClockState,
    PtpBoard,
    PtpRow,
    Threshold,
    metric_code,
)
from aiops_desktop.services.polling.catalog import field_queries
from aiops_desktop.services.queries.field_reads import (
    joined_by_time,
    label,
    last_value,
    read_in_part,
    unique_failures,
)
from aiops_desktop.services.queries.multicluster import MultiClusterQuery, within_points
from aiops_desktop.services.runtime.gathering import gather_all
from analysis.ptp_compliance import (
    CLASS_MEANING,
    CLOCK_TYPE_NOTE,
    CLOCK_TYPE_PROCESSES,
    DPLL_CODES,
    DPLL_LOST,
    GNSS_CODES,
    GNSS_FIXED,
    LOCKED_CLASSES,
    PORT_ONLY_NOTE,
    class_badness,
    code_text,
    compliance,
    is_port_only,
    offset_ok,
    role_of,
)
from analysis.ptp_profiles import NodeThresholds, tightest

Key = tuple[str, str, str, str]  # cluster, node, iface, process
#: (cluster, node) -> the threshold of the node's PtpConfig profile; a node that runs several
#: profiles (``NodeThresholds``) has one per port
Thresholds = Mapping[tuple[str, str], Threshold]


def ptp_queries() -> dict[str, str]:
    return field_queries("ptp")


def _key(tagged: TaggedSeries) -> Key:
    labels = tagged.series.labels
    return tagged.cluster, label(labels, "node"), label(labels, "iface"), label(labels, "process")


def board_rows(
    answers: dict[str, list[TaggedSeries]],
    default: Threshold = DEFAULT_THRESHOLD,
    thresholds: Thresholds | None = None,
) -> list[PtpRow]:
    """One row per port and process that reports a clock state, one per port that has an
    interface role but no row (``_join_roles``), and one per process down, or bad signal,
    with no row to join (``_orphan_rows``), worst first; each judged against its port's
    profile threshold (``port_threshold``: ``default`` where the node has none)."""
    rows: dict[Key, PtpRow] = {}
    newest: dict[Key, float] = {}  # a port's series split by a changed label: the newest
    for tagged in answers.get("clock_state", []):
        key = _key(tagged)
        if _newest(tagged) < newest.get(key, -math.inf):
            continue
        newest[key] = _newest(tagged)
        threshold = port_threshold(thresholds or {}, default, key)
        rows[key] = PtpRow(
            *key, state=ClockState.from_metric(last_value(tagged)), threshold=threshold
        )
    _join_roles(rows, answers.get("role", []), default, thresholds or {})
    _orphan_rows(rows, answers, default, thresholds or {})
    _unclocked_rows(rows, answers, default, thresholds or {})
    _join_values(rows, answers)
    _join_clock_class(rows, answers.get("clock_class", []))
    for row in rows.values():
        _annotate(row)
    return sorted(rows.values(), key=lambda r: (r.rank, r.cluster, r.node, r.iface, r.process))


#: linuxptp-daemon's alias since 2025-09 (``utils.GetAlias``): the last digits, and a
#: Mellanox ``np`` suffix, masked; a VLAN suffix kept
_ALIAS = re.compile(r"^(.+?)(\d+)(?:np\d+)?(\..+)?$")
#: the longest name ``port_aliases`` masks: Linux's limit is 15 characters (IFNAMSIZ 16), and
#: ``_ALIAS`` backtracks quadratically (a 20 kB label of digits: 15 s holding the GIL)
_ALIASED_NAME_MAX = 64


def port_threshold(thresholds: Thresholds, default: Threshold, key: Key) -> Threshold:
    """The band port ``key`` is judged by: its node's profile's; where the node runs several
    (``NodeThresholds``: one per NIC), that of the profile naming the port, by its name or as
    the alias its clock state goes by (ens2fx for ens2f0), else the tightest of the node's."""
    found = thresholds.get((key[0], key[1]), default)
    if not isinstance(found, NodeThresholds):
        return found
    own = [t for name, t in found.ports if name == key[2]] or [
        t for name, t in found.ports if key[2] and key[2] in port_aliases(name)
    ]
    return tightest(own) if own else found.fallback


def port_aliases(iface: str) -> frozenset[str]:
    """The names linuxptp-daemon may give port ``iface``'s clock in its clock state and
    offset series; its rule changed over releases, so every one of them: the name with its
    last character masked (ens2f0 -> ens2fx: to 2025-04), the same before a VLAN suffix
    (ens2f0.100 -> ens2fx.100), the last digits and an ``np`` suffix masked (enP2s2f0np0 ->
    enP2s2fx: since 2025-09), and the name itself (since 2026 a NIC whose ports do not alias
    to one name, or two NICs that would share one, keep their names). A name longer than
    any interface's (``_ALIASED_NAME_MAX``: any label a server sends) is its own only."""
    if not iface:
        return frozenset()
    if len(iface) > _ALIASED_NAME_MAX:
        return frozenset({iface})
    names = {iface, iface[:-1] + "x"}
    head, dot, vlan = iface.partition(".")
    if dot and head:
        names.add(head[:-1] + "x" + dot + vlan)
    match = _ALIAS.match(iface)
    if match:
        names.add(match[1] + "x" + (match[3] or ""))
    return frozenset(names)


def _join_roles(
    rows: dict[Key, PtpRow],
    series: list[TaggedSeries],
    default: Threshold,
    thresholds: Thresholds,
) -> None:
    """Each port's role (its newest series) onto the row of its own name or, failing that,
    of its alias (same cluster, node and process). Several ports of one NIC share its alias
    (a boundary clock's SLAVE port and its MASTER ports): the row is the clock the SLAVE port
    follows, so the SLAVE joins it, or the only port there is; every other port becomes a row
    of its own (a FAULTY port must be seen by its name, not lost behind its NIC's row), with
    no clock state or offset: the daemon reports those for the followed port only."""
    ports: dict[Key, tuple[float, str]] = {}  # (cluster, node, iface, process) -> (when, role)
    for tagged in series:
        key, when = _key(tagged), _newest(tagged)
        if key not in ports or when >= ports[key][0]:
            ports[key] = (when, role_of(last_value(tagged)))
    exact = {key for key in ports if key in rows}
    for key in exact:
        rows[key].role = ports[key][1]
    sharing: dict[Key, list[Key]] = {}  # a row -> the ports whose alias names it
    own: list[Key] = []
    for key in sorted(ports.keys() - exact):
        cluster, node, iface, process = key
        if not iface:
            continue  # a role of no port
        aliased = [a for name in sorted(port_aliases(iface) - {iface})
                   if (a := (cluster, node, name, process)) in rows]  # fmt: skip
        if aliased and aliased[0] not in exact:
            sharing.setdefault(aliased[0], []).append(key)
        else:
            own.append(key)
    for target, keys in sharing.items():
        slaves = [k for k in keys if ports[k][1] == "SLAVE"]
        joined = keys[0] if len(keys) == 1 else slaves[0] if len(slaves) == 1 else None
        if joined is not None:
            rows[target].role = ports[joined][1]
        own += [k for k in keys if k != joined]
    for key in own:
        threshold = port_threshold(thresholds, default, key)
        row = PtpRow(*key, state=ClockState.UNKNOWN, role=ports[key][1], threshold=threshold,
                     port_only=True)  # fmt: skip
        row.notes.append(PORT_ONLY_NOTE)
        rows[key] = row


#: the signal series that say a clock is in trouble whatever its state, and how (``_orphan_rows``)
_SIGNALS: dict[str, Callable[[float | None], bool]] = {
    "gnss": lambda v: code_text(GNSS_CODES, v) not in (None, *GNSS_FIXED),
    "dpll_phase": lambda v: code_text(DPLL_CODES, v) in DPLL_LOST,
    "dpll_frequency": lambda v: code_text(DPLL_CODES, v) in DPLL_LOST,
}


def _orphan_rows(
    rows: dict[Key, PtpRow],
    answers: dict[str, list[TaggedSeries]],
    default: Threshold,
    thresholds: Thresholds,
) -> None:
    """A row of its own, state UNKNOWN, for what would join no row and says trouble: a process
    reported down (any of its configs) with no row on its node (the daemon sets a clock state
    from ptp4l's offset log lines: a ptp4l that fails at start never has one; its restarts
    then join the row); a clock class out of spec on a node with no row at all; a GNSS or
    DPLL status that lost its lock on a port with no row. Only trouble: a process up with no
    clock state of its own (a grandmaster's ptp4l, gpsd) is no row here (a node with no clock
    state at all: ``_unclocked_rows``)."""
    processes = {(r.cluster, r.node, r.process) for r in rows.values()}
    made: set[Key] = set()
    for tagged in answers.get("process_status", []):
        key, value = _key(tagged), last_value(tagged)
        orphan = not key[2] and key[3] and (key[0], key[1], key[3]) not in processes
        if orphan and value is not None and value != 1:
            made.add(key)
    nodes = {(c, n) for c, n, _ in processes} | {(k[0], k[1]) for k in made}
    for tagged in answers.get("clock_class", []):
        key, value = _key(tagged), metric_code(last_value(tagged), 0, 255)
        if (key[0], key[1]) not in nodes and _class_notes(value):
            made.add(key)
    ports = {(r.cluster, r.node, r.iface) for r in rows.values()}
    for name, bad in _SIGNALS.items():
        for tagged in answers.get(name, []):
            key = _key(tagged)
            if key[2] and key[:3] not in ports and bad(last_value(tagged)):
                made.add(key)
    for key in made - rows.keys():
        threshold = port_threshold(thresholds, default, key)
        rows[key] = PtpRow(*key, state=ClockState.UNKNOWN, threshold=threshold)


#: the process whose offset log lines give a node its clock state (``_unclocked_rows``)
_CLOCK_PROCESS = "ptp4l"


def _unclocked_rows(
    rows: dict[Key, PtpRow],
    answers: dict[str, list[TaggedSeries]],
    default: Threshold,
    thresholds: Thresholds,
) -> None:
    """A node with no row but ports with a role only is not fine: there is no clock of its
    NIC on another row, so those ports are unknown. And a node whose ptp4l is up with no
    clock state at all (linuxptp-daemon sets it from ptp4l's offset log lines only: a ptp4l
    that never locked publishes only its status, class 255 and, since 2025, a LISTENING
    role) is ``silent``: its ptp4l's rows, or a row of no port, say so. A node with a row of
    another kind (``_orphan_rows``) is in trouble already."""
    clocked = {(r.cluster, r.node) for r in rows.values() if not r.port_only}
    for row in rows.values():
        if row.port_only and (row.cluster, row.node) not in clocked:
            row.port_only = False
            row.notes.remove(PORT_ONLY_NOTE)
    for tagged in answers.get("process_status", []):
        key = _key(tagged)
        if key[2] or key[3] != _CLOCK_PROCESS or key[:2] in clocked or last_value(tagged) != 1:
            continue
        process = (key[0], key[1], key[3])
        own = [r for r in rows.values() if (r.cluster, r.node, r.process) == process]
        if not own:
            threshold = port_threshold(thresholds, default, key)
            rows[key] = PtpRow(*key, state=ClockState.UNKNOWN, threshold=threshold)
            own = [rows[key]]
        for row in own:
            row.silent = True


#: a clock class series' newest value: ("port", cluster, node, iface, process) for one that
#: names a row's port, ("process", cluster, node, process, config) for one that does not
ClassSeen = dict[tuple[str, ...], tuple[float, int | None]]


def _join_clock_class(rows: dict[Key, PtpRow], series: list[TaggedSeries]) -> None:
    """The clock class onto every row of its node's process (linuxptp-daemon labels it by
    ``process``, ``node`` and, since 2025, ``config``: never by port), or, where the node has
    no row of that process (a grandmaster whose ptp4l reports no port), onto every row of the
    node. A process with several configs (a dual-NIC boundary clock: one ptp4l per config)
    announces one class per config and which config drives which port is not in the metrics:
    each row gets the worst, with a note of each config's. A series that does name a port of
    a row (older exports, captures) joins that row only; the newest series of one config (a
    daemon pod restarted: a new ``pod`` label) is its class."""
    by_port: dict[tuple[str, str, str], list[PtpRow]] = {}
    for row in rows.values():
        by_port.setdefault((row.cluster, row.node, row.iface), []).append(row)
    seen: ClassSeen = {}
    for tagged in series:
        key, when = _key(tagged), _newest(tagged)
        value = metric_code(last_value(tagged), 0, 255)  # an octet (IEEE 1588)
        if key in rows or (key[2] and key[:3] in by_port):
            where: tuple[str, ...] = ("port", *key)
        else:
            where = ("process", *key[:2], key[3], label(tagged.series.labels, "config"))
        if where not in seen or when >= seen[where][0]:
            seen[where] = (when, value)
    _class_per_process(rows, seen)
    set_at: dict[int, float] = {}
    for where, (when, value) in seen.items():  # a port's own class: it says more
        if where[0] != "port":
            continue
        key = (where[1], where[2], where[3], where[4])
        for row in [rows[key]] if key in rows else by_port[key[:3]]:
            if when >= set_at.get(id(row), -math.inf):
                row.clock_class, set_at[id(row)] = value, when


def _class_per_process(rows: dict[Key, PtpRow], seen: ClassSeen) -> None:
    """The worst of each process's configs' classes onto its rows (``_join_clock_class``)."""
    by_process: dict[tuple[str, str, str], list[PtpRow]] = {}
    by_node: dict[tuple[str, str], list[PtpRow]] = {}
    for row in rows.values():
        by_process.setdefault((row.cluster, row.node, row.process), []).append(row)
        by_node.setdefault((row.cluster, row.node), []).append(row)
    per_process: dict[tuple[str, str, str], dict[str, int]] = {}
    for where, (_when, value) in seen.items():
        if where[0] == "process" and value is not None:
            cluster, node, process, config = where[1:]
            per_process.setdefault((cluster, node, process), {})[config] = value
    for (cluster, node, process), classes in per_process.items():
        worst = max(classes.values(), key=class_badness)
        note = ""
        if len(set(classes.values())) > 1:
            each = ", ".join(f"{c or '?'} {v}" for c, v in sorted(classes.items()))
            note = f"clock class per {process} config: {each}; the worst shown"
        for row in by_process.get((cluster, node, process)) or by_node.get((cluster, node), []):
            row.clock_class = worst
            if note:
                row.notes.append(note)


def _same(value: float | None) -> float | None:
    return value


def _restarts(count: float | None) -> float | None:
    """A config's restarts from its ``process_restart_count``: linuxptp-daemon counts every
    start, the first included (``cmdRun`` sets the process up, which increments the count,
    before each ``cmd.Start``), so a ptp4l never restarted reads 1."""
    return None if count is None else max(0.0, count - 1)


#: query field -> (row attribute, what the row holds of the value); the interface role and
#: the clock class are labelled otherwise (``_join_roles``, ``_join_clock_class``)
FIELDS: dict[str, tuple[str, Callable[[float | None], Any]]] = {
    "offset": ("offset_ns", _same),
    "max_offset": ("max_offset_ns", _same),
    "delay": ("delay_ns", _same),
    "freq_adj": ("freq_adj_ns", _same),
    "restarts": ("restarts", _restarts),
    "gnss": ("gnss", partial(code_text, GNSS_CODES)),
    "dpll_phase": ("dpll_phase", partial(code_text, DPLL_CODES)),
    "dpll_frequency": ("dpll_frequency", partial(code_text, DPLL_CODES)),
    "process_status": ("process_up", lambda v: None if v is None else v == 1),
}


#: per-process fields: linuxptp-daemon labels them by ``config``, not by port
PER_PROCESS = ("process_status", "restarts")


def _newest(tagged: TaggedSeries) -> float:
    stamps = tagged.series.timestamps
    return float(stamps[-1]) if stamps.size else -math.inf


def _join_values(rows: dict[Key, PtpRow], answers: dict[str, list[TaggedSeries]]) -> None:
    """Each field's last value onto its rows: a series of the row's own port and process;
    one without a process label onto every process of its port; a per-process one (status,
    restarts: one series per config) judged over all of the process's configs. A series of
    another process of the port that has no row of its own (the GNSS status of ``gnss``, the
    DPLL's of ``dpll``, a ts2phc offset) fills a row only where neither of those gave the
    field anything (``_fills``): a ptp4l port 4000 ns off never shows ts2phc's 12 ns, nor a
    T-GM's GM row its DPLL's phase offset. Where two series of one rank give the same row a
    field (a daemon pod restarted: a new ``pod`` label), the one sampled last wins, not the
    one Prometheus happened to list last."""
    by_port: dict[tuple[str, str, str], list[PtpRow]] = {}
    by_process: dict[tuple[str, str, str], list[PtpRow]] = {}
    for row in rows.values():
        by_port.setdefault((row.cluster, row.node, row.iface), []).append(row)
        by_process.setdefault((row.cluster, row.node, row.process), []).append(row)

    # (row, attribute) -> (the value's rank: 1 its own process's or of no process, 0 another
    # process's; when it was sampled)
    set_at: dict[tuple[int, str], tuple[int, float]] = {}
    for name, (attr, convert) in FIELDS.items():
        configs: dict[tuple[str, str, str], list[tuple[str, float | None]]] = {}
        for tagged in answers.get(name, []):
            key = _key(tagged)
            if not key[2] and name in PER_PROCESS:  # a row of no port (``_orphan_rows``) too
                config = label(tagged.series.labels, "config")
                configs.setdefault((key[0], key[1], key[3]), []).append(
                    (config, last_value(tagged))
                )
                continue
            targets, rank = _fills(rows, by_port, key, name)
            value, when = convert(last_value(tagged)), (rank, _newest(tagged))
            for row in targets:
                if when >= set_at.get((id(row), attr), (0, -math.inf)):
                    setattr(row, attr, value)
                    set_at[id(row), attr] = when
        for (cluster, node, process), values in configs.items():
            for row in by_process.get((cluster, node, process), []):
                _per_process(row, name, values)


def _fills(
    rows: dict[Key, PtpRow],
    by_port: dict[tuple[str, str, str], list[PtpRow]],
    key: Key,
    name: str,
) -> tuple[list[PtpRow], int]:
    """The rows a series of ``key`` gives field ``name``, and how: 1 a value of the row's own
    (its own process's, or a series of no process onto every process of its port), 0 one of
    another process of the port that has no row of its own (the GNSS status of ``gnss``, the
    DPLL's of ``dpll``, a ts2phc offset), given only where nothing of 1 gave it. A process
    with a row of its own gives no other row its values; nor is another process's offset a
    clock type's (GM, BC, OC: the clock's overall state, no offset of its own)."""
    if key in rows:
        return [rows[key]], 1
    port = by_port.get(key[:3], [])
    if not key[3]:
        return port, 1
    if name == "offset":
        port = [row for row in port if row.process not in CLOCK_TYPE_PROCESSES]
    return port, 0


def _per_process(row: PtpRow, name: str, values: list[tuple[str, float | None]]) -> None:
    """A process's status and restarts over its configs, conservatively: which config drives
    which port is not in the metrics, so the process is down on every port if any of its
    configs is down (named in the note), and its restarts are those of all its configs."""
    known = [(config, v) for config, v in values if v is not None]
    if name == "restarts":
        row.restarts = sum(_restarts(v) or 0.0 for _, v in known) if known else None
        return
    down = [config for config, v in known if v != 1]
    row.down_configs = sorted({config for config in down if config})
    row.process_up = False if down else (True if known else None)


def _annotate(row: PtpRow) -> None:
    """The row's notes, and whether it is in trouble beside its state and offset."""
    row.offset_in = offset_ok(row.offset_ns, row.threshold)
    row.clock_type = row.process in CLOCK_TYPE_PROCESSES
    if row.offset_ns is None:
        if row.clock_type:
            row.notes.append(CLOCK_TYPE_NOTE)
        elif not is_port_only(row.notes):  # a port with a role only has no offset to report
            row.notes.append("no offset reported")
    elif row.offset_ns == FAULTY_OFFSET_NS:
        row.notes.append("faulty port (offset 999999)")
    elif row.offset_in is False:
        profile = f" (profile {row.threshold.profile})" if row.threshold.profile else ""
        row.notes.append(f"offset {row.offset_ns:g} ns beyond {row.threshold.band}{profile}")
    if row.role == "FAULTY":
        row.notes.append("port FAULTY")
    row.class_trouble = _class_notes(row.clock_class)
    down = []
    if row.process_up is False:
        configs = f" ({', '.join(row.down_configs)})" if row.down_configs else ""
        down.append(f"{row.process} is down{configs}")
    if row.gnss is not None and row.gnss not in GNSS_FIXED:
        row.signal_trouble.append(f"GNSS: {row.gnss}")
    for name, value in (("phase", row.dpll_phase), ("frequency", row.dpll_frequency)):
        if value in DPLL_LOST:
            row.signal_trouble.append(f"DPLL {name}: {value}")
    if row.silent:
        down.append(row.silence)
    troubles = [*row.class_trouble, *down, *row.signal_trouble]
    row.trouble = bool(troubles)
    row.notes += troubles
    if row.clock_class is not None and row.clock_class not in CLASS_MEANING:
        row.notes.append(f"clock class {row.clock_class}: not a class this app knows")


def _class_notes(clock_class: int | None) -> list[str]:
    """A known clock class that says the clock is not locked to its reference (holdover in
    or out of spec, unlocked, free-running: 7, 52, 135, 140, 150, 160, 165, 187, 248) is
    trouble."""
    if clock_class is None or clock_class in LOCKED_CLASSES:
        return []
    meaning = CLASS_MEANING.get(clock_class)
    return [f"clock class {clock_class}: {meaning}"] if meaning else []


#: the board's range queries' step (longer for a long range: ``TimeRange.step``)
PTP_STEP = timedelta(seconds=15)


async def read_ptp_board(
    queries: MultiClusterQuery,
    clusters: list[Cluster],
    *,
    window: timedelta = timedelta(hours=1),
    step: timedelta = PTP_STEP,
    threshold: Threshold = DEFAULT_THRESHOLD,
    thresholds: Thresholds | None = None,
    end: datetime | None = None,
) -> PtpBoard:
    """``threshold``: the band for nodes without a profile threshold in ``thresholds``;
    ``end``: where the window ends (now by default)."""
    catalog = ptp_queries()
    end = end or utcnow()

    async def instant(name: str) -> tuple[str, list[TaggedSeries], list[ClusterOutcome]]:
        answer = await queries.run(MetricQuery(promql=catalog[name], end=end), clusters)
        return name, answer.series, answer.outcomes

    def fitted(name: str) -> MetricQuery:
        """The range read of ``name``: at ``step``, or coarser where the window holds more
        steps than Prometheus answers (``within_points``, as ``MultiClusterQuery.run`` asks
        it), so the compliance is over the steps read (a port LOCKED 3 days read at 173 s
        and laid over a 15 s grid read 62.5 % locked)."""
        asked = MetricQuery(promql=catalog[name], query_type=QueryType.RANGE,
                            start=end - window, end=end, step=step)  # fmt: skip
        return within_points(asked)[0]

    ranges = {name: fitted(name) for name in ("clock_state", "offset")}  # one window, one step
    answered_at: list[timedelta] = []  # the step each range was answered at

    async def ranged(name: str) -> tuple[str, list[TaggedSeries], list[ClusterOutcome]]:
        answer = await queries.run(ranges[name], clusters)
        answered_at.append(answer.query.step)  # the query it answers says its step
        return name, answer.series, answer.outcomes

    names = [n for n in catalog if n not in ("clock_state", "offset")]
    results = await gather_all(
        *(instant(n) for n in ("clock_state", "offset", *names)),
        ranged("clock_state"),
        ranged("offset"),
    )
    answers = {name: series for name, series, _ in results[: len(names) + 2]}
    (_, state_hist, _), (_, offset_hist, _) = results[-2], results[-1]
    # the compliance's grid: the coarsest step asked or answered (a capture's answer is at
    # the step it recorded, said in its query: samples 30 s apart laid on a 15 s grid read
    # a port LOCKED all hour 50 % locked, 50 % unknown)
    read_at = max([ranges["clock_state"].step, *answered_at])

    def assemble() -> list[PtpRow]:  # 2,000 ports: half a second of numpy, off the UI thread
        rows = board_rows(answers, threshold, thresholds)
        _attach_compliance(rows, state_hist, offset_hist, read_at.total_seconds(),
                           end_s=end.timestamp(), window_s=window.total_seconds())  # fmt: skip
        return rows

    rows = await asyncio.to_thread(assemble)
    outcomes = [o for _, _, said in results for o in said]
    failures = unique_failures(o for o in outcomes if not o.ok)
    return PtpBoard(rows, window, threshold, failures, in_part=read_in_part(outcomes))


def window_steps(end_s: float, window_s: float, step_s: float) -> np.ndarray:
    """The window's steps, the newest at ``end_s`` as the range query aligns it (down to a
    whole step: ``aligned_range``): as many as the window holds (an hour at 15 s: 240), at
    the times the query answers at (its start's own point left out)."""
    count = max(1, round(window_s / step_s))
    last = (end_s // step_s) * step_s
    return last - step_s * np.arange(count - 1, -1, -1, dtype=float)


def _on_steps(series: list[TaggedSeries], stamps: np.ndarray, step_s: float) -> np.ndarray:
    """``series`` (one entity's, perhaps split when a label such as ``pod`` changed) on the
    window's steps, NaN where none has a sample; where two have one, the first listed."""
    out = np.full(stamps.size, np.nan)
    if not stamps.size:
        return out
    for tagged in series:
        times, values = tagged.series.timestamps, tagged.series.values
        index = np.rint((times - stamps[0]) / step_s).astype(np.int64, copy=False)
        inside = (index >= 0) & (index < stamps.size)
        index, times, values = index[inside], times[inside], values[inside]
        close = np.abs(stamps[index] - times) < step_s / 2
        index, values = index[close], values[close]
        empty = np.isnan(out[index])
        out[index[empty]] = values[empty]
    return out


def _attach_compliance(
    rows: list[PtpRow],
    states: list[TaggedSeries],
    offsets: list[TaggedSeries],
    step_s: float,
    *,
    end_s: float | None = None,
    window_s: float | None = None,
) -> None:
    """Each row's compliance over the window ending ``end_s`` (``window_s`` long; without
    them, the span of the samples read) and its offset history. An entity's series are
    joined first: a daemon pod restarted mid-window gives a port two series (its ``pod``
    label changed), and its compliance is over both, not the last one listed."""
    by_key = {(r.cluster, r.node, r.iface, r.process): r for r in rows}
    state_by_key: dict[Key, list[TaggedSeries]] = {}
    for tagged in states:
        state_by_key.setdefault(_key(tagged), []).append(tagged)
    offset_of = _offset_histories(by_key, offsets)
    for key, series in state_by_key.items():
        row = by_key.get(key)
        if row is None:
            continue
        stamps = _stamps(series, step_s, end_s, window_s)
        offset = offset_of.get(key)
        offset_values = _on_steps(offset, stamps, step_s) if offset else np.array([])
        if offset:
            row.history = joined_by_time([t.series for t in offset])
        row.compliance = compliance(
            _on_steps(series, stamps, step_s), offset_values, step_s, threshold=row.threshold
        )


def _offset_histories(
    rows: dict[Key, PtpRow], offsets: list[TaggedSeries]
) -> dict[Key, list[TaggedSeries]]:
    """Each row's offset series over the window, chosen as the instant join chooses its
    offset (``_fills``; of equals, the one sampled last): its own process's or one of no
    process, else that of another process of its port with no row of its own; never that of
    a process with a row of its own, nor another's for a clock type (a T-GM's GM row is not
    judged by its DPLL's phase offset). An entity's series stay together (a daemon pod
    restarted mid-window: a new ``pod`` label)."""
    by_port: dict[tuple[str, str, str], list[PtpRow]] = {}
    for row in rows.values():
        by_port.setdefault((row.cluster, row.node, row.iface), []).append(row)
    by_key: dict[Key, list[TaggedSeries]] = {}
    for tagged in offsets:
        by_key.setdefault(_key(tagged), []).append(tagged)
    best: dict[Key, tuple[tuple[int, float], Key]] = {}  # row -> ((rank, newest), series key)
    for key, series in by_key.items():
        targets, rank = _fills(rows, by_port, key, "offset")
        when = (rank, max(_newest(t) for t in series))
        for row in targets:
            own = (row.cluster, row.node, row.iface, row.process)
            if own not in best or when >= best[own][0]:
                best[own] = (when, key)
    return {own: by_key[key] for own, (_, key) in best.items()}


def _stamps(
    series: list[TaggedSeries], step_s: float, end_s: float | None, window_s: float | None
) -> np.ndarray:
    if end_s is not None and window_s is not None:
        return window_steps(end_s, window_s, step_s)
    seen = [t.series.timestamps for t in series if t.series.timestamps.size]
    if not seen:
        return np.array([])
    first = min(float(t[0]) for t in seen)
    last = max(float(t[-1]) for t in seen)  # the samples' own times: no alignment to undo
    return last - step_s * np.arange(round((last - first) / step_s), -1, -1, dtype=float)
