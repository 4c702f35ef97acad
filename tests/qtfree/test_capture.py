"""Captures: export chosen clusters and a time range to a portable file with a manifest and no
secret; open it read-only and offline with the data, analysis and CLI working; foreign,
truncated and newer files refused with a message that says which."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.incidents import IncidentSignal
from aiops_desktop.models.metrics import MetricQuery
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.services.clusters.registry import ClusterNotFoundError
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import CaptureError, export_capture, open_capture
from aiops_desktop.store.capture import read_manifest
from analysis.incidents import group
from collectors.errors import CollectorError
from tests.qtfree.cli_runner import run_cli
from tests.servers.kube_api import RunningKubeApi
from tests.site_data import SPIKE_VALUE, TOKEN, build_site


@pytest.mark.asyncio
async def test_export_then_open_offline(core: Core, tmp_path: Path) -> None:
    await build_site(core)
    now = core.now()

    # an incident of east and west (a server's words in a reason may hold a secret, inside
    # quotes JSON must escape) and one of west alone
    def seen(key: str, cluster: str, reason: str) -> IncidentSignal:
        return IncidentSignal(key=key, source="alert", cluster=cluster, subject="Down",
                              severity=FindingSeverity.CRITICAL, reason=reason,
                              first_seen=now, last_seen=now, alert_name="Down")  # fmt: skip

    grouped, _ = group([], [seen("a", "east", f'secret="{TOKEN}"'), seen("b", "west", "x")], now)
    alone, _ = group([], [seen("c", "west", "y")], now + timedelta(hours=1))
    await asyncio.wrap_future(core.incidents.repo.save([*grouped, *alone]))
    out = tmp_path / "site.aiops"
    manifest = await export_capture(core, out, clusters=["east", "hub"], since=timedelta(hours=24))
    assert manifest.counts["incidents"] == 1  # east's (west alone is not chosen)
    assert manifest.clusters == ["east", "hub"] and manifest.members == ["east", "ran-a", "ran-b"]
    assert manifest.counts["clusters"] == 2 and manifest.counts["series"] == 6
    assert manifest.counts["anomalies"] >= 1 and manifest.counts["health_history"] > 0
    assert TOKEN.encode() not in out.read_bytes()  # the keyring keeps the secret
    assert read_manifest(out) == manifest

    opened = open_capture(out)
    try:
        assert opened.capture == manifest and opened.now().isoformat() == manifest.until
        await opened.registry.load()
        assert sorted(c.name for c in opened.registry.clusters()) == ["east", "hub"]
        stored = opened.series.read("node_cpu", cluster="east")
        assert len(opened.anomalies.repo.list()) == manifest.counts["anomalies"]
        (kept,) = opened.incidents.repo.list()
        assert [s.cluster for s in kept.signals] == ["east"]  # only the chosen clusters'
        assert TOKEN not in kept.signals[0].reason
        span_h = (stored[0].timestamps_ms[-1] - stored[0].timestamps_ms[0]) / 3.6e6
        assert 23.9 <= span_h <= 24.5  # the chosen 24 h (whole chunks at the edges)
        assert opened.live.snapshot("ran-a", "node_cpu").series  # the charts have data
        found = await opened.anomalies.analyse_history("east", "node_cpu")
        assert found and max(a.actual for a in found) == pytest.approx(SPIKE_VALUE)
        answer = await opened.queries.run(MetricQuery(promql="up"), opened.registry.clusters())
        # a query the export did not record is said so (every Prometheus was down at export:
        # its failed reads travel with the capture, and no live pool is asked)
        assert answer.series == [] and sorted(o.error or "" for o in answer.failures) == [
            "east: this query was not recorded in the capture",
            "hub: this query was not recorded in the capture",
        ]
    finally:
        await opened.shutdown()
    assert opened.scratch is not None and not opened.scratch.exists()
    assert read_manifest(out) == manifest  # the capture itself was not changed


@pytest.mark.asyncio
async def test_bad_captures_are_refused_with_the_reason(core: Core, tmp_path: Path) -> None:
    await build_site(core)
    good = tmp_path / "good.aiops"
    await export_capture(core, good, clusters=["west"], since=timedelta(hours=1))
    foreign = tmp_path / "notes.aiops"
    foreign.write_text("hello")
    with pytest.raises(CaptureError, match="not an AIOps Desktop capture \\(not an SQLite file\\)"):
        read_manifest(foreign)
    plain = tmp_path / "plain.aiops"
    sqlite3.connect(plain).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(CaptureError, match="an SQLite file but not an AIOps Desktop capture"):
        read_manifest(plain)
    cut = tmp_path / "cut.aiops"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CaptureError, match="truncated or damaged"):
        read_manifest(cut)
    newer = tmp_path / "newer.aiops"
    newer.write_bytes(good.read_bytes())
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(CaptureError, match=r"made by a newer AIOps Desktop .*schema 99.*upgrade"):
        read_manifest(newer)
    missing = tmp_path / "missing.aiops"
    with pytest.raises(CaptureError, match="cannot read"):
        read_manifest(missing)
    with pytest.raises(ClusterNotFoundError, match="no cluster named 'nowhere'"):
        await export_capture(core, tmp_path / "x.aiops", clusters=["nowhere"],
                             since=timedelta(hours=1))  # fmt: skip


def test_capture_commands(tmp_path: Path, secret_service) -> None:  # type: ignore[no-untyped-def]
    env, home = dict(secret_service.env), tmp_path / "home"
    added = run_cli(home, env, "clusters", "add", "east", "--prometheus-url",
                    "http://127.0.0.1:9", "--prometheus-token-file", "/dev/stdin",
                    stdin=TOKEN)  # fmt: skip
    assert added.returncode == 0, added.stderr
    out = tmp_path / "east.aiops"
    done = run_cli(home, env, "capture", "export", "--clusters", "east", "--since", "2h",
                   "--out", str(out), "--json")  # fmt: skip
    assert done.returncode == 3, done.stderr  # written, but nothing was ever polled: said
    assert "holds no samples of east" in done.stderr
    doc = json.loads(done.stdout)
    assert doc["clusters"] == ["east"] and doc["format"] == "aiops-desktop-capture"
    assert TOKEN.encode() not in out.read_bytes()
    info = run_cli(home, env, "capture", "info", str(out))
    assert info.returncode == 0 and info.stdout.startswith("clusters   east\n")
    listed = run_cli(home, env, "--capture", str(out), "clusters", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [c["name"] for c in json.loads(listed.stdout)] == ["east"]
    assert "Opened a capture of east" in listed.stderr and "read-only, offline" in listed.stderr
    assert "chats about it are not kept after it is closed" in listed.stderr
    bad = tmp_path / "bad.aiops"
    bad.write_text("not a capture")
    refused = run_cli(home, env, "--capture", str(bad), "clusters", "list")
    assert refused.returncode == 2
    assert "is not an AIOps Desktop capture (not an SQLite file)" in refused.stderr
    unknown = run_cli(home, env, "capture", "export", "--clusters", "nope", "--out",
                      str(tmp_path / "n.aiops"))  # fmt: skip
    assert unknown.returncode == 4 and "nope" in unknown.stderr


@pytest.mark.asyncio
async def test_the_sample_capture_carries_its_live_pages(secret_service) -> None:  # type: ignore[no-untyped-def]
    """Recorded at export: the GPU, PTP and SR-IOV/DPDK pages work inside the capture."""
    from aiops_desktop.secrets import SecretStore
    from aiops_desktop.services.gpu_cnf.gpu import read_gpu_fleet, stored_gpu_history
    from aiops_desktop.services.gpu_cnf.ptp import read_ptp_board
    from aiops_desktop.services.gpu_cnf.sriov import read_dataplane
    from aiops_desktop.settings import resources_dir

    opened = open_capture(
        resources_dir() / "samples" / "sample.aiops", SecretStore(secret_service.backend())
    )
    try:
        await opened.registry.load()
        clusters = opened.registry.clusters()
        fleet = await read_gpu_fleet(opened.queries, clusters)
        assert fleet.outcomes == [] and fleet.summary()["gpus"] == 64  # physical GPUs
        assert fleet.gpus[0].reading.temperature_c == 84  # the hot GPU, worst first
        board = await read_ptp_board(opened.queries, clusters)
        assert (board.rows[0].node, board.rows[0].state.value) == ("du-2", "FREERUN")
        vfs, ports, failures = await read_dataplane(opened.queries, clusters)
        assert failures == [] and len(vfs) == 12 and len(ports) == 3
        history = await opened.queries.run(MetricQuery(promql="up"), clusters)
        assert "not recorded in the capture" in history.failures[0].error
        # a GPU's last hour comes from the series the poller stored: utilisation, temperature
        hot = await asyncio.to_thread(
            stored_gpu_history, opened.series, fleet.gpus[0].reading, opened.now()
        )
        assert hot.reading.key == "ran-east/gpu-0/gpu5" and sorted(hot.series) == [
            "temperature_c",
            "util_pct",
        ]
        ts, temps = hot.series["temperature_c"]
        assert set(temps) == {84.0} and ts.size >= 100 and ts[-1] <= opened.now().timestamp()
        assert ts[-1] - ts[0] <= 3600 and set(hot.series["util_pct"][1]) == {15.0}  # 10 + gpu
    finally:
        await opened.shutdown()


@pytest.mark.integration
@pytest.mark.asyncio
async def test_the_kubernetes_objects_the_pages_read_travel_with_the_capture(
    core: Core, tmp_path: Path, kube_api: RunningKubeApi
) -> None:
    """PtpConfig thresholds, SR-IOV node states and networks, CNF pods and drift objects are
    answered inside the capture as the API answered at export; pods keep no spec."""
    from aiops_desktop.logs import REDACTED
    from aiops_desktop.services.gpu_cnf.cnf import read_sriov_objects
    from aiops_desktop.services.gpu_cnf.drift import DRIFT_OBJECTS
    from aiops_desktop.store.capture_redact import redact_labels

    await core.registry.add(
        ClusterSpec(name="ran-east", api_server_url=kube_api.url, ca_bundle_pem=kube_api.ca_pem),
        ClusterSecrets(token="admin-token"),
    )
    live_sriov = await read_sriov_objects(core.kube, core.registry.clusters())
    live_thresholds = await core.kube.ptp_thresholds()
    out = tmp_path / "ran.aiops"
    await export_capture(core, out, clusters=["ran-east"], since=timedelta(hours=1))
    raw = out.read_bytes()
    assert b"admin-token" not in raw and b'"containers"' not in raw  # pods: metadata only
    assert b"Hunter2-s3cr3t" not in raw  # a secret-named label leaves the site redacted

    opened = open_capture(out)
    try:
        await opened.registry.load()
        clusters = opened.registry.clusters()
        inside = await read_sriov_objects(opened.kube, clusters)
        assert inside.problems == [] and inside.nodes == live_sriov.nodes
        assert inside.networks == live_sriov.networks
        assert [p["metadata"] for _, p in inside.pods] == [
            {k: p["metadata"][k] for k in ("name", "namespace")}
            | {"labels": redact_labels(p["metadata"]["labels"])}
            for _, p in live_sriov.pods
        ]
        du = next(p for _, p in inside.pods if p["metadata"]["name"] == "du-0")
        assert du["metadata"]["labels"]["db_password"] == REDACTED
        assert await opened.kube.ptp_thresholds() == live_thresholds
        assert live_thresholds[0]  # the fixture's PtpConfigs name nodes: something to compare
        policies = await opened.kube.objects("ran-east", DRIFT_OBJECTS["ptpconfigs"])
        assert sorted(p["metadata"]["name"] for p in policies) == sorted(
            p["metadata"]["name"]
            for p in await core.kube.objects("ran-east", DRIFT_OBJECTS["ptpconfigs"])
        )
        with pytest.raises(CollectorError, match="was not recorded in the capture"):
            await opened.kube.objects("ran-east", "/api/v1/services")
    finally:
        await opened.shutdown()


@pytest.mark.asyncio
async def test_a_recorded_answer_is_cut_to_the_moment_asked_about() -> None:
    """A capture records an instant answer at export (21:11) and a range over its last hour.
    Asked for an earlier moment (RCA at 19:40), it answers what Prometheus would have then:
    no later sample, and no answer at all where the only sample is later."""
    from datetime import UTC, datetime

    from aiops_desktop.models import Cluster, QueryStatus, QueryType
    from aiops_desktop.services.outputs.recorded import RecordedQueries

    export = datetime(2026, 12, 4, 21, 11, tzinfo=UTC).timestamp()
    hour = [export - 3600 + 60 * n for n in range(61)]
    recorded = RecordedQueries(None, {  # type: ignore[arg-type]
        "INSTANT role": [["east", {"iface": "ens1f0"}, [export + 1], [1.0]]],
        "RANGE tx": [["east", {"vf": "0"}, hour, [float(n) for n in range(61)]]],
        "RANGE roles": [["east", {"iface": "ens2f0"}, hour, [float(n) for n in range(61)]]],
        "INSTANT roles": [["east", {"iface": "ens2f0"}, [export + 1], [99.0]]],
    }, ends=datetime.fromtimestamp(export, UTC))  # fmt: skip
    east = [Cluster(name="east", api_server_url="https://api:6443")]
    at = datetime(2026, 12, 4, 20, 40, tzinfo=UTC)
    role = await recorded.run(MetricQuery(promql="role", end=at), east)
    assert role.status is QueryStatus.ERROR and not role.series
    assert "only after the time asked about" in (role.outcomes[0].error or "")
    for moment in (None, datetime.fromtimestamp(export, UTC)):  # the capture's own moment
        now = await recorded.run(MetricQuery(promql="role", end=moment), east)
        assert [s.series.values.tolist() for s in now.series] == [[1.0]]  # recorded 1 s after
    tx = await recorded.run(
        MetricQuery(promql="tx", query_type=QueryType.RANGE, start=at - timedelta(minutes=10),
                    end=at), east)  # fmt: skip
    # an instant query at an earlier moment, where the capture recorded the range over its
    # span (the PTP roles): the last value within the lookback then, not the value at export
    then = await recorded.run(MetricQuery(promql="roles", end=at), east)
    (role,) = then.series
    assert role.series.timestamps.tolist() == [export - 3600 + 60 * 29]  # 20:40 is minute 29
    assert role.series.values.tolist() == [29.0]
    (series,) = tx.series
    assert series.series.timestamps.max() <= at.timestamp()
    assert (
        series.series.timestamps.min() >= at.timestamp() - 600 and series.series.values.size == 11
    )
    # a shorter range ending at the capture's end is cut to its own start (a 30-minute
    # handover read the recorded hour's PTP compliance as its own)
    last_half = await recorded.run(MetricQuery(
        promql="tx", query_type=QueryType.RANGE, start=datetime.fromtimestamp(export - 1800, UTC),
        end=datetime.fromtimestamp(export, UTC)), east)  # fmt: skip
    assert last_half.series[0].series.timestamps.min() >= export - 1800
    assert last_half.series[0].series.values.size == 31
    # asked at the wall clock's now (a day later), the same half hour of the capture's end
    late = datetime.fromtimestamp(export + 86400, UTC)
    at_now = await recorded.run(
        MetricQuery(
            promql="tx", query_type=QueryType.RANGE, start=late - timedelta(minutes=30), end=late
        ),
        east,
    )
    assert at_now.series[0].series.values.size == 31


@pytest.mark.integration
@pytest.mark.asyncio
async def test_an_export_records_what_rca_reads_over_its_span(
    core: Core,
    tmp_path: Path,
    prometheus,  # type: ignore[no-untyped-def]
) -> None:
    """Exported from a live Prometheus, a capture holds what RCA reads beside the stored series
    (the PTP ports' roles, the SR-IOV VFs' drops and errors) over its span, so that RCA of a
    moment before its end reads them as they were then (an instant role asked then is
    answered from the range); a query it never recorded still says so."""
    from aiops_desktop.models import ClusterKind, EndpointKind, QueryStatus, QueryType
    from aiops_desktop.services.gpu_cnf.ptp import ptp_queries
    from aiops_desktop.services.intelligence.rca_topology import topology_queries

    urls = {EndpointKind.PROMETHEUS: prometheus.url}
    await core.registry.add(ClusterSpec(name="hub", kind=ClusterKind.FLEET, endpoint_urls=urls))
    out = tmp_path / "live.aiops"
    await export_capture(core, out, clusters=["hub"], since=timedelta(hours=2))
    opened = open_capture(out)
    try:
        await opened.registry.load()
        hub = opened.registry.clusters()
        end = opened.now()
        roles = MetricQuery(promql=ptp_queries()["role"], query_type=QueryType.RANGE,
                            start=end - timedelta(hours=2), end=end)  # fmt: skip
        assert (await opened.queries.run(roles, hub)).status is QueryStatus.SUCCESS
        earlier = end - timedelta(minutes=40)
        for query in topology_queries(earlier - timedelta(minutes=30), earlier):
            answer = await opened.queries.run(query, hub)
            assert answer.status is QueryStatus.SUCCESS, query.promql
        never = MetricQuery(promql="sum(never_recorded)", query_type=QueryType.RANGE,
                            start=end - timedelta(hours=2), end=end)  # fmt: skip
        assert (await opened.queries.run(never, hub)).status is QueryStatus.ERROR
    finally:
        await opened.shutdown()


@pytest.mark.asyncio
async def test_an_episode_stored_open_whose_series_went_quiet_is_exported_ended(
    core: Core, tmp_path: Path
) -> None:
    """'Open' in the store means open when last saved (the app may have closed while it ran):
    exported, an open episode whose series has no sample in the span's last 10 minutes is
    ended, so the capture's incidents do not count it as going on at its end; one whose
    series reports to the end stays open."""
    from aiops_desktop.models.anomalies import AnomalyFilter

    await build_site(core)
    (found, *_) = await core.anomalies.stored(AnomalyFilter(clusters=("east",), limit=1))
    began = (found.started_at or found.timestamp) - timedelta(seconds=1)  # another episode
    going = found.model_copy(update={"open": True, "started_at": began})  # east reports on
    gone = going.model_copy(update={"labels": {"instance": "gone:9100"}})
    await asyncio.wrap_future(core.anomalies.repo.save([going, gone]))
    out = tmp_path / "site.aiops"
    await export_capture(core, out, clusters=["east"], since=timedelta(hours=24))
    with sqlite3.connect(out) as conn:
        opened = dict(conn.execute("SELECT identity, json_extract(body, '$.open') FROM anomalies"))
    assert opened[gone.identity] == 0 and opened[going.identity] == 1
    # a capture made before exports did this is mended as it opens
    with sqlite3.connect(out) as conn:
        conn.execute("UPDATE anomalies SET body = json_set(body, '$.open', json('true'))")
    reopened = open_capture(out)
    try:
        kept = {a.identity: a.open for a in reopened.anomalies.repo.list()}
        assert kept[gone.identity] is False and kept[going.identity] is True
    finally:
        await reopened.shutdown()
