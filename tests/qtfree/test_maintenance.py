"""Cache maintenance prunes old health history and applies series retention."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.models import EndpointKind, utcnow
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.services.core import Core
from aiops_desktop.services.runtime.maintenance import maintain_once
from aiops_desktop.settings import resolve_paths
from aiops_desktop.store.series import SeriesBatch


@pytest.mark.asyncio
async def test_maintenance_bounds_the_cache(tmp_path: Path, secret_service) -> None:  # type: ignore[no-untyped-def]
    core = Core.open(resolve_paths(tmp_path / "home"))
    try:
        await core.registry.add(ClusterSpec(name="c-1", api_server_url="https://a:6443"))
        now = utcnow()
        await core.registry.apply_check(
            "c-1", {EndpointKind.API_SERVER: True}, at=now - timedelta(days=9)
        )
        await core.registry.apply_check("c-1", {EndpointKind.API_SERVER: True}, at=now)
        start = int((now - timedelta(days=3)).timestamp() * 1000)
        ts = start + np.arange(3 * 1440) * 60_000  # up to now: retention runs from the newest
        core.series.append([SeriesBatch("c-1", "up", {}, ts, np.ones(ts.size))]).result()
        report = await maintain_once(core.registry, core.series, core.alert_events)
        assert report.health_pruned == 1 and report.retention["alert_events"] == 0
        assert report.retention["downsampled_chunks"] > 0
        assert len(await core.registry.health_history("c-1")) == 1
        assert core.series.read("up", resolution_s=300)
    finally:
        await core.shutdown()


def test_catalog_aggregations_keep_the_cluster_label() -> None:
    """Fleet hubs split answers by `cluster`: an aggregation that drops it would merge clusters."""
    import re

    from aiops_desktop.services.polling.catalog import load_catalog

    panels = load_catalog()
    assert len({p.id for p in panels}) == len(panels) >= 10
    for panel in panels:
        for clause in re.findall(r"\bby \(([^)]*)\)", panel.promql):
            assert "cluster" in [c.strip() for c in clause.split(",")], (panel.id, clause)


@pytest.mark.asyncio
async def test_health_history_is_kept_as_long_as_the_setting_says(
    tmp_path: Path,
    secret_service: object,  # the keyring Core.open finds
) -> None:
    """The registry pruned health history at a 7-day constant, whatever
    store.health_retention said (the alert events beside it followed the setting)."""
    paths = resolve_paths(tmp_path / "home").ensure()
    paths.settings_file.write_text(json.dumps({"store": {"health_retention": "P30D"}}))
    core = Core.open(paths)
    try:
        await core.registry.add(ClusterSpec(name="c-1", api_server_url="https://a:6443"))
        now = utcnow()
        for days in (40, 10, 0):  # and one now: retention is measured from the newest check
            await core.registry.apply_check(
                "c-1", {EndpointKind.API_SERVER: True}, at=now - timedelta(days=days)
            )
        report = await maintain_once(core.registry, core.series, core.alert_events)
        assert report.health_pruned == 1  # the 40-day-old one only
        kept = await core.registry.health_history("c-1")
        assert [now - k.checked_at for k in kept] == [timedelta(days=10), timedelta(0)]
    finally:
        await core.shutdown()


@pytest.mark.asyncio
async def test_the_longest_retention_allowed_still_maintains(
    tmp_path: Path,
    secret_service: object,  # the keyring Core.open finds
) -> None:
    """Each retention at its maximum: a pass runs (no OverflowError) and keeps everything."""
    paths = resolve_paths(tmp_path / "home").ensure()
    longest = {f: "P3650D" for f in ("raw_retention", "rollup_retention", "health_retention")}
    paths.settings_file.write_text(json.dumps({"store": longest}))
    core = Core.open(paths)
    try:
        await core.registry.add(ClusterSpec(name="c-1", api_server_url="https://a:6443"))
        await core.registry.apply_check(
            "c-1", {EndpointKind.API_SERVER: True}, at=utcnow() - timedelta(days=400)
        )
        report = await maintain_once(core.registry, core.series, core.alert_events)
        assert report.health_pruned == 0
        assert len(await core.registry.health_history("c-1")) == 1
    finally:
        await core.shutdown()
