"""The SR-IOV / DPDK page: node sync state on top; VFs with their pods, DPDK ports, CNF
workloads by type and the SriovNetworks in tabs under it (trouble first in each). Text from
the clusters (names, an operator's last sync error) is shown as one printable line, cut."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QTabWidget, QWidget

from aiops_desktop.models.cnf import CnfWorkload, DpdkPortRow, NetworkRow, NodeSync, VfRow
from aiops_desktop.models.text import count
from ui.presenters.gpu_cnf import StaleCnfWorkload, StaleDpdkPort, StaleVf
from ui.theme import Theme
from ui.views.page import TitledPage
from ui.views.rows_table import RowsTable
from ui.views.tables import fill_table, make_table
from ui.views.text import cell_line


def _num(v: float | None, scale: float = 1.0) -> str:
    return "-" if v is None else f"{v / scale:.1f}"


def _fill(table: RowsTable, rows: list[tuple[list[str], str | None]]) -> None:
    fill_table(table, [([cell_line(c) for c in cells], colour) for cells, colour in rows])


class SriovView(TitledPage):
    NODE_HEADERS = ("Cluster", "Node", "Sync", "Interfaces (VFs configured/total)", "Last error")
    VF_HEADERS = ("Cluster", "Node", "PF", "VF", "PCI", "Pod", "RX Mbit/s", "TX Mbit/s",
                  "RX drops/s", "TX drops/s", "TX errors/s", "Notes")  # fmt: skip
    PORT_HEADERS = ("Cluster", "Node", "Pod", "Port", "RX kpps", "TX kpps", "RX Mbit/s",
                    "TX Mbit/s", "RX missed/s", "No mbuf/s", "RX errors/s",
                    "TX errors/s", "Notes")  # fmt: skip
    CNF_HEADERS = ("Type", "Cluster", "Namespace", "Pod", "Component", "Phase", "VFs",
                   "DPDK ports", "RX Mbit/s", "TX Mbit/s", "Drops+errors/s", "Notes")  # fmt: skip
    NETWORK_HEADERS = ("Cluster", "Network", "Resource", "Target namespace", "VLAN",
                       "spoofChk", "trust")  # fmt: skip

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(theme, "SR-IOV", parent)
        self.nodes = make_table(list(self.NODE_HEADERS))
        self.body.addWidget(self.nodes, 1)
        self.vfs = make_table(list(self.VF_HEADERS))
        self.ports = make_table(list(self.PORT_HEADERS))
        self.workloads = make_table(list(self.CNF_HEADERS))
        self.networks = make_table(list(self.NETWORK_HEADERS))
        self.tabs = QTabWidget()
        tabs = ((self.vfs, "VFs"), (self.ports, "DPDK ports"),
                (self.workloads, "CNF workloads"), (self.networks, "Networks"))  # fmt: skip
        for table, name in tabs:
            self.tabs.addTab(table, name)
        self.body.addWidget(self.tabs, 3)
        self.finish()
        self._not_synced: dict[str, int] = {}  # sync status (not Succeeded) -> nodes
        self._nodes = 0  # the nodes of the clusters read
        self._unread = 0  # clusters whose node sync states could not be read
        self._kept_nodes = 0  # their nodes, kept from an earlier read
        self._kept: dict[str, int] = {}  # their sync status as last read (not Succeeded) -> nodes
        self._configured = 0
        self._troubled = 0
        self._ports_troubled = 0

    def _colour(self, bad: bool, level: str = "warning") -> str | None:
        return self._theme.severity(level) if bad else None

    def _sync_colour(self, status: str, *, read: bool = True) -> str | None:
        """Failed red, InProgress amber, anything but Succeeded (Unknown: the config daemon
        never said) grey: only Succeeded is synced. A node of a cluster not read (``read``
        False) is grey as Succeeded: not known synced now; a fault stays coloured as read."""
        levels = {"Failed": "critical", "InProgress": "warning"}
        if status in levels:
            return self._theme.severity(levels[status])
        return None if status == "Succeeded" and read else self._theme.status("UNKNOWN")

    def show_nodes(self, nodes: list[tuple[str, NodeSync]]) -> None:
        """``nodes``: (cluster, node sync state); a row of no node is its cluster, not read
        (every Kubernetes object has a name), its error why. The other rows of such a cluster
        are kept from an earlier read (their last status, said stale): counted as not read,
        never as synced or not synced, so the title says the same of a cluster not read
        whether or not it was read before (the fleet has no finding for one last read
        Succeeded; a fault as last read is said beside)."""
        unread = {cluster for cluster, row in nodes if not row.node}
        _fill(self.nodes, [
            ([cluster, row.node or "—", row.status, "; ".join(row.interfaces) or "—", row.error],
             self._sync_colour(row.status, read=cluster not in unread))
            for cluster, row in nodes
        ])  # fmt: skip
        self._not_synced = {}
        self._kept = {}
        self._unread = len(unread)
        self._nodes = self._kept_nodes = 0
        for cluster, row in nodes:
            if not row.node:
                continue
            if cluster in unread:
                self._kept_nodes += 1
                if row.status != "Succeeded":
                    self._kept[row.status] = self._kept.get(row.status, 0) + 1
                continue
            self._nodes += 1
            if row.status != "Succeeded":
                self._not_synced[row.status] = self._not_synced.get(row.status, 0) + 1
        self._configured = sum(row.vfs_configured for _, row in nodes)
        self._retitle()

    def _plane_colour(self, row: VfRow | DpdkPortRow) -> str | None:
        """Grey where kept from an earlier read (its rates are not measured now), else amber
        where it drops or errs."""
        if _stale(row):
            return self._theme.status("UNKNOWN")
        return self._colour(row.trouble > 0)

    def show_vfs(self, vfs: list[VfRow]) -> None:
        """The VFs; one kept from an earlier read (its cluster not read since) says so in its
        notes and is not counted dropping: its rates are that read's."""
        _fill(self.vfs, [
            ([row.cluster, row.node, row.pf, row.vf, row.pci, row.pod or "—",
              _num(row.rx_bps, 1e6), _num(row.tx_bps, 1e6), _num(row.rx_drops_ps),
              _num(row.tx_drops_ps), _num(row.tx_errors_ps), _stale(row)],
             self._plane_colour(row))
            for row in vfs
        ])  # fmt: skip
        self._troubled = _dropping(vfs)
        self._retitle()

    def show_ports(self, ports: list[DpdkPortRow]) -> None:
        """The DPDK ports, a stale one as ``show_vfs`` says a VF."""
        _fill(self.ports, [
            ([row.cluster, row.node, row.pod or "—", row.port, _num(row.rx_pps, 1e3),
              _num(row.tx_pps, 1e3), _num(row.rx_bps, 1e6), _num(row.tx_bps, 1e6),
              _num(row.rx_missed_ps), _num(row.rx_nombuf_ps), _num(row.rx_errors_ps),
              _num(row.tx_errors_ps), _stale(row)], self._plane_colour(row))
            for row in ports
        ])  # fmt: skip
        self._ports_troubled = _dropping(ports)
        self.tabs.setTabText(1, f"DPDK ports ({len(ports)})")
        self._retitle()

    def _workload_colour(self, w: CnfWorkload) -> str | None:
        """Amber where it drops or errs (as measured now); else grey where a plane of it is
        kept stale (not known not to)."""
        if w.trouble_ps > 0 or not isinstance(w, StaleCnfWorkload):
            return self._colour(w.trouble_ps > 0)
        return self._theme.status("UNKNOWN")

    def show_workloads(self, workloads: list[CnfWorkload]) -> None:
        """The CNF workloads; one whose VFs or ports are kept stale (its cluster's metrics
        not read now) has no rate where none is measured now ("-", never 0), and at least
        what is measured where some are (">= "), and says so in its notes."""
        _fill(self.workloads, [
            ([w.cnf_type.value, w.cluster, w.namespace, w.pod, w.component or "—",
              w.phase or "—", str(w.vfs), str(w.dpdk_ports), _rate(w, w.rx_bps, 1e6),
              _rate(w, w.tx_bps, 1e6), _rate(w, w.trouble_ps), _workload_note(w)],
             self._workload_colour(w))
            for w in workloads
        ])  # fmt: skip
        counts: dict[str, int] = {}
        for w in workloads:
            counts[w.cnf_type.value] = counts.get(w.cnf_type.value, 0) + 1
        types = ", ".join(f"{n} {t}" for t, n in counts.items())
        self.tabs.setTabText(2, f"CNF workloads ({types or 0})")
        self._retitle()

    def show_networks(self, networks: list[tuple[str, NetworkRow]]) -> None:
        _fill(self.networks, [
            ([cluster, n.name, n.resource, n.target_namespace or "—",
              "—" if n.vlan is None else str(n.vlan), n.spoof_chk or "—", n.trust or "—"], None)
            for cluster, n in networks
        ])  # fmt: skip
        self.tabs.setTabText(3, f"Networks ({len(networks)})")

    def _retitle(self) -> None:
        vfs = self.vfs.rowCount()
        nodes = self._nodes
        if self._not_synced:  # InProgress and Unknown are not synced either
            synced = f"{sum(self._not_synced.values())} of {count(nodes, 'node')} not synced"
            if set(self._not_synced) != {"Failed"}:
                synced += f" ({_statuses(self._not_synced)})"
        elif self._unread:  # not "all": the nodes of a cluster not read are not known
            synced = f"{count(nodes, 'node')} synced" if nodes else "no SR-IOV node read"
        else:
            synced = f"{count(nodes, 'node')}, all synced" if nodes else "no SR-IOV node"
        if self._kept_nodes:
            synced += (f" · {count(self._kept_nodes, 'node')} of "
                       f"{count(self._unread, 'cluster')} not read")  # fmt: skip
            if self._kept:
                synced += f" ({_statuses(self._kept)} when last read)"
        elif self._unread:  # none known from an earlier read
            synced += f" · {count(self._unread, 'cluster')} not read"
        dropping = [count(self._troubled, "VF"), count(self._ports_troubled, "DPDK port")]
        self.title.setText(f"SR-IOV · {synced} · {' and '.join(dropping)} dropping")
        self.tabs.setTabText(0, f"VFs ({vfs} in pods, {self._configured} configured)")


def _stale(row: VfRow | DpdkPortRow) -> str:
    """What a VF or port kept from an earlier read says of itself ("STALE: ..."); "" for one
    read now."""
    return row.stale if isinstance(row, StaleVf | StaleDpdkPort) else ""


def _rate(w: CnfWorkload, value: float, scale: float = 1.0) -> str:
    """A workload's rate: "-" where no plane of it is measured now; ">= " the sum of those
    measured where some are not (their rates add to it)."""
    if not isinstance(w, StaleCnfWorkload):
        return _num(value, scale)
    return "-" if w.unmeasured else f">= {_num(value, scale)}"


def _workload_note(w: CnfWorkload) -> str:
    """What a workload with planes kept stale says of its rates; "" for one measured now."""
    if not isinstance(w, StaleCnfWorkload):
        return ""
    if w.unmeasured:
        return "STALE: no VF or DPDK port of it measured now (its cluster not read)"
    return (f"STALE: {w.stale} of {w.vfs + w.dpdk_ports} VFs and DPDK ports not measured now "
            "(its cluster not read): the rates are the others'")  # fmt: skip


def _dropping(rows: Sequence[VfRow | DpdkPortRow]) -> int:
    """The rows read now that drop or err: one kept stale is not known to, now."""
    return sum(1 for row in rows if row.trouble > 0 and not _stale(row))


def _statuses(counted: dict[str, int]) -> str:
    """Sync statuses counted, in words: "1 failed, 2 unknown"."""
    words = {"Failed": "failed", "InProgress": "in progress", "Unknown": "unknown"}
    return ", ".join(f"{n} {words.get(s, s)}" for s, n in sorted(counted.items()))
