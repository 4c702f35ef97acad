"""Exporting a capture from the running cache, and opening one: the capture is checked, copied
to a working folder (the file itself is never changed) and opened as the cache of a Core that
polls nothing and connects nowhere; views, analysis and reports read it as they read the cache.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from aiops_desktop import __version__
from aiops_desktop.models import ClusterKind, utcnow
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.core import Core
from aiops_desktop.settings import AppPaths
from aiops_desktop.store.capture import (
    SUFFIX,
    CaptureError,
    CaptureManifest,
    read_manifest,
    write_capture,
)

__all__ = ["SUFFIX", "CaptureError", "export_capture", "open_capture"]


async def export_capture(
    core: Core,
    out: Path,
    *,
    clusters: list[str],
    since: timedelta,
    until: datetime | None = None,
    label: str = "",
) -> CaptureManifest:
    """Chosen clusters' stored data from ``until - since`` to ``until`` (now) into ``out``;
    pending samples are written to the cache first. ``label``: shown wherever the capture's
    data is (the sample capture's "SAMPLE DATA")."""
    for name in clusters:
        core.registry.get(name)  # ClusterNotFoundError names an unknown one
    await asyncio.wrap_future(core.series.flush())
    end = until or utcnow()
    hubs = any(core.registry.get(n).kind is ClusterKind.FLEET for n in clusters)
    return await asyncio.to_thread(
        write_capture, core.db.path, out, clusters=clusters, since=end - since, until=end,
        app_version=__version__, with_members=hubs, label=label,
    )  # fmt: skip


def open_capture(path: Path, secrets: SecretStore | None = None) -> Core:
    """A Core over a working copy of the capture at ``path`` (CaptureError if it cannot be
    opened: foreign, truncated, damaged or newer). Blocking: call from a worker thread."""
    manifest = read_manifest(path)
    work = Path(tempfile.mkdtemp(prefix="aiops-capture-"))
    paths = AppPaths(data_dir=work / "data", log_dir=work / "logs").ensure()
    shutil.copyfile(path, paths.db_path)
    core = Core.open(paths, secrets=secrets, capture=manifest)
    core.scratch = work
    prime_live(core)
    core.notices.append(f"Opened a {manifest.describe()}; read-only, offline.")
    return core


def prime_live(core: Core) -> int:
    """Fill the charts' buffers from the capture's stored series (their latest points, as
    many as a buffer holds), as the poller fills them on a live site; samples loaded."""
    assert core.capture is not None
    since = datetime.fromisoformat(core.capture.since)
    loaded = 0
    for panel in core.catalog:
        for data in core.series.read(panel.id, start_ms=int(since.timestamp() * 1000)):
            loaded += core.live.append(
                data.cluster, panel.id, data.labels, data.timestamps_ms / 1000.0, data.values
            )
    return loaded
