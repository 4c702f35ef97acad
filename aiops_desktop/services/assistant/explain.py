""" "Explain" on an incident or an RCA result: the model gets the evidence the app stands behind
(numbered items, not raw data) and writes a short explanation that cites them; every sentence
is then checked against the items (analysis/grounding.py) and shown verified, cited but not
checked (nothing in it to match), or unverified. Without a model configured, nothing is sent
and the analysis stands on its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiops_desktop.models.incidents import Incident
from aiops_desktop.models.text import time_text
from aiops_desktop.services.intelligence.rca import RcaResult, incident_as_known
from analysis.grounding import EvidenceItem, Explanation, evidence_text, verify
from collectors.llm import LlmClient, Reply, TextDelta

MAX_EVIDENCE_ITEMS = 40
MAX_REPLY_TOKENS = 400
INSTRUCTIONS = (
    "You explain a root-cause analysis to a NOC engineer at night. Use only the evidence "
    "items below; do not add facts. Write 3 to 6 short sentences: what happened, the most "
    "likely cause, what to check next. End every sentence with the ids of the items it rests "
    "on in square brackets, for example [E2] or [C1, E3]. Copy numbers and times exactly as "
    "the items write them. Never suggest a command that changes the cluster."
)


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "never beyond its baseline"
    return time_text(datetime.fromtimestamp(seconds, UTC), seconds=True)


#: the incident's signals an explanation is given (its worst; the rest are counted)
SIGNALS_TOLD = 8


def evidence_of(result: RcaResult, incident: Incident | None = None) -> list[EvidenceItem]:
    """The facts, numbered: I (the incident), C (ranked causes), E (their evidence signals),
    K (next checks from the runbook). The app's own words and figures, nothing else. The
    incident as the analysis knew it (``incident_as_known`` at its analysis time): an
    analysis of a past moment is not told the signals, words and severity that came later."""
    items: list[EvidenceItem] = []
    if incident is not None and result.window.analysis_s is not None:
        incident = incident_as_known(
            incident, datetime.fromtimestamp(result.window.analysis_s, UTC)
        )
    if incident is not None:
        items.append(EvidenceItem("I1", (
            f"Incident {incident.id}: {incident.title}; severity {incident.severity.value}; "
            f"opened {time_text(incident.opened_at, seconds=True)}; clusters "
            f"{', '.join(incident.clusters)}; {len(incident.signals)} signals."
        )))  # fmt: skip
        shown, more = incident.most_telling(SIGNALS_TOLD)  # its worst, not its first 8
        for n, s in enumerate(shown, start=2):
            items.append(EvidenceItem(f"I{n}", (
                f"{s.source} signal on {s.cluster} {s.place}: {s.reason} "
                f"(first seen {time_text(s.first_seen, seconds=True)}, "
                f"severity {s.severity.value})."
            )))  # fmt: skip
        if more > 0:
            items.append(EvidenceItem(f"I{len(shown) + 2}", (
                f"{more} more signal{'s' if more > 1 else ''} of the incident, none worse "
                "than those above."
            )))  # fmt: skip
    e = k = 0
    for rank, cause in enumerate(result.causes[:5], start=1):
        items.append(EvidenceItem(f"C{rank}", (
            f"Likely cause number {rank}: {cause.entity}, confidence {cause.confidence:.2f}, "
            f"first change {_when(cause.onset_s)}."
        )))  # fmt: skip
        for ev in cause.evidence[:3]:
            e += 1
            items.append(EvidenceItem(f"E{e}", (
                f"{ev.signal} on {cause.entity}: robust z {ev.z:.1f}, baseline "
                f"{ev.baseline:.4g}, peak {ev.peak:.4g}, first deviation "
                f"{_when(ev.first_deviation_s)}."
            )))  # fmt: skip
        for check in result.checks.get(cause.entity, [])[:2]:
            k += 1
            items.append(EvidenceItem(f"K{k}", (
                f"Runbook {check.key} for {cause.entity}: {check.meaning} Check: {check.check} "
                f"Safe action: {check.safe_action}"
            )))  # fmt: skip
    if not result.causes:
        items.append(EvidenceItem("C1", "No signal deviated from its baseline in the window."))
    return items[:MAX_EVIDENCE_ITEMS]


@dataclass(frozen=True)
class Explained:
    evidence: list[EvidenceItem]
    text: str
    explanation: Explanation
    reply: Reply


async def explain(
    result: RcaResult,
    client: Callable[[], Awaitable[LlmClient]],
    incident: Incident | None = None,
    *,
    on_text: Callable[[str], None] = lambda _t: None,
) -> Explained:
    """Ask the model, stream its words to ``on_text``, check every sentence."""
    items = evidence_of(result, incident)
    messages = [
        {"role": "system", "content": INSTRUCTIONS},
        {"role": "user", "content": f"Evidence:\n{evidence_text(items)}\n\nExplain it."},
    ]
    llm = await client()
    try:
        reply: Reply | None = None
        async for event in llm.stream(messages, max_tokens=MAX_REPLY_TOKENS, temperature=0.0):
            if isinstance(event, TextDelta):
                on_text(event.text)
            else:
                reply = event
    finally:
        await llm.aclose()
    assert reply is not None  # the stream always ends with its Reply
    return Explained(items, reply.text, verify(reply.text, items), reply)
