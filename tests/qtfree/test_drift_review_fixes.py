"""Drift review fixes: a setting one cluster sets and another leaves to the operator's default
is drift (the unset side said as such, no default invented); a tie has no intended value and
no outlier."""

from __future__ import annotations

from typing import Any

from aiops_desktop.models.drift import Drift, Fact
from aiops_desktop.services.gpu_cnf.drift import NOT_SET, fleet_drift
from analysis.drift import find_drift


def ptpconfig(name: str, **profile: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "openshift-ptp"},
            "spec": {"profile": [{"name": "slave", **profile}],
                     "recommend": [{"profile": "slave", "priority": 4}]}}  # fmt: skip


def policy(name: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "openshift-sriov-network-operator"},
            "spec": {"resourceName": "du_fh", "nodeSelector": {"du": "true"},
                     "nicSelector": {"pfNames": ["ens1f0"]}, **spec}}  # fmt: skip


def test_a_setting_left_to_the_operators_default_on_one_cluster_is_drift() -> None:
    objects: dict[str, Any] = {
        "ran-east": {"ptpconfigs": [ptpconfig("du", ptp4lOpts="-2 -s",
                                              ptpSchedulingPolicy="SCHED_FIFO")],
                     "sriovnetworknodepolicies": [policy("fh", numVfs=8, isRdma=True)]},
        "ran-west": {"ptpconfigs": [ptpconfig("du", ptp4lOpts="-2 -s")],
                     "sriovnetworknodepolicies": [policy("fh", numVfs=8)]},
        "ran-north": {"ptpconfigs": [ptpconfig("du", ptp4lOpts="-2 -s")],
                      "sriovnetworknodepolicies": [policy("fh", numVfs=8)]},
    }  # fmt: skip
    report = fleet_drift(None, objects)
    found = {(d.kind, d.subject, d.setting): d for d in report.drifts}
    assert sorted(found) == [("PTP profile", "slave", "ptpSchedulingPolicy"),
                             ("SR-IOV policy", "du_fh", "isRdma")]  # fmt: skip
    ptp = found["PTP profile", "slave", "ptpSchedulingPolicy"]
    assert ptp.values == [(NOT_SET, ["ran-north/du", "ran-west/du"]),
                          ("SCHED_FIFO", ["ran-east/du"])]  # fmt: skip
    assert NOT_SET == "(not set: the operator's default)"
    assert ptp.outliers == ["ran-east/du"]
    rdma = found["SR-IOV policy", "du_fh", "isRdma"]
    assert rdma.values == [(NOT_SET, ["ran-north/fh", "ran-west/fh"]), ("True", ["ran-east/fh"])]


def test_a_setting_no_cluster_sets_is_no_drift() -> None:
    objects: dict[str, Any] = {
        c: {
            "ptpconfigs": [ptpconfig("du", ptp4lOpts="-2 -s")],
            "sriovnetworknodepolicies": [policy("fh", numVfs=8)],
        }
        for c in ("ran-east", "ran-west")
    }
    assert fleet_drift(None, objects).drifts == []


def test_a_subject_only_one_cluster_has_is_not_compared_with_nothing() -> None:
    objects: dict[str, Any] = {
        "ran-east": {"ptpconfigs": [ptpconfig("du", ptpSchedulingPolicy="SCHED_FIFO")]},
        "ran-west": {"ptpconfigs": []},
    }
    assert fleet_drift(None, objects).drifts == []


def test_a_tie_has_no_intended_value_and_no_outlier() -> None:
    [drift] = find_drift([
        Fact("GPU driver", "H100", "driver version", "east/gpu-0", "550.90.07"),
        Fact("GPU driver", "H100", "driver version", "west/gpu-0", "1000.10.01"),
    ])  # fmt: skip
    assert drift.majority is False
    assert drift.intended is None
    assert drift.outliers == []
    assert sorted(v for v, _ in drift.values) == ["1000.10.01", "550.90.07"]


def test_equal_counts_at_the_top_are_no_majority_even_with_a_smaller_third() -> None:
    values = [("a", ["c/1", "c/2"]), ("b", ["c/3", "c/4"]), ("c", ["c/5"])]
    drift = Drift("PTP profile", "slave", "ptp4lOpts", values)
    assert (drift.majority, drift.intended, drift.outliers) == (False, None, [])


def test_a_value_most_scopes_hold_is_the_intended_one() -> None:
    [drift] = find_drift([
        Fact("GPU driver", "H100", "driver version", f"c/n{i}", "550.90.07") for i in range(2)
    ] + [Fact("GPU driver", "H100", "driver version", "c/n9", "1000.10.01")])  # fmt: skip
    assert (drift.majority, drift.intended) == (True, "550.90.07")
    assert drift.outliers == ["c/n9"]


# -- review 4: what a profile's config says, and options that differ only in spacing ----------
CONF = "[global]\n#comment\ndomainNumber 24\nclockClass 255\n\n[ens1f0]\nmasterOnly 0\n"


def test_a_profile_config_key_or_threshold_that_differs_is_drift() -> None:
    """``ptp4lConf`` (the domain: clients of another never lock) and ``ptpClockThreshold``
    were never compared: a domain of 24 against 25 showed no drift."""
    west_conf = CONF.replace("domainNumber 24", "domainNumber 25").replace("ens1f0", "ens2f0")
    objects: dict[str, Any] = {
        "ran-east": {"ptpconfigs": [ptpconfig("du", ptp4lOpts="-2 -s", ptp4lConf=CONF)]},
        "ran-north": {"ptpconfigs": [ptpconfig("du", ptp4lOpts="-2 -s", ptp4lConf=CONF)]},
        "ran-west": {"ptpconfigs": [ptpconfig(
            "du", ptp4lOpts="-2 -s", ptp4lConf=west_conf + "logSyncInterval -4\n",
            ptpClockThreshold={"maxOffsetThreshold": 1500, "minOffsetThreshold": -1500})]},
    }  # fmt: skip
    found = {d.setting: d for d in fleet_drift(None, objects).drifts}
    # an interface's own section is no drift: nodes name their ports differently
    assert sorted(found) == ["ptp4lConf [global] domainNumber",
                             "ptpClockThreshold maxOffsetThreshold",
                             "ptpClockThreshold minOffsetThreshold"]  # fmt: skip
    assert found["ptp4lConf [global] domainNumber"].values == [
        ("24", ["ran-east/du", "ran-north/du"]),
        ("25", ["ran-west/du"]),
    ]
    assert found["ptpClockThreshold maxOffsetThreshold"].values == [
        (NOT_SET, ["ran-east/du", "ran-north/du"]),
        ("1500", ["ran-west/du"]),
    ]


def test_options_that_differ_only_in_spacing_are_no_drift() -> None:
    objects: dict[str, Any] = {
        "ran-east": {"ptpconfigs": [ptpconfig("du", ptp4lOpts="-2 -s", phc2sysOpts="-a -r")]},
        "ran-west": {"ptpconfigs": [ptpconfig("du", ptp4lOpts="-2  -s\n", phc2sysOpts=" -a -r")]},
    }
    assert fleet_drift(None, objects).drifts == []


def test_a_hostile_config_is_bounded() -> None:
    """A 2 MB config of a million keys is read to its first keys, each value one short line."""
    huge = "[global]\n" + "".join(f"key{i} {'x' * 300}\n" for i in range(200_000))
    objects: dict[str, Any] = {
        c: {"ptpconfigs": [ptpconfig("du", ptp4lConf=huge if c == "a" else "[global]\n")]}
        for c in ("a", "b")
    }
    drifts = fleet_drift(None, objects).drifts
    assert 0 < len(drifts) <= 200
    assert all(len(v) <= 200 for d in drifts for v, _ in d.values)


def test_a_config_separated_by_tabs_is_the_same_config() -> None:
    """linuxptp reads any whitespace between a key and its value (its default.cfg uses
    tabs): one written with tabs showed 8 drifts against the same written with spaces."""
    tabbed = CONF.replace("domainNumber 24", "domainNumber\t24").replace(
        "clockClass ", "clockClass\t\t"
    )
    objects: dict[str, Any] = {
        "ran-east": {"ptpconfigs": [ptpconfig("du", ptp4lConf=CONF)]},
        "ran-west": {"ptpconfigs": [ptpconfig("du", ptp4lConf=tabbed)]},
    }
    assert fleet_drift(None, objects).drifts == []
