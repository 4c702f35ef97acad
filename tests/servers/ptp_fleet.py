"""A PTP fleet in linuxptp-daemon series (exact names, labels and value codes) with known
events, for a real Prometheus acting as a fleet hub (``cluster`` label). One sample per 15 s
for an hour (COUNT samples).

- 2 grandmasters (ran-east/gm-0, ran-west/gm-1): MASTER, clock class 6, LOCKED;
- 12 clients (du-0..du-5 in each cluster): SLAVE, class 255, LOCKED, offsets within +/-25 ns;
- ran-east/du-2 goes to HOLDOVER for 3 minutes (samples 200-211) then FREERUN to the end, its
  offset jumping to 350 ns and class 165;
- ran-west/du-4 stays LOCKED but its offset drifts past 100 ns from sample 150 (3 ns a sample);
- ran-west/du-5's ptp4l restarted twice.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.servers.prometheus import SeriesSpec

COUNT, STEP_S = 240, 15
HOLDOVER_FROM, FREERUN_FROM = 200, 212
DRIFT_FROM = 150


def state(cluster: str, node: str) -> Callable[[int], float]:
    if (cluster, node) == ("ran-east", "du-2"):
        return lambda i: 1.0 if i < HOLDOVER_FROM else 2.0 if i < FREERUN_FROM else 0.0
    return lambda i: 1.0


def offset(cluster: str, node: str) -> Callable[[int], float]:
    noise = lambda i: float((i * 7 + len(node)) % 41 - 20)  # noqa: E731 (deterministic +/-20)
    if (cluster, node) == ("ran-east", "du-2"):
        return lambda i: noise(i) if i < HOLDOVER_FROM else 350.0
    if (cluster, node) == ("ran-west", "du-4"):
        return lambda i: noise(i) if i < DRIFT_FROM else 20.0 + 3.0 * (i - DRIFT_FROM)
    return noise


def clock_class(lost: bool, steady: float) -> Callable[[int], float]:
    if lost:
        return lambda i: 165.0 if i >= HOLDOVER_FROM else 255.0
    return lambda i: steady


def ptp_fleet_series() -> list[SeriesSpec]:
    out: list[SeriesSpec] = []
    ports = [("ran-east", "gm-0", "ens2f0", True), ("ran-west", "gm-1", "ens2f0", True)]
    ports += [(c, f"du-{n}", "ens1f0", False) for c in ("ran-east", "ran-west") for n in range(6)]
    for cluster, node, iface, master in ports:
        base = {"cluster": cluster, "node": node, "process": "ptp4l"}
        port = base | {"iface": iface}
        drift = (cluster, node) == ("ran-west", "du-4")
        lost = (cluster, node) == ("ran-east", "du-2")
        klass = 6.0 if master else 255.0
        out += [
            ("openshift_ptp_clock_state", port, state(cluster, node)),
            ("openshift_ptp_offset_ns", port | {"from": "master"}, offset(cluster, node)),
            ("openshift_ptp_max_offset_ns", port | {"from": "master"},
             (lambda i: 400.0) if lost or drift else (lambda i: 25.0)),
            ("openshift_ptp_delay_ns", port | {"from": "master"}, lambda i: 412.0),
            ("openshift_ptp_frequency_adjustment_ns", port | {"from": "master"}, lambda i: -1200.0),
            ("openshift_ptp_clock_class", port, clock_class(lost, klass)),
            ("openshift_ptp_interface_role", port, lambda i, m=master: 2.0 if m else 1.0),
            ("openshift_ptp_process_status", base | {"config": "ptp4l.0.config"}, lambda i: 1.0),
            ("openshift_ptp_process_restart_count", base | {"config": "ptp4l.0.config"},
             lambda i, n=node, c=cluster: 2.0 if (c, n) == ("ran-west", "du-5") else 0.0),
        ]  # fmt: skip
        if master:  # a T-GM's GNSS receiver (ts2phc) and DPLL
            gm = {"cluster": cluster, "node": node, "iface": iface}
            out += [
                ("openshift_ptp_gnss_status", gm | {"process": "gnss"}, lambda i: 3.0),
                ("openshift_ptp_phase_status", gm | {"process": "dpll"},
                 lambda i, c=cluster: 3.0 if c == "ran-west" else 2.0),
                ("openshift_ptp_frequency_status", gm | {"process": "dpll"}, lambda i: 2.0),
            ]  # fmt: skip
    return out
