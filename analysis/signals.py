"""Signal types and their detection defaults, chosen by metric name (or query) and unit.

A bounded percentage, a counter's rate, a latency, a temperature and a PTP offset do not go
wrong in the same ways, so each type has its own methods, sides and domain rules. Any query can
override the choice (``methods=`` in ``analysis.detect``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from aiops_desktop.models.enums import AnomalyMethod

M = AnomalyMethod


class SignalType(StrEnum):
    PERCENT = "percent"
    RATIO = "ratio"
    COUNTER_RATE = "counter_rate"
    ERROR_RATE = "error_rate"
    LATENCY = "latency"
    TEMPERATURE = "temperature"
    PTP_OFFSET = "ptp_offset"
    PTP_CLOCK_STATE = "ptp_clock_state"
    GPU_EVENT = "gpu_event"
    GAUGE = "gauge"


@dataclass(frozen=True)
class SignalProfile:
    type: SignalType
    methods: tuple[AnomalyMethod, ...]
    upper_only: bool = False  # latencies and error rates: only "worse" is an anomaly
    unit: str = ""


#: every statistical judgement is the benchmarked detector (M.CONTEXT, `make bench-nab`);
#: the types differ in their side (only "worse" counts for a latency) and their domain rules.
#: MAD, IQR, level shift, ETS and STL stay available on demand (``methods=``).
PROFILES: dict[SignalType, SignalProfile] = {
    SignalType.PERCENT: SignalProfile(SignalType.PERCENT, (M.CONTEXT,), unit="%"),
    SignalType.RATIO: SignalProfile(SignalType.RATIO, (M.CONTEXT,)),
    SignalType.COUNTER_RATE: SignalProfile(SignalType.COUNTER_RATE, (M.CONTEXT,), unit="/s"),
    SignalType.LATENCY: SignalProfile(SignalType.LATENCY, (M.CONTEXT,), upper_only=True, unit="s"),
    # error log lines and failed spans: fewer errors than usual is never the anomaly
    SignalType.ERROR_RATE: SignalProfile(SignalType.ERROR_RATE, (M.CONTEXT,), upper_only=True),
    SignalType.TEMPERATURE: SignalProfile(
        SignalType.TEMPERATURE, (M.DOMAIN_RULE, M.CONTEXT), unit="C"
    ),
    SignalType.PTP_OFFSET: SignalProfile(
        SignalType.PTP_OFFSET, (M.DOMAIN_RULE, M.CONTEXT), unit="ns"
    ),
    SignalType.PTP_CLOCK_STATE: SignalProfile(SignalType.PTP_CLOCK_STATE, (M.DOMAIN_RULE,)),
    SignalType.GPU_EVENT: SignalProfile(SignalType.GPU_EVENT, (M.DOMAIN_RULE,)),
    SignalType.GAUGE: SignalProfile(SignalType.GAUGE, (M.CONTEXT,)),
}

#: a counter's name by its suffix: ``_total`` at a word's end, so also inside a recording
#: rule's name (``namespace:container_cpu_usage_seconds_total:sum_rate``, its rate)
_COUNTER_NAME = r"_total\b"

_RULES: tuple[tuple[re.Pattern[str], SignalType], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        (r"openshift_ptp_clock_state|ptp.*clock_state", SignalType.PTP_CLOCK_STATE),
        (r"openshift_ptp_(max_)?offset_ns|ptp.*offset", SignalType.PTP_OFFSET),
        # (and the catalog's XID panel, gpu_xid_errors: a live series is named by its panel)
        (
            r"DCGM_FI_DEV_(XID_ERRORS|ECC_\w+|ROW_REMAP_\w+|RETIRED_\w+)|gpu_xid_errors",
            SignalType.GPU_EVENT,
        ),
        # a word of the metric's name (node_hwmon_temp_celsius, DCGM_FI_DEV_GPU_TEMP,
        # gpu_temperature), not "temp" inside another (tempo_, attempts, template)
        (r"(?<![a-z])(temp|temperature|celsius)(?![a-z])", SignalType.TEMPERATURE),
        (r"latency|duration|_seconds(_bucket)?\b|response_time|_ms\b", SignalType.LATENCY),
        (rf"\brate\(|\birate\(|\bincrease\(|{_COUNTER_NAME}", SignalType.COUNTER_RATE),
        (r"percent|utili[sz]ation|_util\b|GPU_UTIL|\* *100", SignalType.PERCENT),
        (r"ratio|fraction", SignalType.RATIO),
    )
)


def classify(metric: str, unit: str | None = None) -> SignalType:
    """The signal type of a metric name or PromQL query (and its unit, where known)."""
    if unit:
        by_unit = {
            "%": SignalType.PERCENT,
            "percent": SignalType.PERCENT,
            "ratio": SignalType.RATIO,
            "s": SignalType.LATENCY,
            "seconds": SignalType.LATENCY,
            "ms": SignalType.LATENCY,
            "ns": SignalType.PTP_OFFSET,
            "celsius": SignalType.TEMPERATURE,
            "c": SignalType.TEMPERATURE,
            "errors": SignalType.ERROR_RATE,
            "errors/s": SignalType.ERROR_RATE,
            "errors/min": SignalType.ERROR_RATE,
        }.get(unit.lower())
        if by_unit is not None:
            return by_unit
    for pattern, kind in _RULES:
        if pattern.search(metric):
            return kind
    return SignalType.GAUGE


def profile_for(metric: str, unit: str | None = None) -> SignalProfile:
    return PROFILES[classify(metric, unit)]


#: the PromQL functions that turn a counter into what it did over a range (a rate, an
#: increase, a count of resets): their series are no longer the counter's running total
_OVER_A_RANGE = re.compile(r"\b(rate|irate|increase|delta|idelta|deriv|resets|changes)\s*\(")

#: a raw counter's ``_total`` (``_COUNTER_NAME``) ends its metric's name: no recording rule's
#: colons after it (``level:metric:operations``, whose series is already what the operations
#: made of the counter: a rate, a sum of rates)
_RAW_COUNTER_NAME = re.compile(rf"{_COUNTER_NAME}(?!:)", re.IGNORECASE)


def raw_counter(metric: str, unit: str | None = None, *, kind: SignalType | None = None) -> bool:
    """Whether ``metric`` (a name or a PromQL query) reads a counter's running total: a
    counter rate by its name (``_total`` ending it, ``_RAW_COUNTER_NAME``: not a recording
    rule's rate, whose rate taken again read a drop of 0.8 cores as "+113094 %") with no
    function that takes its rate (the CLI's ``analyse --query
    node_network_receive_bytes_total``). Its rate is what its type's detection judges
    (``analysis.detect``). ``kind``: its type where already classified (each series of
    each live round: the rules' regexes run once)."""
    return (
        (kind or classify(metric, unit)) is SignalType.COUNTER_RATE
        and _RAW_COUNTER_NAME.search(metric) is not None
        and not _OVER_A_RANGE.search(metric)
    )
