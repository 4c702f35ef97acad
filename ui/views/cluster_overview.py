"""The dashboard area for one cluster: identity, status, endpoints and credentials (no secret).

Live charts join this area with the live-metrics issue; what shows here now is the registry's
own data about the cluster.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.models.fleet import ClusterTruth
from aiops_desktop.models.text import time_text
from ui.theme import Theme
from ui.views.rows_table import Row, RowsTable
from ui.views.text import PlainLabel


def capabilities_text(cluster: Cluster) -> str:
    """One line of what discovery found (and what it no longer finds)."""
    caps = cluster.capabilities
    if caps.discovered_at is None:
        return "not discovered yet" if cluster.api_server_url else "— (no Kubernetes API)"
    parts = []
    if caps.gpu_count:
        parts.append(f"{caps.gpu_count} GPUs on {caps.gpu_nodes} nodes")
    names = sorted(caps.present() - {"gpus", "cnf"})
    parts += [n.upper() if n in ("ptp", "cnf") else n for n in names]
    if caps.cnf_types:
        parts.append("CNF " + "/".join(t.value for t in caps.cnf_types))
    text = ", ".join(parts) or "nothing beyond Kubernetes"
    text += f" (discovered {time_text(caps.discovered_at)})"
    if caps.vanished:
        text += f"; VANISHED: {', '.join(caps.vanished)}"
    return text


class ClusterOverviewView(QWidget):
    """Signals: sig_remove_requested(str): the user asked to remove this cluster."""

    sig_remove_requested = Signal(str)

    def __init__(
        self, theme: Theme, parent: QWidget | None = None, *, removable: bool = True
    ) -> None:
        """``removable``: False in a capture's window (its registry never changes)."""
        super().__init__(parent)
        self._removable = removable
        self._theme = theme
        self._name: str | None = None
        #: whose endpoint rows the table shows, and them (``_show_endpoints``)
        self._endpoint_rows: tuple[str, list[Row]] = ("", [])
        self._setup_ui()

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        header = QHBoxLayout()
        self.title = PlainLabel()
        self.title.setProperty("role", "title")
        self.state = PlainLabel()
        header.addWidget(self.title)
        header.addSpacing(12)
        header.addWidget(self.state)
        header.addStretch(1)
        self.remove_button = QPushButton("Remove…")
        self.remove_button.clicked.connect(self._on_remove_clicked)
        header.addWidget(self.remove_button)
        layout.addLayout(header)

        self.tls_warning = PlainLabel()
        self.tls_warning.setProperty("role", "warning")
        self.tls_warning.setWordWrap(True)
        layout.addWidget(self.tls_warning)

        card = QFrame()
        card.setProperty("card", True)
        form = QFormLayout(card)
        self.fields: dict[str, QLabel] = {}
        for key in (
            "Name",
            "Type",
            "Platform",
            "Environment",
            "Region",
            "API server",
            "Credential",
            "Health score",
            "Findings",
            "Connectivity",
            "Last check",
            "Last error",
            "Capabilities",
        ):
            label = PlainLabel()
            label.setWordWrap(True)
            self.fields[key] = label
            form.addRow(f"{key}:", label)
        layout.addWidget(card)

        endpoints_title = PlainLabel("Endpoints")
        endpoints_title.setProperty("muted", True)
        layout.addWidget(endpoints_title)
        self.endpoints = RowsTable(["Kind", "URL", "Auth", "Source", "Check"])
        self.endpoints.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.endpoints, 1)

    def _show_judged(self, judged: ClusterTruth | None, prefix: str = "") -> None:
        """The state badge, score and findings: the fleet's one truth's (grey until it has
        judged)."""
        state = judged.state.value if judged else "NOT JUDGED YET"
        self.state.setText(prefix + state)
        color = self._theme.status(judged.state.value if judged else "UNKNOWN")
        self.state.setStyleSheet(
            f"color: {color}; border: 1px solid {color}; border-radius: 4px; padding: 2px 8px;"
        )
        if judged is None:
            score, found = "not judged yet", "—"
        else:
            score = "—" if judged.health_score is None else str(judged.health_score)
            worst = judged.worst()
            found = judged.summary() or "nothing found"
            if worst is not None:
                found += f"; worst: {worst.subject}: {worst.reason}"
        self.fields["Health score"].setText(score)
        self.fields["Findings"].setText(found)

    def show_member(self, name: str, hub: Cluster, judged: ClusterTruth | None = None) -> None:
        """A member of a fleet hub: what is known of it through the hub; it is not registered
        itself, so there is nothing to remove (the hub is)."""
        self._name = ""
        self.remove_button.setVisible(False)
        self.title.setText(name)
        self.tls_warning.setVisible(False)
        through = f"through fleet hub {hub.name}"
        at = hub.status.last_check_at
        checked = time_text(at, seconds=True) if at else "never"
        values = dict.fromkeys(self.fields, "—")
        values |= {
            "Name": name,
            "Type": f"member cluster (its metrics and alerts come {through})",
            "API server": "— (no API server registered for this member)",
            "Credential": f"none of its own ({hub.name}'s)",
            "Last check": f"{hub.name}'s: {checked}",
            "Last error": hub.status.last_error or "—",
        }
        for key, value in values.items():
            self.fields[key].setText(value)
        self._show_judged(judged, f"member of {hub.name} · ")
        self._show_endpoints(name, [Row([e.kind.value, e.url, e.auth.value, f"{hub.name} (hub)",
                                         "—"]) for e in hub.endpoints])  # fmt: skip

    def show_unregistered(self, name: str) -> None:
        """A name the registry does not know (removed, or never added): that, and nothing of
        the cluster shown before it (its fields, its endpoints, its Remove button)."""
        self._name = ""
        self.remove_button.setVisible(False)
        self.title.setText(f"{name}: not registered")
        self.state.setText("")
        self.state.setStyleSheet("")
        self.tls_warning.setVisible(False)
        values = dict.fromkeys(self.fields, "—")
        values |= {"Name": name, "Type": "not registered (removed, or never added)"}
        for key, value in values.items():
            self.fields[key].setText(value)
        self._show_endpoints(name, [])

    def show_cluster(self, cluster: Cluster, judged: ClusterTruth | None = None) -> None:
        """A registered cluster: its registration, its endpoint checks, and its state as the
        fleet's one truth judges it."""
        self._name = cluster.name
        self.remove_button.setVisible(self._removable)
        status = cluster.status
        self.title.setText(cluster.title)
        self.tls_warning.setVisible(not cluster.tls_verify)
        self.tls_warning.setText(
            "TLS verification is OFF for this cluster (insecure-skip-tls-verify in its "
            "kubeconfig): the API server's identity is not checked."
        )
        checked = status.last_check_at
        values = {
            "Name": cluster.name,
            "Type": f"{cluster.cluster_type.value} ({cluster.kind.value.lower()}, checked every "
            f"{cluster.check_interval_s} s)",
            "Platform": cluster.platform.value
            + (f" {cluster.platform_version}" if cluster.platform_version else ""),
            "Environment": cluster.environment.value,
            "Region": cluster.region or "—",
            "API server": cluster.api_server_url or "— (metrics endpoints only)",
            "Credential": cluster.credential.describe() if cluster.credential else "none",
            "Connectivity": status.connectivity.value if checked else "—",
            "Last check": time_text(checked, seconds=True) if checked else "never",
            "Last error": status.last_error or "—",
            "Capabilities": capabilities_text(cluster),
        }
        for key, value in values.items():
            self.fields[key].setText(value)
        self._show_judged(judged)
        checks = status.endpoint_health
        rows = [
            (e.kind.value, e.url, e.auth.value, e.source.value, e.kind) for e in cluster.endpoints
        ]
        if cluster.api_server_url:
            rows.insert(0, ("API_SERVER", cluster.api_server_url, "cluster credential", "USER",
                            EndpointKind.API_SERVER))  # fmt: skip
        bad = self._theme.severity("critical")
        shown = []
        for *cells, kind in rows:
            up = checks.get(kind)
            check = "not checked" if up is None else "up" if up else "DOWN"
            shown.append(Row([*cells, check], colour=bad if up is False else None))
        self._show_endpoints(cluster.name, shown)

    def _show_endpoints(self, name: str, rows: list[Row]) -> None:
        """The endpoint rows of ``name``. They are shown again at each fleet-truth refresh
        (each minute) and health check: the row the user selected (to copy a URL) stays
        selected, by its kind where the rows changed (a check went down)."""
        if (name, rows) == self._endpoint_rows:
            return
        kinds: set[str] = set()
        if name == self._endpoint_rows[0]:
            before = self._endpoint_rows[1]
            kinds = {before[self.endpoints.source_row(r)].cells[0]
                     for r in self.endpoints.selected_rows()}  # fmt: skip
        self._endpoint_rows = (name, rows)
        self.endpoints.set_rows(rows)
        if kinds:
            self.endpoints.select_source(lambda i: rows[i].cells[0] in kinds)

    def _on_remove_clicked(self) -> None:
        if self._name:
            self.sig_remove_requested.emit(self._name)
