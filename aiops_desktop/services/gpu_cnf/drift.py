"""Drift across the fleet: GPU driver versions (DCGM labels), PTP profile options (PtpConfig)
and SR-IOV policies (SriovNetworkNodePolicy), compared where they should match."""

from __future__ import annotations

from typing import Any

from aiops_desktop.logs import redact
from aiops_desktop.models.drift import DriftReport, Fact
from aiops_desktop.models.errors import AppError
from aiops_desktop.models.gpu import GpuFleet
from aiops_desktop.models.text import cut_line
from analysis.drift import find_drift
from collectors.shapes import malformed_as

PTP_OPTIONS = ("interface", "ptp4lOpts", "phc2sysOpts", "ptpSchedulingPolicy")
#: command lines, compared word by word: "-2  -s\n" (a YAML block scalar) is "-2 -s"
PTP_COMMAND_LINES = frozenset({"ptp4lOpts", "phc2sysOpts"})
#: linuxptp configs in a profile, compared key by key in their [global] section (the domain:
#: clients of another never lock); an interface's own section is not (nodes name their ports
#: differently)
PTP_CONFS = ("ptp4lConf", "phc2sysConf")
PTP_THRESHOLD = "ptpClockThreshold"
#: what is read of an object's text: a config's first characters and keys, a value's length
CONF_CHARS = 65_536
CONF_KEYS = 200
VALUE_CHARS = 200
SRIOV_SETTINGS = ("numVfs", "mtu", "deviceType", "isRdma", "priority")
#: the value of a setting an object leaves out (the operator then applies its own default,
#: which is not said here: it is the operator's, and may change with its version)
NOT_SET = "(not set: the operator's default)"
#: the operator objects compared across clusters: kind -> API path
DRIFT_OBJECTS = {
    "ptpconfigs": "/apis/ptp.openshift.io/v1/ptpconfigs",
    "sriovnetworknodepolicies": "/apis/sriovnetwork.openshift.io/v1/sriovnetworknodepolicies",
}


def gpu_driver_facts(fleet: GpuFleet) -> list[Fact]:
    seen: dict[tuple[str, str, str], str] = {}
    for h in fleet.gpus:
        r = h.reading
        if r.driver:
            seen[r.model or "GPU", r.cluster, r.node] = r.driver
    return [
        Fact("GPU driver", model, "driver version", f"{cluster}/{node}", driver)
        for (model, cluster, node), driver in seen.items()
    ]


@malformed_as("a PtpConfig")
def ptp_profile_facts(cluster: str, ptpconfigs: list[dict[str, Any]]) -> list[Fact]:
    """Each profile's options, its configs' [global] keys and its offset thresholds; a key
    or threshold one profile sets and another leaves out is made NOT_SET by ``fleet_drift``."""
    facts = []
    for config in ptpconfigs:
        name = (config.get("metadata") or {}).get("name", "")
        for profile in (config.get("spec") or {}).get("profile") or []:
            subject, scope = str(profile.get("name", "")), f"{cluster}/{name}"
            for option in PTP_OPTIONS:
                value = _value(profile, option)
                if option in PTP_COMMAND_LINES and value != NOT_SET:
                    value = " ".join(value.split())
                facts.append(Fact("PTP profile", subject, option, scope, value))
            for conf in PTP_CONFS:
                for key, value in _global_keys(profile.get(conf)).items():
                    facts.append(Fact("PTP profile", subject, f"{conf} [global] {key}", scope,
                                      value))  # fmt: skip
            threshold = profile.get(PTP_THRESHOLD)
            limits = threshold if isinstance(threshold, dict) else {}
            for key, value in list(limits.items())[:CONF_KEYS]:
                setting = f"{PTP_THRESHOLD} {cut_line(str(key), 64)}"
                value_text = cut_line(str(value), VALUE_CHARS)
                facts.append(Fact("PTP profile", subject, setting, scope, value_text))
    return facts


def _global_keys(text: object) -> dict[str, str]:
    """A linuxptp config's [global] settings (``key value`` lines; ``#`` starts a comment),
    its first CONF_KEYS of its first CONF_CHARS characters, each value's words one space
    apart."""
    if not isinstance(text, str):
        return {}
    found: dict[str, str] = {}
    section = None
    for raw in text[:CONF_CHARS].splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif line and section == "global" and len(found) < CONF_KEYS:
            key, *value = line.split(None, 1)  # any whitespace, as linuxptp reads it
            found[cut_line(key, 64)] = cut_line(" ".join("".join(value).split()), VALUE_CHARS)
    return found


def _unset_filled(facts: list[Fact]) -> list[Fact]:
    """``facts`` and a NOT_SET fact for each setting of a subject that some of its scopes
    give and others leave out (a config key, a threshold): left out, the daemon's default
    applies, which is drift from one that sets it."""
    scopes: dict[tuple[str, str], set[str]] = {}
    given: dict[tuple[str, str, str], set[str]] = {}
    for f in facts:
        scopes.setdefault((f.kind, f.subject), set()).add(f.scope)
        given.setdefault((f.kind, f.subject, f.setting), set()).add(f.scope)
    filled = list(facts)
    for (kind, subject, setting), have in given.items():
        for scope in sorted(scopes[kind, subject] - have):
            filled.append(Fact(kind, subject, setting, scope, NOT_SET))
    return filled


@malformed_as("a SriovNetworkNodePolicy")
def sriov_policy_facts(cluster: str, policies: list[dict[str, Any]]) -> list[Fact]:
    facts = []
    for policy in policies:
        name = (policy.get("metadata") or {}).get("name", "")
        spec = policy.get("spec") or {}
        for setting in SRIOV_SETTINGS:
            facts.append(
                Fact("SR-IOV policy", str(spec.get("resourceName", name)), setting,
                     f"{cluster}/{name}", _value(spec, setting))
            )  # fmt: skip
    return facts


def _value(settings: dict[str, Any], name: str) -> str:
    """A setting's value as text, or NOT_SET where it is left out (or null): a setting one
    cluster sets and another leaves to the operator's default is drift too (SCHED_FIFO on one,
    the default on the other), and a setting no object sets is one value, no drift."""
    value = settings.get(name)
    return NOT_SET if value is None else cut_line(str(value), VALUE_CHARS)


#: what each kind of operator object is called where a reason names it
OBJECT_NAMES = {"ptpconfigs": "PtpConfigs", "sriovnetworknodepolicies": "SriovNetworkNodePolicies"}
_FACTS = {"ptpconfigs": ptp_profile_facts, "sriovnetworknodepolicies": sriov_policy_facts}


def fleet_drift(
    gpu: GpuFleet | None, objects: dict[str, dict[str, list[dict[str, Any]] | AppError]]
) -> DriftReport:
    """``objects``: cluster -> {"ptpconfigs": [...], "sriovnetworknodepolicies": [...]}, each
    list or the error that kept it from being read. Each cluster's lists are parsed on their
    own: one not read, or not in Kubernetes format, leaves that cluster's other lists and the
    other clusters compared, and is named in the report with why; so is a cluster whose GPU
    drivers were not read (``gpu``'s failures)."""
    facts = gpu_driver_facts(gpu) if gpu else []
    not_compared: dict[str, list[str]] = {}
    for cluster, lists in objects.items():
        for kind, answer in lists.items():
            failed: AppError | None = None
            if isinstance(answer, AppError):  # not read
                failed = answer
            else:
                try:
                    facts += _FACTS[kind](cluster, answer)
                except AppError as exc:  # not in Kubernetes format: said, not compared
                    failed = exc
            if failed is not None:
                why = f"{OBJECT_NAMES.get(kind, kind)}: {redact(str(failed))}"
                not_compared.setdefault(cluster, []).append(why)
    gpu_unread: dict[str, str] = {}
    for o in gpu.outcomes if gpu else []:
        if not o.ok:
            gpu_unread.setdefault(o.cluster, o.error or o.reason or "not read")
    return DriftReport(
        find_drift(_unset_filled(facts)),
        not_compared={c: "; ".join(why) for c, why in not_compared.items()},
        gpu_unread=gpu_unread,
    )
