"""Exporting a capture from the running cache, and opening one: the capture is checked, copied
to a working folder (the file itself is never changed) and opened as the cache of a Core that
polls nothing and connects nowhere; views, analysis and reports read it as they read the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiops_desktop import __version__
from aiops_desktop.logs import redact
from aiops_desktop.models import Cluster, ClusterKind, EndpointKind, utcnow
from aiops_desktop.models.enums import UserRole
from aiops_desktop.models.errors import UsageError
from aiops_desktop.models.metrics import ClusterOutcome, MetricQuery
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.core import Core
from aiops_desktop.services.kube.validation import has_kube_api
from aiops_desktop.services.outputs.recorded import (
    OBJECTS_KEY,
    RECORDED_KEY,
    RecordingQueries,
    objects_unread,
    record_objects,
    record_pages,
)
from aiops_desktop.services.outputs.recorded_logs import (
    LOGS_TRACES_KEY,
    read_recorded,
    record_logs_traces,
)
from aiops_desktop.services.runtime.access import Action
from aiops_desktop.services.runtime.gathering import gather_all
from aiops_desktop.services.runtime.outputs import check_output
from aiops_desktop.settings import AppPaths, Settings
from aiops_desktop.store.capture import SUFFIX, CaptureError, CaptureManifest, write_capture
from aiops_desktop.store.capture_load import load_capture
from aiops_desktop.store.capture_redact import redacted_document
from analysis.incidents import as_it_stood

RECORD_TIMEOUT_S = 60.0

#: why an opened capture is not exported again: written from its working copy, it held the
#: wall clock's last day (not its span) and none of its recorded answers, objects or logs
CAPTURE_NOT_EXPORTED = (
    "a capture is not exported again: it is re-shared by copying its file "
    "(`capture export` writes the live cache's data)"
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
    not_read: list[str] | None = None,
) -> CaptureManifest:
    """Chosen clusters' stored data from ``until - since`` to ``until`` (now) into ``out``;
    pending samples are written to the cache first. ``label``: shown wherever the capture's
    data is (the sample capture's "SAMPLE DATA"). ``not_read``: filled with what the export
    could not read of them ("cluster/source: why"; the capture holds it as not read)."""
    core.access.require(Action.EXPORT_CAPTURE)
    if core.capture is not None:
        raise UsageError(CAPTURE_NOT_EXPORTED)
    out = check_output(out, core.paths)  # never the cache itself, a folder or a device
    for name in clusters:
        core.registry.get(name)  # ClusterNotFoundError names an unknown one
    await asyncio.wrap_future(core.series.flush())
    end = until or utcnow()
    chosen = [core.registry.get(n) for n in clusters]
    stored = core.series.cluster_names()
    members = [
        m for c in chosen if c.kind is ClusterKind.FLEET for m in core.registry.members(c, stored)
    ]
    extra = {}
    unread: list[str] = []
    with_prometheus = [c for c in chosen if c.endpoint(EndpointKind.PROMETHEUS)]
    if with_prometheus:  # the GPU/PTP/SR-IOV pages as they are at its end
        # one whose Prometheus does not answer now is asked nothing more: each query records
        # it failed (opened, it is not read; never "not recorded", which reads as fine)
        recorder = RecordingQueries(core.queries, core.pool, await _down(core, with_prometheus))
        past = until if until is not None and until < utcnow() else None
        span = (end - since, end)
        try:
            async with asyncio.timeout(RECORD_TIMEOUT_S):
                await record_pages(recorder, with_prometheus, span, at=past)
        except TimeoutError:  # the queries left unasked recorded failed, asking nothing
            recorder.stop_asking(f"not read within the export's {RECORD_TIMEOUT_S:g} s to record")
            await record_pages(recorder, with_prometheus, span, at=past)
        extra[RECORDED_KEY] = await asyncio.to_thread(recorder.dump)  # thinned, checked: a thread
        unread += [f"{name}/metrics: {why}" for name, why in recorder.unread().items()]
    with_api = [c for c in chosen if has_kube_api(c)]
    if with_api:  # the objects those pages read from the API
        objects: dict[str, list[dict[str, Any]]] = {}
        with contextlib.suppress(TimeoutError):  # those not read in time recorded failed
            async with asyncio.timeout(RECORD_TIMEOUT_S):
                await record_objects(core.kube, with_api, objects)
        unread += [f"{name}/kubernetes: {why}" for name, why in objects_unread(objects).items()]
        # labels and operator objects' texts redacted as every other text that leaves the
        # site: a pod's 'db_password' label left in clear; off the loop (a fleet's objects)
        extra[OBJECTS_KEY] = await asyncio.to_thread(lambda: json.dumps(redacted_document(objects)))
    with_logs = [c for c in chosen
                 if c.endpoint(EndpointKind.LOKI) or c.endpoint(EndpointKind.TEMPO)]  # fmt: skip
    if with_logs:  # the window's error lines and failing traces, each cluster in its own time
        extra[LOGS_TRACES_KEY] = await record_logs_traces(
            core.logs_traces, with_logs, end - since, end, within_s=RECORD_TIMEOUT_S,
            not_read=unread,
        )  # fmt: skip
    manifest = await asyncio.to_thread(
        write_capture, core.db.path, out, clusters=clusters, since=end - since, until=end,
        app_version=__version__, members=members, label=label, extra_meta=extra,
        incidents_as_of=as_it_stood,  # a past span's incidents as they stood at its end
    )  # fmt: skip
    if not_read is not None:
        not_read += sorted(redact(line) for line in unread)
    return manifest


async def _down(core: Core, clusters: list[Cluster]) -> dict[str, ClusterOutcome]:
    """The clusters whose Prometheus does not answer now (one cheap query each, in
    parallel), with why."""
    probe = MetricQuery(promql="vector(1)")
    answers = await gather_all(*(core.queries.run(probe, [c]) for c in clusters))
    return {o.cluster: o for answer in answers for o in answer.failures}


def open_capture(
    path: Path, secrets: SecretStore | None = None, *, reports_dir: Path | None = None,
    person: Settings | None = None, role: UserRole | None = None,
) -> Core:  # fmt: skip
    """A Core over a checked copy of the capture at ``path`` (CaptureError if it cannot be
    opened: foreign, truncated, damaged, newer, or holding what a capture may not). The file
    itself is never changed; the working copy is removed when the Core closes, or at once if
    opening fails. It has no keyring (``secrets`` is ignored). Blocking: call from a worker
    thread. ``reports_dir``: where its reports go (the user's own folder, not the temporary
    one). ``person``: the person's own settings (never the capture's): their model server (a
    capture can be explained and chatted about offline; it has no keyring, so no API key) and
    the highest role their account runs as (``role``, from ``--role``, is at most that)."""
    work = Path(tempfile.mkdtemp(prefix="aiops-capture-"))
    try:
        paths = AppPaths(work / "data", work / "logs", reports_to=reports_dir).ensure()
        manifest, documents = load_capture(path, paths.db_path)
        core = Core.open(
            paths,
            Settings(llm=person.llm, ui=person.ui, access=person.access) if person else None,
            capture=manifest, role=role,
            recorded_answers=documents.get(RECORDED_KEY),
            recorded_objects=documents.get(OBJECTS_KEY),
            recorded_logs_traces=read_recorded(documents.get(LOGS_TRACES_KEY), str(path)),
        )  # fmt: skip
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    core.scratch = work
    try:
        prime_live(core)
    except BaseException:
        core.close()
        raise
    # its working copy (chats included) goes when it closes: said where a chat begins
    core.notices.append(f"Opened a {manifest.describe()}; read-only, offline; chats about it "
                        "are not kept after it is closed.")  # fmt: skip
    return core


def prime_live(core: Core) -> int:
    """Fill the charts' buffers from the capture's stored series over its span (their latest
    points, as many as a buffer holds), as the poller fills them on a live site; samples
    loaded. Up to its end only: a past span's chunks may hold later samples, and a crafted
    capture's dated after it are not read."""
    assert core.capture is not None
    since = datetime.fromisoformat(core.capture.since)
    until = datetime.fromisoformat(core.capture.until)
    loaded = 0
    for panel in core.catalog:
        for data in core.series.read(panel.id, start_ms=int(since.timestamp() * 1000),
                                     end_ms=int(until.timestamp() * 1000)):  # fmt: skip
            loaded += core.live.append(
                data.cluster, panel.id, data.labels, data.timestamps_ms / 1000.0, data.values
            )
    return loaded
