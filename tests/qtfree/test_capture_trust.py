"""A capture is a file from elsewhere, hostile until checked. Each test first builds the attack
or the damage as the review found it, then shows the app refuses it with its own message and
loses nothing: a crafted record naming another application's keyring entry reaches no keyring
and no host; views, triggers, bad manifests and bad records are refused by name; a FIFO is
not waited on; a damaged index does not crash the open; a failed open leaves no copy behind."""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.models import utcnow
from aiops_desktop.models.credentials import CredentialRef
from aiops_desktop.models.enums import CredentialKind
from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.incidents import Incident
from aiops_desktop.secrets import NoSecrets, SecretsError
from aiops_desktop.services.clusters.connections import EndpointNotConfigured
from aiops_desktop.services.clusters.registry import RegistryError
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import CaptureError, export_capture, open_capture
from aiops_desktop.store.capture import read_manifest
from tests.qtfree.cli_runner import run_cli
from tests.site_data import TOKEN, build_site

VICTIM = CredentialRef(kind=CredentialKind.BEARER_TOKEN, service="other-app", key="victim")
VICTIM_SECRET = "other-apps-secret-5d1f"


class Listener:
    """An HTTPS-less host that records every request and its Authorization header."""

    def __init__(self) -> None:
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append((self.path, self.headers.get("Authorization")))
                self.send_response(200)
                self.end_headers()

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def listener() -> Iterator[Listener]:
    running = Listener()
    yield running
    running.stop()


async def exported(core: Core, tmp_path: Path) -> Path:
    await build_site(core)
    out = tmp_path / "site.aiops"
    await export_capture(core, out, clusters=["east", "west"], since=timedelta(hours=2))
    return out


def craft(capture: Path, out: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    out.write_bytes(capture.read_bytes())
    with sqlite3.connect(out) as conn:
        edit(conn)
    return out


def name_the_victim(conn: sqlite3.Connection, api_url: str, live_key: str | None = None) -> None:
    """The attack: east's record names another application's keyring entry (or a live
    cluster's) as its credential, and an API server the attacker runs."""
    doc = json.loads(conn.execute("SELECT doc FROM clusters WHERE name='east'").fetchone()[0])
    ref = VICTIM.model_dump(mode="json")
    if live_key:
        ref = {**ref, "service": "aiops-desktop", "key": live_key}
    doc["credential"] = ref
    doc["api_server_url"] = api_url
    for endpoint in doc["endpoints"]:
        endpoint["auth"], endpoint["credential"] = "BEARER", ref
    conn.execute("UPDATE clusters SET doc=? WHERE name='east'", (json.dumps(doc),))


@pytest.mark.asyncio
async def test_an_export_carries_no_credential_reference(core: Core, tmp_path: Path) -> None:
    out = await exported(core, tmp_path)
    raw = out.read_bytes()
    assert TOKEN.encode() not in raw
    with sqlite3.connect(out) as conn:
        docs = [json.loads(r[0]) for r in conn.execute("SELECT doc FROM clusters")]
    assert docs and all(d["credential"] is None for d in docs)
    assert all(
        e["credential"] is None and e["auth"] == "NONE" for d in docs for e in d["endpoints"]
    )
    assert b"cluster/" not in raw  # no keyring key of this site's entries


@pytest.mark.asyncio
async def test_what_leaves_the_site_carries_no_secret_a_server_wrote(
    core: Core, tmp_path: Path
) -> None:
    """A site whose alert summary, anomaly (explanation and labels) and series label quote a
    password and a bearer token: the capture holds neither (it held all three verbatim), and
    a report made from the capture neither."""
    import asyncio

    from aiops_desktop.models.alerts import Alert
    from aiops_desktop.models.anomalies import AnomalyFilter
    from aiops_desktop.models.reports import ReportType
    from aiops_desktop.services.outputs.reports import make_report
    from aiops_desktop.store.series import SeriesBatch
    from analysis.reports.render_text import to_markdown

    await build_site(core)
    password, token = "Hunt3r2-pw", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    leak = f"postgres://admin:{password}@db:5432 password={password} Authorization: Bearer {token}"
    now = utcnow()
    firing = Alert(fingerprint="f1", cluster="east", name="DbDown",
                   starts_at=now - timedelta(minutes=5), annotations={"summary": leak})  # fmt: skip
    await asyncio.wrap_future(core.alert_events.record("east", [firing], now))
    (found, *_) = await core.anomalies.stored(AnomalyFilter(clusters=("east",), limit=1))
    planted = found.model_copy(update={"explanation": leak, "labels": {
        "dsn": leak, "url": f"http://db/?password={password}"}})  # fmt: skip
    await asyncio.wrap_future(core.anomalies.repo.save([planted]))
    from aiops_desktop.services.intelligence.incidents import anomaly_signals
    from analysis.incidents import group

    (incident,), _ = group([], anomaly_signals([planted], now), now)
    await asyncio.wrap_future(core.incidents.repo.save([incident]))
    ts = (now.timestamp() - 60 * (10 - np.arange(10))) * 1000
    await asyncio.wrap_future(
        core.series.append(
            [SeriesBatch("east", "node_cpu", {"instance": "db:9100", "dsn": leak}, ts, np.ones(10))]
        )
    )
    await asyncio.wrap_future(core.series.flush())
    out = tmp_path / "site.aiops"
    await export_capture(core, out, clusters=["east"], since=timedelta(hours=2))
    raw = out.read_bytes()
    assert password.encode() not in raw and token.encode() not in raw
    with sqlite3.connect(out) as conn:  # each row is there, without its secret
        (summary,) = conn.execute(
            "SELECT summary FROM alert_events WHERE name = 'DbDown'"
        ).fetchone()
        (labels,) = conn.execute(
            "SELECT labels FROM series WHERE labels LIKE '%db:9100%'"
        ).fetchone()
        (exported_identity,) = conn.execute(
            "SELECT identity FROM anomalies WHERE identity LIKE '%dsn=%'"
        ).fetchone()
        (body,) = conn.execute("SELECT body FROM incidents").fetchone()
    assert "[REDACTED]" in summary and "[REDACTED]" in json.loads(labels)["dsn"]
    # the incident's signal still names the anomaly, by its identity as exported
    assert [s["key"] for s in json.loads(body)["signals"]] == [f"anomaly|{exported_identity}"]
    opened = open_capture(out)
    try:
        await opened.registry.load()
        report = await make_report(opened, ReportType.HANDOVER, ["east"], timedelta(hours=2))
        text = to_markdown(report)
        assert password not in text and token not in text
        assert "REDACTED" in text  # the anomaly is there, without its secret
    finally:
        await opened.shutdown()


@pytest.mark.asyncio
async def test_a_crafted_record_reaches_no_keyring_and_no_host(
    core: Core,
    tmp_path: Path,
    secret_service,
    listener: Listener,  # type: ignore[no-untyped-def]
) -> None:
    out = await exported(core, tmp_path)
    core.secrets.put(VICTIM, VICTIM_SECRET)  # another application's secret in the same keyring
    live = core.registry.get("east").credential
    assert live is not None and core.secrets.get(live) == TOKEN
    https = listener.url.replace("http://", "https://")
    evil = craft(out, tmp_path / "evil.aiops", lambda c: name_the_victim(c, https))
    near = craft(out, tmp_path / "near.aiops", lambda c: name_the_victim(c, https, live.key))

    opened = open_capture(evil)
    try:
        await opened.registry.load()
        east = opened.registry.get("east")
        assert east.credential is None and all(e.credential is None for e in east.endpoints)
        assert isinstance(opened.secrets, NoSecrets)
        with pytest.raises(SecretsError, match="no credentials"):
            opened.secrets.get(VICTIM)
        with pytest.raises(EndpointNotConfigured, match="no live connections"):
            await opened.kube.validate("east")  # what the Kubernetes page asks when it opens
        with pytest.raises(RegistryError, match="read-only"):
            await opened.registry.remove("east")
    finally:
        await opened.shutdown()

    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": secret_service.address}
    home = tmp_path / "cli-home"
    for capture in (evil, near):
        done = run_cli(home, env, "--capture", str(capture), "clusters", "validate", "east")
        assert done.returncode == 2 and "no live connections" in done.stderr, done.stderr
        done = run_cli(home, env, "--capture", str(capture), "clusters", "remove", "east")
        assert done.returncode == 2 and "read-only" in done.stderr, done.stderr
        listed = run_cli(home, env, "--capture", str(capture), "clusters", "list", "--json")
        assert listed.returncode == 0 and '"other-app"' not in listed.stdout
    assert listener.seen == []  # nothing was sent anywhere
    assert core.secrets.get(VICTIM) == VICTIM_SECRET  # and nothing was deleted
    assert core.secrets.get(live) == TOKEN


@pytest.mark.asyncio
async def test_views_triggers_and_strange_tables_are_refused(core: Core, tmp_path: Path) -> None:
    out = await exported(core, tmp_path)
    hang = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT x FROM r"
    cases = {
        "view": lambda c: c.execute(f"CREATE VIEW forever AS {hang}"),
        "trigger": lambda c: c.execute(
            "CREATE TRIGGER t AFTER INSERT ON anomalies BEGIN DELETE FROM clusters; END"
        ),
        "table this app does not know": lambda c: c.execute("CREATE TABLE extra (x)"),
    }
    for said, edit in cases.items():
        crafted = craft(out, tmp_path / f"{said[:5]}.aiops", edit)
        with pytest.raises(CaptureError, match=said):
            open_capture(crafted)

    # a table replaced by a view of the same name: refused, never read
    def series_as_view(c: sqlite3.Connection) -> None:
        c.execute("DROP TABLE series")
        c.execute(f"CREATE VIEW series AS SELECT x AS id FROM ({hang})")  # noqa: S608

    with pytest.raises(CaptureError, match="holds a view"):
        open_capture(craft(out, tmp_path / "sv.aiops", series_as_view))


@pytest.mark.asyncio
async def test_bad_manifests_and_records_are_refused_by_name(core: Core, tmp_path: Path) -> None:
    out = await exported(core, tmp_path)

    def manifest(value: str):  # type: ignore[no-untyped-def]
        return lambda c: c.execute(
            "UPDATE app_meta SET value=? WHERE key='capture_manifest'", (value,)
        )

    doc = json.loads(
        sqlite3.connect(out).execute("SELECT value FROM app_meta WHERE key='capture_manifest'")
        .fetchone()[0]
    )  # fmt: skip
    bad_manifests = {
        "not json": manifest("{not json"),
        "a list": manifest("[1, 2]"),
        "clusters a number": manifest(json.dumps({**doc, "clusters": 7})),
        "since no time": manifest(json.dumps({**doc, "since": "yesterday"})),
        "deep": manifest("[" * 100_000 + "]" * 100_000),
        "huge": manifest(json.dumps({**doc, "label": "x" * 100_000})),
        # times a report and an incident id would carry, or that overflow on arithmetic
        "year 1": manifest(json.dumps({**doc, "until": "0001-01-01T00:00:00+00:00"})),
        "year 9999": manifest(json.dumps({**doc, "until": "9999-12-31T00:00:00+00:00"})),
        "backwards": manifest(json.dumps({**doc, "since": doc["until"], "until": doc["since"]})),
        "after made": manifest(json.dumps({**doc, "created_at": "2020-01-01T00:00:00+00:00"})),
        # a forged line in `capture info` and the open notice
        "line break": manifest(json.dumps({**doc, "created_at": "x\nfrom       2020"})),
        "label break": manifest(json.dumps({**doc, "label": "SAMPLE\nall clear"})),
        "markup name": manifest(json.dumps({**doc, "members": ["<b>ran-east</b>"]})),
    }
    for case, edit in bad_manifests.items():
        crafted = craft(out, tmp_path / f"m-{case[:6]}.aiops", edit)
        with pytest.raises(CaptureError, match=r"manifest|not an AIOps Desktop capture"):
            read_manifest(crafted)
    bad_records = {
        "not json": "{",
        "wrong types": json.dumps({"name": 5}),
        "a bad name": json.dumps({"name": "Not-DNS!", "endpoints": []}),
    }
    for case, value in bad_records.items():
        crafted = craft(
            out, tmp_path / f"r-{case[:6]}.aiops",
            lambda c, v=value: c.execute("UPDATE clusters SET doc=? WHERE name='east'", (v,)),
        )  # fmt: skip
        with pytest.raises(CaptureError, match="cluster record is not valid"):
            open_capture(crafted)
    # anomalies and incidents: a body the lists could not read is refused on open, by name
    planted = Incident(id="INC-1", title="t", severity=FindingSeverity.WARNING,
                       opened_at=utcnow(), updated_at=utcnow())  # fmt: skip
    huge = planted.model_copy(update={"title": "x" * (1 << 20)}).model_dump_json()
    add = "INSERT INTO incidents VALUES (?, 'OPEN', 'WARNING', 0, 0, ?)"
    bad_documents = {
        "anomaly not json": ("UPDATE anomalies SET body = ?", ("{",)),
        "incident wrong": (add, ("INC-2", json.dumps({"id": 5}))),
        "incident huge": (add, ("INC-3", huge)),
    }
    for case, (sql, args) in bad_documents.items():
        crafted = craft(out, tmp_path / f"d-{case[:8]}.aiops",
                        lambda c, q=sql, a=args: c.execute(q, a))  # fmt: skip
        with pytest.raises(CaptureError, match=r"(anomaly|incident) .*(not a record|over)"):
            open_capture(crafted)
    # the documents beside the manifest: read into Python only if their shape is plausible
    meta = "INSERT OR REPLACE INTO app_meta (key, value) VALUES (?, ?)"
    bad_meta = {
        # 12 MiB of empty objects: read, 21 times that (the limit, 256 MiB, was 5.5 GiB)
        "containers": (("recorded_answers", "[" + "{}," * 4_000_001 + "{}]"),
                       "more JSON objects and lists"),
        "a blob": (("recorded_objects", b'{"east": []}'), "not text"),
    }  # fmt: skip
    for case, (args, said) in bad_meta.items():
        crafted = craft(out, tmp_path / f"x-{case[:8]}.aiops",
                        lambda c, a=args: c.execute(meta, a))  # fmt: skip
        with pytest.raises(CaptureError, match=said):
            open_capture(crafted)


def _chunk_bomb(conn: sqlite3.Connection) -> None:
    """One chunk that says 20 million samples of zeros (180 MB once decompressed; 175 KB)."""
    import struct
    import zlib

    blob = struct.pack("<BBIHq", 1, 2, 20_000_000, 1, 0) + zlib.compress(bytes(180 << 20), 9)
    conn.execute("UPDATE chunks SET count = 20000000, data = ? WHERE id = (SELECT min(id) "
                 "FROM chunks)", (blob,))  # fmt: skip


@pytest.mark.asyncio
async def test_rows_the_store_would_trip_over_or_believe_are_refused_on_open(
    core: Core, tmp_path: Path
) -> None:
    """Each row a page reads is checked as the capture opens: a chunk that claims more than
    this app writes (a memory bomb: 1.2 GB for 175 KB), chunks over the same time, labels
    or samples of the wrong type, health records and firings without a zone are refused by
    what is wrong, where they used to be a traceback (or the memory) in every page."""
    out = await exported(core, tmp_path)

    def run(sql: str):  # type: ignore[no-untyped-def]
        return lambda c: c.execute(sql)

    bad = {
        "bomb": (_chunk_bomb, "samples of 1 columns"),
        "count": (run("UPDATE chunks SET count = count + 1 WHERE id = "
                      "(SELECT min(id) FROM chunks)"),
                  "where its row says"),
        "dense": (run("UPDATE chunks SET end_ms = start_ms WHERE count > 1 AND id = "
                      "(SELECT min(id) FROM chunks)"),
                  "samples in 0 ms"),
        "overlap": (run("INSERT INTO chunks (series_id, resolution_s, start_ms, end_ms, count, "
                        "data) SELECT series_id, resolution_s, start_ms + 1, end_ms, count, "
                        "data FROM chunks WHERE id = (SELECT min(id) FROM chunks)"),
                    "cover the same time"),
        "orphan": (run("UPDATE chunks SET series_id = 99999 WHERE id = "
                       "(SELECT min(id) FROM chunks)"),
                   "belong to no series"),
        "labels": (run("UPDATE series SET labels = '[1, 2]' WHERE id = (SELECT min(id) FROM "
                       "series)"), "not a set of names"),
        "sample": (run("INSERT INTO samples_head SELECT id, 1, 'abc' FROM series LIMIT 1"),
                   "not a time and a number"),
        "health": (run("UPDATE health_history SET state = 'BOGUS'"), "health record"),
        "firing": (run("INSERT INTO alert_events VALUES ('east', 'f', '2026-12-04T10:00:00', "
                       "'A', 'warning', 's', '2026-12-04T10:01:00', NULL)"), "without a zone"),
        "future": (run("UPDATE anomalies SET body = json_set(body, '$.timestamp', "
                       "'2030-01-01T00:00:00Z', '$.started_at', '2030-01-01T00:00:00Z')"),
                   "anomalies is dated after the capture's end"),
    }  # fmt: skip
    for case, (edit, said) in bad.items():
        crafted = craft(out, tmp_path / f"rows-{case}.aiops", edit)
        with pytest.raises(CaptureError, match=said):
            open_capture(crafted)
    opened = open_capture(out)  # the export itself passes every check
    await opened.shutdown()
    # two rollups of a series may share the bucket a retention pass split (the store writes
    # them so): the second starts where the first ends, and that is no overlap
    opened = open_capture(craft(out, tmp_path / "rollups.aiops", _rollups_sharing_a_bucket))
    await opened.shutdown()


def _rollups_sharing_a_bucket(conn: sqlite3.Connection) -> None:
    from aiops_desktop.store import codec

    (series_id,) = conn.execute("SELECT min(id) FROM series").fetchone()
    (first,) = conn.execute("SELECT max(start_ms) FROM chunks").fetchone()  # in its span
    for start in (first, first + 600_000):
        ts = start + np.arange(3, dtype=np.int64) * 300_000
        columns = [np.array([1.0, 2.0, 3.0])] * 3 + [np.array([10.0, 10.0, 10.0])]
        conn.execute("INSERT INTO chunks (series_id, resolution_s, start_ms, end_ms, count, data) "
                     "VALUES (?, 300, ?, ?, 3, ?)",
                     (series_id, int(ts[0]), int(ts[-1]), codec.encode(ts, columns)))  # fmt: skip


@pytest.mark.asyncio
async def test_damage_and_odd_files_are_said_and_leave_no_copy(
    core: Core, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = await exported(core, tmp_path)
    # a scratch folder of its own: the UI suite, run beside this one, opens captures too
    (tmp_path / "scratch").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "scratch"))
    scratch_before = set(Path(tempfile.gettempdir()).glob("aiops-capture-*"))
    fifo = tmp_path / "pipe.aiops"
    os.mkfifo(fifo)
    with pytest.raises(CaptureError, match="not a regular file"):
        read_manifest(fifo)  # refused at once, not waited on
    with pytest.raises(CaptureError, match="not a regular file"):
        read_manifest(tmp_path)

    def corrupt_index(conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA writable_schema=ON")  # the index's definition no longer matches
        conn.execute(
            "UPDATE sqlite_master SET sql = replace(sql, '(metric, cluster)', '(cluster)') "
            "WHERE name = 'series_by_metric'"
        )

    damaged = craft(out, tmp_path / "idx.aiops", corrupt_index)
    opened = open_capture(damaged)  # rows are copied without the file's indexes
    try:
        await opened.registry.load()
        assert {c.name for c in opened.registry.clusters()} == {"east", "west"}
        assert opened.series.read("node_cpu", cluster="east")
    finally:
        await opened.shutdown()
    with pytest.raises(CaptureError):
        open_capture(
            craft(out, tmp_path / "v.aiops", lambda c: c.execute("CREATE VIEW v AS SELECT 1"))
        )
    assert set(Path(tempfile.gettempdir()).glob("aiops-capture-*")) == scratch_before


def test_a_foreign_sqlite_file_is_never_taken_for_the_cache(tmp_path: Path) -> None:
    from aiops_desktop.settings import resolve_paths
    from aiops_desktop.store.errors import StoreForeignError

    paths = resolve_paths(tmp_path / "home").ensure()
    with sqlite3.connect(paths.db_path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('keep me')")
    before = paths.db_path.read_bytes()
    with pytest.raises(StoreForeignError, match="not an AIOps Desktop cache; it was not changed"):
        Core.open(paths, secrets=NoSecrets())
    assert paths.db_path.read_bytes() == before
