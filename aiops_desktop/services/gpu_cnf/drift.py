"""Drift across the fleet: GPU driver versions (DCGM labels), PTP profile options (PtpConfig)
and SR-IOV policies (SriovNetworkNodePolicy), compared where they should match."""

from __future__ import annotations

from typing import Any

from aiops_desktop.models.drift import Drift, Fact
from aiops_desktop.models.gpu import GpuFleet
from analysis.drift import find_drift
from collectors.shapes import malformed_as

PTP_OPTIONS = ("interface", "ptp4lOpts", "phc2sysOpts", "ptpSchedulingPolicy")
SRIOV_SETTINGS = ("numVfs", "mtu", "deviceType", "isRdma", "priority")
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
    facts = []
    for config in ptpconfigs:
        name = (config.get("metadata") or {}).get("name", "")
        for profile in (config.get("spec") or {}).get("profile") or []:
            for option in PTP_OPTIONS:
                if option in profile:
                    facts.append(
                        Fact("PTP profile", str(profile.get("name", "")), option,
                             f"{cluster}/{name}", str(profile[option]))
                    )  # fmt: skip
    return facts


@malformed_as("a SriovNetworkNodePolicy")
def sriov_policy_facts(cluster: str, policies: list[dict[str, Any]]) -> list[Fact]:
    facts = []
    for policy in policies:
        name = (policy.get("metadata") or {}).get("name", "")
        spec = policy.get("spec") or {}
        for setting in SRIOV_SETTINGS:
            if setting in spec:
                facts.append(
                    Fact("SR-IOV policy", str(spec.get("resourceName", name)), setting,
                         f"{cluster}/{name}", str(spec[setting]))
                )  # fmt: skip
    return facts


def fleet_drift(
    gpu: GpuFleet | None, objects: dict[str, dict[str, list[dict[str, Any]]]]
) -> list[Drift]:
    """``objects``: cluster -> {"ptpconfigs": [...], "sriovnetworknodepolicies": [...]}."""
    facts = gpu_driver_facts(gpu) if gpu else []
    for cluster, lists in objects.items():
        facts += ptp_profile_facts(cluster, lists.get("ptpconfigs", []))
        facts += sriov_policy_facts(cluster, lists.get("sriovnetworknodepolicies", []))
    return find_drift(facts)
