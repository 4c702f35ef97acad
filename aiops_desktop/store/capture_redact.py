"""What leaves the site in a capture is redacted: every text a server or an exporter wrote
that the copy carries (an alert's summary, an anomaly's explanation and labels, a series'
labels, every text of an incident, the Kubernetes objects recorded) goes through
``logs.redact``, field by field (redacting a JSON text whole could break its quoting and
leave a secret in it); a label whose name says
it is a secret (``db_password``, ``api_key``) is redacted whole, as a log line's is. A series
whose labels, once redacted, are those of another is merged into nothing: it is dropped with
its samples (two series that differed only by a secret cannot both be told apart without it),
taken off the manifest's counts and counted, for the capture to say.

Beside it, what an export and an open both tidy: an episode stored open whose series has no
sample near the span's end is marked ended (``end_the_silent``)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from aiops_desktop.logs import REDACTED, names_a_secret, redact
from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.incidents import Incident
from aiops_desktop.store.bodies import DamagedRowError, read_one
from aiops_desktop.store.series import labels_key


def redact_labels(labels: dict[str, str]) -> dict[str, str]:
    """Labels as they leave the site: a value whose label's name says it is a secret goes
    whole (an API key has no shape a pattern knows; the rule a log line's labels follow),
    any other is redacted as text."""
    return {k: (REDACTED if v and names_a_secret(k) else redact(v)) for k, v in labels.items()}


#: how deep a recorded document is walked; past it a value leaves as REDACTED (a Kubernetes
#: object is a dozen levels deep; its reader bounds the depth before this sees it)
MOST_DEPTH = 64


def redacted_document(doc: Any, depth: int = 0) -> Any:
    """A recorded document (the Kubernetes objects a capture keeps) as it leaves the site,
    field by field: a text redacted as a log line is, the value under a name that says it is
    a secret (a label ``db_password``) whole, as ``redact_labels`` does, whatever it is (a
    list or an object under ``password`` or ``apiToken`` left its texts in clear); an empty
    one (null, "", [], {}) holds nothing and stays as it is."""
    if depth > MOST_DEPTH:
        return REDACTED
    if isinstance(doc, str):
        return redact(doc)
    if isinstance(doc, list):
        return [redacted_document(item, depth + 1) for item in doc]
    if isinstance(doc, dict):
        return {
            key: REDACTED
            if value not in (None, "", [], {}) and names_a_secret(str(key))
            else redacted_document(value, depth + 1)
            for key, value in doc.items()
        }
    return doc


def redacted_anomaly(found: Anomaly) -> Anomaly:
    """An anomaly as it leaves the site (its identity follows its redacted labels)."""
    return found.model_copy(update={
        "labels": redact_labels(found.labels), "explanation": redact(found.explanation),
        "related_alerts": [redact(a) for a in found.related_alerts],
    })  # fmt: skip


def redact_key(key: str, conn: sqlite3.Connection) -> str:
    """An incident signal's key as it leaves the site: an anomaly's names the anomaly's
    redacted identity (as its exported row, so a capture's regrouping finds it again), any
    other is redacted part by part (a key's '|' are its own: redacting it whole let
    'password=…|start' swallow the start)."""
    kind, _, rest = key.partition("|")
    if kind == "anomaly":
        row = conn.execute("SELECT body FROM src.anomalies WHERE identity = ?", (rest,)).fetchone()
        if row is not None:
            try:
                return f"anomaly|{redacted_anomaly(read_one(Anomaly, row[0], 'anomaly')).identity}"
            except DamagedRowError:
                pass
    return "|".join(redact(part) for part in key.split("|"))


def redacted_incident(incident: Incident, conn: sqlite3.Connection) -> Incident:
    """An incident as it leaves the site: every text it carries redacted, whatever field holds
    it (its title, why it was reopened, which quotes a signal's reason, and each signal's
    subject, reason, entity, places and earlier reasons: a field added later too), each
    signal's key as ``redact_key`` says."""
    clean = _redact_strings(incident.model_dump())
    for signal, original in zip(clean["signals"], incident.signals, strict=True):
        signal["key"] = redact_key(original.key, conn)
    return Incident.model_validate(clean)


def _redact_strings(value: Any) -> Any:
    """Every string in a model's dump redacted (times, numbers and the like as they are)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_strings(v) for v in value]
    return value


def redact_copied(conn: sqlite3.Connection, counts: dict[str, int]) -> int:
    """Redact the rows just copied into ``main`` (a capture being written), the series dropped
    taken off ``counts`` (the manifest's). Returns the series dropped because their redacted
    labels are another's (``_redact_series``)."""
    conn.execute("UPDATE main.alert_events SET summary = redact_text(summary)")
    _redact_anomalies(conn)
    return _redact_series(conn, counts)


#: an episode stored open whose series has no sample this close to the span's end is over,
#: as far as the capture can tell (the app closed while it ran, its series went away)
OPEN_NEEDS_SAMPLE_WITHIN_MS = 10 * 60 * 1000


def end_the_silent(conn: sqlite3.Connection, until_ms: int) -> None:
    """Mark ended the open episodes whose series has no sample near the span's end: "open"
    in the store means open when last saved, and a capture's regrouping counts every open
    episode as going on at its end, however long ago it really ended."""
    rows = conn.execute("SELECT identity, body FROM main.anomalies WHERE "
                        "json_extract(body, '$.open') = 1").fetchall()  # fmt: skip
    for identity, body in rows:
        try:
            found = read_one(Anomaly, body, "anomaly")
        except DamagedRowError:
            continue  # dropped with the redaction's pass
        newest = conn.execute(
            "SELECT max(last) FROM (SELECT max(k.end_ms) AS last FROM main.chunks k JOIN "
            "main.series s ON s.id = k.series_id WHERE s.cluster = ? AND s.metric = ? AND "
            "s.labels = ? AND k.resolution_s = 0 UNION ALL SELECT max(h.ts_ms) FROM "
            "main.samples_head h JOIN main.series s ON s.id = h.series_id WHERE s.cluster = ? "
            "AND s.metric = ? AND s.labels = ?)",
            (found.cluster, found.metric, labels_key(found.labels)) * 2,
        ).fetchone()[0]
        if newest is None or newest < until_ms - OPEN_NEEDS_SAMPLE_WITHIN_MS:
            conn.execute("UPDATE main.anomalies SET body = ? WHERE identity = ?",
                         (found.ended().model_dump_json(), identity))  # fmt: skip


def _redact_anomalies(conn: sqlite3.Connection) -> None:
    rows = conn.execute("SELECT * FROM main.anomalies").fetchall()
    for identity, cluster, metric, severity, kind, at, score, body in rows:
        try:
            found = read_one(Anomaly, body, "anomaly")
        except DamagedRowError:  # never exported as it is
            conn.execute("DELETE FROM main.anomalies WHERE identity = ?", (identity,))
            continue
        clean = redacted_anomaly(found)
        if clean == found:
            continue
        conn.execute("DELETE FROM main.anomalies WHERE identity = ?", (identity,))
        conn.execute(
            "INSERT OR REPLACE INTO main.anomalies VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (clean.identity, cluster, metric, severity, kind, at, score, clean.model_dump_json()),
        )


def _redact_series(conn: sqlite3.Connection, counts: dict[str, int]) -> int:
    """Redact the copied series' labels, taking each series dropped off ``counts`` (those it
    names). Returns the series dropped because their labels, once redacted, are another's:
    the capture says them, or one holding a pod of three looked whole."""
    merged = 0
    for series_id, text in conn.execute("SELECT id, labels FROM main.series").fetchall():
        try:
            labels = json.loads(text)
            clean = labels_key(redact_labels(labels)) if isinstance(labels, dict) else None
        except (ValueError, TypeError):  # damaged text (a disk error, a hand edit)
            clean = None
        if clean is None:  # never exported as it is: left out, with its samples
            drop_series(conn, series_id, counts)
        elif clean != text:
            try:
                conn.execute("UPDATE main.series SET labels = ? WHERE id = ?", (clean, series_id))
            except sqlite3.IntegrityError:  # the same labels as another once redacted
                drop_series(conn, series_id, counts)
                merged += 1
    return merged


def drop_series(conn: sqlite3.Connection, series_id: int, counts: dict[str, int]) -> None:
    """Delete a copied series with its samples, each row taken off ``counts`` (the manifest's
    tables, where it names them): the manifest says what the file holds."""
    for table, column, counted in (("chunks", "series_id", "chunks"),
                                   ("samples_head", "series_id", "samples"),
                                   ("series", "id", "series")):  # fmt: skip
        # the table and column names are this module's own
        dropped = conn.execute(f"DELETE FROM main.{table} WHERE {column} = ?",  # noqa: S608
                               (series_id,)).rowcount  # fmt: skip
        if counted in counts:
            counts[counted] -= dropped
