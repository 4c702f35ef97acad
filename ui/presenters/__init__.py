"""Presenters: QObjects that own the async work of the pages and turn service answers into
signals. Each receives the services it uses; the composition root (``aiops_desktop.app``)
builds them into one ``Presenters``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields

from ui.presenters.anomalies import AnomaliesPresenter
from ui.presenters.base import Presenter
from ui.presenters.chat import ChatPresenter
from ui.presenters.console import ConsolePresenter
from ui.presenters.dashboard import DashboardPresenter
from ui.presenters.fleet import FleetPresenter
from ui.presenters.gpu_cnf import DriftPresenter, GpuPresenter, PtpPresenter, SriovPresenter
from ui.presenters.incidents import IncidentsPresenter
from ui.presenters.kube import KubePresenter
from ui.presenters.logs_traces import LogsPresenter, TracesPresenter
from ui.presenters.polling import AlertsPresenter, DiagnosticsPresenter
from ui.presenters.registry import RegistryPresenter
from ui.presenters.reports import ReportsPresenter
from ui.presenters.settings import SettingsPresenter


@dataclass
class Presenters:
    """Every presenter of the main window; a page's presenter has the page's key as its name."""

    registry: RegistryPresenter
    fleet: FleetPresenter
    alerts: AlertsPresenter
    incidents: IncidentsPresenter
    anomalies: AnomaliesPresenter
    logs: LogsPresenter
    traces: TracesPresenter
    gpu: GpuPresenter
    ptp: PtpPresenter
    sriov: SriovPresenter
    drift: DriftPresenter
    reports: ReportsPresenter
    console: ConsolePresenter
    diagnostics: DiagnosticsPresenter
    dashboard: DashboardPresenter
    kube: KubePresenter
    settings: SettingsPresenter
    chat: ChatPresenter

    def __iter__(self) -> Iterator[Presenter]:
        return (getattr(self, f.name) for f in fields(self))

    def page(self, key: str) -> Presenter:
        found: Presenter = getattr(self, key)
        return found
