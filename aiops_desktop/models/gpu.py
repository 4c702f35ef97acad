"""GPU models (PRODUCT.md section 3). ``None`` means unknown (nvidia-smi ``[N/A]``), never 0."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from aiops_desktop.models.base import DomainModel
from aiops_desktop.models.enums import GpuHealthState

TEMP_WARNING_C = 70.0
TEMP_CRITICAL_C = 80.0
UTILIZATION_HIGH_PCT = 80.0

Percent = float


class GpuProcess(DomainModel):
    gpu_uuid: str | None = None
    pid: int | None = None
    process_name: str | None = None
    used_memory_mib: float | None = Field(default=None, ge=0)
    pod: str | None = None
    namespace: str | None = None
    container: str | None = None


class Gpu(DomainModel):
    cluster: str
    node: str
    index: int = Field(ge=0)
    uuid: str
    model: str | None = None
    driver_version: str | None = None
    memory_total_mib: float | None = Field(default=None, ge=0)
    memory_used_mib: float | None = Field(default=None, ge=0)
    memory_free_mib: float | None = Field(default=None, ge=0)
    utilization_gpu_pct: Percent | None = Field(default=None, ge=0, le=100)
    utilization_memory_pct: Percent | None = Field(default=None, ge=0, le=100)
    temperature_c: float | None = None
    power_draw_w: float | None = Field(default=None, ge=0)
    power_limit_w: float | None = Field(default=None, ge=0)
    fan_speed_pct: Percent | None = Field(default=None, ge=0, le=100)
    sm_clock_mhz: float | None = Field(default=None, ge=0)
    memory_clock_mhz: float | None = Field(default=None, ge=0)
    mig_profile: str | None = None
    mig_instance: str | None = None
    processes: list[GpuProcess] = Field(default_factory=list)
    health: GpuHealthState = GpuHealthState.UNKNOWN
    health_reasons: list[str] = Field(default_factory=list)
    observed_at: datetime | None = None


class GpuNode(DomainModel):
    cluster: str
    node: str
    gpus: list[Gpu] = Field(default_factory=list)

    @property
    def gpu_count(self) -> int:
        return len(self.gpus)


class GpuSummary(DomainModel):
    """Per node or per fleet; averages skip unknown values."""

    scope: str
    gpu_count: int = 0
    memory_total_mib: float | None = None
    memory_used_mib: float | None = None
    avg_utilization_pct: float | None = None
    avg_temperature_c: float | None = None
    by_health: dict[GpuHealthState, int] = Field(default_factory=dict)
