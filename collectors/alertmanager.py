"""Alertmanager API v2 client: alerts, alert groups, silences. Read-only by design."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiops_desktop.logs import redact
from aiops_desktop.models import AlertSeverity, AlertState
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.cluster import member_name
from collectors.errors import CollectorBadResponse
from collectors.prometheus import ready_answer

if TYPE_CHECKING:
    from collectors.http import BackendClient

log = logging.getLogger(__name__)

_SEVERITY = {
    "critical": AlertSeverity.CRITICAL,
    "error": AlertSeverity.CRITICAL,
    "page": AlertSeverity.CRITICAL,
    "warning": AlertSeverity.WARNING,
    "warn": AlertSeverity.WARNING,
    "info": AlertSeverity.INFO,
    "none": AlertSeverity.INFO,
}


def _time(text: str | None) -> datetime | None:
    """An Alertmanager time; one without a zone (a crafted or odd server's) is taken as UTC,
    so it compares with every other time the app holds."""
    if not text or text.startswith("0001-01-01"):
        return None
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_alert(item: dict[str, Any], cluster: str) -> Alert:
    try:
        # a server's words: a probe's failure may quote the token or password it sent, and
        # what is kept here reaches incidents, RCA, reports and captures (secrets live only
        # in the keyring)
        labels = {str(k): redact(str(v)) for k, v in (item.get("labels") or {}).items()}
        status = item.get("status") or {}
        # v2 states: active and suppressed (silenced/inhibited) alerts are firing; an
        # unprocessed one has not been through the pipeline yet
        state_text = str(status.get("state", "active"))
        state = AlertState.PENDING if state_text == "unprocessed" else AlertState.FIRING
        starts = _time(item.get("startsAt"))
        if starts is None:
            raise KeyError("startsAt")
        return Alert(
            fingerprint=str(item["fingerprint"]),
            cluster=member_name(labels.get("cluster")) or cluster,  # a label, checked
            name=labels.get("alertname", "unnamed"),
            severity=_SEVERITY.get(
                labels.get("severity", "warning").lower(), AlertSeverity.WARNING
            ),
            state=state,
            labels=labels,
            annotations={
                str(k): redact(str(v)) for k, v in (item.get("annotations") or {}).items()
            },
            starts_at=starts,
            ends_at=_time(item.get("endsAt")),
            generator_url=redact(str(item.get("generatorURL") or "")) or None,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a field of the wrong type
        raise CollectorBadResponse(f"alert not in Alertmanager v2 format ({exc})") from exc


class AlertmanagerClient:
    def __init__(self, http: BackendClient) -> None:
        self.http = http

    @property
    def name(self) -> str:
        return self.http.name

    async def alerts(
        self, cluster: str, *, active: bool = True, silenced: bool = False, inhibited: bool = False
    ) -> list[Alert]:
        params = {
            "active": str(active).lower(),
            "silenced": str(silenced).lower(),
            "inhibited": str(inhibited).lower(),
        }
        payload = await self.http.get_json("/api/v2/alerts", params)
        if not isinstance(payload, list):
            raise CollectorBadResponse(f"{self.name}: /api/v2/alerts did not return a list")
        # reading each alert (pydantic, and redaction of every label and annotation) is the
        # dearest part of an answer: in a worker thread, as the JSON's decoding is, not on the
        # event loop (the UI thread: 5,000 alerts held the window 4 s at every poll)
        return await asyncio.to_thread(
            self._kept, payload, cluster, suppressed=silenced or inhibited
        )

    def _kept(self, payload: list[Any], cluster: str, *, suppressed: bool) -> list[Alert]:
        """The alerts of an answer, each read on its own: one malformed alert is left out and
        logged (it rejected the cluster's whole list), and a suppressed one (silenced or
        inhibited) is left out when none was asked for, as Alertmanager itself does. An
        ``endsAt`` already past is not taken as resolved here: Alertmanager answers only
        active alerts, and the desktop's clock may run ahead of the server's."""
        kept, bad = [], []
        for item in payload:
            try:
                alert = parse_alert(item, cluster)
            except CollectorBadResponse as exc:
                bad.append(str(exc))
                continue
            state = (item.get("status") or {}).get("state") if isinstance(item, dict) else None
            if state == "suppressed" and not suppressed:
                continue
            kept.append(alert)
        if bad and not kept and len(bad) == len(payload):
            raise CollectorBadResponse(f"{self.name}: {bad[0]}")
        if bad:
            log.warning("alerts left out", extra={"alertmanager": self.name, "count": len(bad),
                                                  "first": bad[0][:200]})  # fmt: skip
        return kept

    async def alert_groups(self) -> list[dict[str, Any]]:
        payload = await self.http.get_json("/api/v2/alerts/groups")
        if not isinstance(payload, list):
            raise CollectorBadResponse(f"{self.name}: /api/v2/alerts/groups did not return a list")
        return payload

    async def silences(self) -> list[dict[str, Any]]:
        payload = await self.http.get_json("/api/v2/silences")
        if not isinstance(payload, list):
            raise CollectorBadResponse(f"{self.name}: /api/v2/silences did not return a list")
        return payload

    async def ready(self) -> bool:
        """Not ready is False; an endpoint that cannot be reached, refuses the credential or
        redirects raises, with the reason (``ready_answer``)."""
        return ready_answer(self.http, await self.http.status("/-/ready"))

    async def aclose(self) -> None:
        await self.http.aclose()
