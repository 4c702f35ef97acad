"""nvidia-smi's CSV output (the GPU fallback where no DCGM exporter runs,
docs/architecture.md#rules).

``nvidia-smi --query-gpu=FIELDS --format=csv,noheader,nounits`` prints one line per GPU, the
values in the order asked, separated by ", ". ``[N/A]`` (and ``[Not Supported]``,
``[Unknown Error]``...) means the value is unknown: it becomes None, never 0.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from aiops_desktop.models.gpu import MAX_GPU_INDEX
from collectors.errors import CollectorBadResponse

#: The fields asked, in this order (docs/architecture.md#rules).
GPU_FIELDS = (
    "index",
    "uuid",
    "name",
    "driver_version",
    "memory.total",
    "memory.used",
    "memory.free",
    "utilization.gpu",
    "utilization.memory",
    "temperature.gpu",
    "power.draw",
    "power.limit",
    "fan.speed",
)
APP_FIELDS = ("gpu_uuid", "pid", "process_name", "used_memory")
#: the processes without their names: every value is nvidia-smi's own. A process sets its
#: own argv[0], which nvidia-smi prints raw: a name with a line break ends its row and may
#: print whole rows of its own ("x, 1\nGPU-<another tenant's>, 31337, /forged, 5"), which no
#: check of a row can tell from nvidia-smi's. So the processes are this query's rows, and
#: APPS_COMMAND's only name them (``read_compute_apps``)
PID_FIELDS = ("gpu_uuid", "pid", "used_memory")

GPU_COMMAND = [
    "nvidia-smi",
    f"--query-gpu={','.join(GPU_FIELDS)}",
    "--format=csv,noheader,nounits",
]
APPS_COMMAND = [
    "nvidia-smi",
    f"--query-compute-apps={','.join(APP_FIELDS)}",
    "--format=csv,noheader,nounits",
]
PIDS_COMMAND = [
    "nvidia-smi",
    f"--query-compute-apps={','.join(PID_FIELDS)}",
    "--format=csv,noheader,nounits",
]


#: GPUs one node can hold (the GPU page's own bound, ``aiops_desktop.models.gpu``): more rows
#: from one ``nvidia-smi`` is no output of a real node (crafted, or a runaway loop), and an
#: index at or past it would size the heatmap
MAX_GPUS_PER_NODE = MAX_GPU_INDEX
#: processes one node's ``--query-compute-apps`` may list (MPS allows 48 clients per GPU:
#: 64 GPUs of them fit); more is no node's output
MAX_APPS_PER_NODE = MAX_GPUS_PER_NODE * 64
#: a uuid ("GPU-" and 36 characters), a model, driver or process name is cut to this
MAX_TEXT_CHARS = 128


class NvidiaSmiFormatError(CollectorBadResponse, ValueError):
    """The output is not what the command prints (wrong field count, not numbers)."""


@dataclass(frozen=True)
class GpuReading:
    index: int
    uuid: str
    name: str
    driver: str | None
    memory_total_mib: float | None
    memory_used_mib: float | None
    memory_free_mib: float | None
    util_gpu_pct: float | None
    util_memory_pct: float | None
    temperature_c: float | None
    power_draw_w: float | None
    power_limit_w: float | None
    fan_pct: float | None


@dataclass(frozen=True)
class ComputeApp:
    gpu_uuid: str
    pid: int
    process: str  # "" where nvidia-smi cannot name it ([N/A])
    used_memory_mib: float | None


def _unknown(value: str) -> bool:
    return value.startswith("[") and value.endswith("]")  # [N/A], [Not Supported], ...


def _number(value: str, field: str) -> float | None:
    """A reading; None where nvidia-smi says it is unknown, and where it is no finite number
    (``float()`` takes "nan", "inf" and "1e999": output nvidia-smi never prints, and a NaN
    temperature would read as a cool GPU)."""
    if _unknown(value) or value == "":
        return None
    try:
        number = float(value)
    except ValueError as exc:
        raise NvidiaSmiFormatError(f"{field}: {value!r} is not a number") from exc
    return number if math.isfinite(number) else None


#: a GPU index or a process id as nvidia-smi prints them: digits only (no sign, no exponent)
_WHOLE = re.compile(r"[0-9]{1,9}", re.ASCII)


def _whole(value: str, field: str) -> int:
    """A GPU index or pid: digits, else the output is not nvidia-smi's."""
    if not _WHOLE.fullmatch(value):
        raise NvidiaSmiFormatError(f"{field}: {value[:40]!r} is not a whole number")
    return int(value)


def _cut(value: str) -> str:
    """A name or uuid, at most ``MAX_TEXT_CHARS`` long (a crafted 100 kB "model name" is
    carried to every view, report and tool answer otherwise)."""
    return value[:MAX_TEXT_CHARS]


def _text(value: str) -> str | None:
    return None if _unknown(value) else _cut(value)


def _lines(text: str) -> Iterator[str]:
    """``text``'s lines (their ends kept), one at a time: no copy of what is not read."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _rows(
    text: str, width: int, what: str, most: int, *, free: int | None = None
) -> list[list[str]]:
    """The CSV rows of ``text``, each ``width`` values; more than ``most`` rows is no output
    of this command (read no further than that: a runaway answer costs no more). ``free``: the
    value that may hold commas (a process name: a process sets its own argv[0], and nvidia-smi
    neither quotes nor escapes it): a wider row's extra values are joined back into it. No
    quote is read as one: a name that starts with '"' took the rows after it into itself."""
    rows: list[list[str]] = []
    try:
        lines = csv.reader(_lines(text), skipinitialspace=True, quoting=csv.QUOTE_NONE)
        for n, read in enumerate(lines, start=1):
            if not read or all(not c.strip() for c in read):
                continue
            row = read
            if free is not None and len(read) > width:
                end = free + len(read) - width + 1
                row = [*read[:free], ",".join(read[free:end]), *read[end:]]
            if len(row) != width:
                raise NvidiaSmiFormatError(
                    f"{what} line {n} has {len(row)} values, expected {width}: "
                    f"{','.join(row)[:120]}"
                )
            if len(rows) == most:
                raise NvidiaSmiFormatError(f"{what} lists more than {most} rows for one node")
            rows.append([c.strip() for c in row])
    except csv.Error as exc:  # a stray line break or NUL inside a field
        raise NvidiaSmiFormatError(f"{what} is not CSV ({exc})") from exc
    return rows


def parse_gpus(text: str) -> list[GpuReading]:
    """The output of GPU_COMMAND: at most ``MAX_GPUS_PER_NODE`` GPUs, each index under it."""
    out = []
    for row in _rows(text, len(GPU_FIELDS), "--query-gpu", MAX_GPUS_PER_NODE):
        values = dict(zip(GPU_FIELDS, row, strict=True))
        index = _whole(values["index"], "index")
        if index >= MAX_GPUS_PER_NODE:
            raise NvidiaSmiFormatError(f"index: {index} is past the {MAX_GPUS_PER_NODE} GPUs "
                                       "a node can hold")  # fmt: skip
        out.append(
            GpuReading(
                index=index,
                uuid=_cut(values["uuid"]),
                name=_cut(values["name"]),
                driver=_text(values["driver_version"]),
                memory_total_mib=_number(values["memory.total"], "memory.total"),
                memory_used_mib=_number(values["memory.used"], "memory.used"),
                memory_free_mib=_number(values["memory.free"], "memory.free"),
                util_gpu_pct=_number(values["utilization.gpu"], "utilization.gpu"),
                util_memory_pct=_number(values["utilization.memory"], "utilization.memory"),
                temperature_c=_number(values["temperature.gpu"], "temperature.gpu"),
                power_draw_w=_number(values["power.draw"], "power.draw"),
                power_limit_w=_number(values["power.limit"], "power.limit"),
                fan_pct=_number(values["fan.speed"], "fan.speed"),
            )
        )
    return out


def parse_compute_apps(text: str) -> list[ComputeApp]:
    """The output of APPS_COMMAND (empty when no process uses a GPU), at most
    ``MAX_APPS_PER_NODE`` processes. A process named with commas ("train,resume") is one
    process: the uuid is the first value, the pid the second, the memory the last, and the
    name all between (one tenant's name failed every process list of its node)."""
    out = []
    name = APP_FIELDS.index("process_name")
    apps = _rows(text, len(APP_FIELDS), "--query-compute-apps", MAX_APPS_PER_NODE, free=name)
    for row in apps:
        if _unknown(row[1]) or not row[1]:
            continue  # a process nvidia-smi cannot name (another container's namespace)
        pid = _whole(row[1], "pid")
        out.append(
            ComputeApp(_cut(row[0]), pid, _text(row[2]) or "", _number(row[3], "used_memory"))
        )
    return out


def _pid_row(line: str, gpu_uuids: Collection[str]) -> tuple[str, int, float | None] | None:
    """A PIDS_COMMAND row (uuid, pid, memory: its first two values and its last: APPS_COMMAND's
    wider row reads the same, and no value of these is a process's text); None where
    nvidia-smi cannot say the pid (another container's namespace), and where it names no GPU
    of the node or is no row of numbers (raised)."""
    values = [v.strip() for v in line.split(",")]
    if len(values) < len(PID_FIELDS):
        raise NvidiaSmiFormatError(f"{len(values)} values")
    uuid, pid, memory = _cut(values[0]), values[1], values[-1]
    if uuid not in gpu_uuids:
        raise NvidiaSmiFormatError(f"no GPU of this node: {uuid[:40]!r}")
    if _unknown(pid) or not pid:
        return None
    return uuid, _whole(pid, "pid"), _number(memory, "used_memory")


def _names(text: str, processes: set[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """The names APPS_COMMAND's rows give ``processes`` (uuid, pid): a row's name is all
    between its pid and its last value (commas are the name's). A process named by two rows
    (a crafted name printed a second row for it) is named by none: which is nvidia-smi's
    cannot be told. A row naming no process of ``processes`` names nothing."""
    named: dict[tuple[str, int], str] = {}
    twice: set[tuple[str, int]] = set()
    for line in _lines(text):
        values = line.rstrip("\r\n").split(",")
        if len(values) < len(APP_FIELDS) or not _WHOLE.fullmatch(pid := values[1].strip()):
            continue
        process = (_cut(values[0].strip()), int(pid))
        if process not in processes:
            continue
        if process in named:
            twice.add(process)
        name = ",".join(v.lstrip(" ") for v in values[2:-1]).strip()
        named[process] = _text(name) or ""
    return {p: name for p, name in named.items() if p not in twice}


def read_compute_apps(
    pids: str, names: str, gpu_uuids: Collection[str]
) -> tuple[list[ComputeApp], int]:
    """One node's processes, from PIDS_COMMAND's output ``pids`` (at most
    ``MAX_APPS_PER_NODE``), each named by APPS_COMMAND's ``names`` where that is sure
    (``_names``; else it is shown by its pid alone); and how many rows were not read: one
    on no GPU of ``gpu_uuids`` (the node's, from GPU_COMMAND), or not numbers, or past the
    bound. Such a row is counted, never the node's failure: the other processes still
    count."""
    found: list[tuple[str, int, float | None]] = []
    unread = 0
    for line in _lines(pids):
        if not line.strip():
            continue
        try:
            row = _pid_row(line, gpu_uuids)
        except NvidiaSmiFormatError:
            unread += 1
            continue
        if row is not None and len(found) == MAX_APPS_PER_NODE:
            unread += 1
        elif row is not None:
            found.append(row)
    named = _names(names, {(uuid, pid) for uuid, pid, _ in found})
    apps = [ComputeApp(uuid, pid, named.get((uuid, pid), ""), memory)
            for uuid, pid, memory in found]  # fmt: skip
    return apps, unread
