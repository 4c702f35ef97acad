"""Next checks for what RCA and the findings name: a runbook table (``resources/rca/
runbook.json``) keyed on PTP clock classes, pod failure reasons, alert names and findings'
reasons, and the XID table (``resources/gpu/xid.json``) for XID codes. Each entry says what it
means, what to check and the safe action. A finding's entry names its domain (GPU, PTP,
SR-IOV, Kubernetes) and explains only that domain's findings: its key's words ("temperature",
"throttled") are also a server's inlet or a container's CPU, which no GPU advice fits."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SECTIONS = ("ptp_clock_class", "pod_reason", "alert", "finding")
_XID = re.compile(r"\bXID (\d+)\b")
_CLASS = re.compile(r"\bclock class (\d+)\b", re.IGNORECASE)


@dataclass(frozen=True)
class RunbookEntry:
    key: str  # "XID 79", "clock class 7", "CrashLoopBackOff", "NodeOutOfPtpSync"
    meaning: str
    check: str
    safe_action: str


#: what to check for any XID (the table's action is what to do about its code)
XID_CHECK = ("The GPU's XID history on the GPU page and the node's kernel log (dmesg | grep -i "
             "xid): the code, when, and the process it hit.")  # fmt: skip


class Runbook:
    def __init__(self, document: Mapping[str, Any], xids: Mapping[str, Any]) -> None:
        """``document``: runbook.json as parsed; ``xids``: xid.json's ``xids`` table. An
        entry with ``as`` ("pod_reason/CrashLoopBackOff") takes that entry's check and safe
        action (its own meaning stays)."""
        self._tables: dict[str, dict[str, RunbookEntry]] = {}
        #: entries matched by a pattern of their own ("match"), where their key's words are
        #: too common ("offset" is also a Kafka consumer's, "is down" anyone's)
        self._patterns = {
            (section, str(key)): re.compile(str(e["match"]))
            for section in SECTIONS for key, e in (document.get(section) or {}).items()
            if "match" in e
        }  # fmt: skip
        for section in SECTIONS:
            self._tables[section] = {
                str(key): _entry(document, section, str(key), e)
                for key, e in (document.get(section) or {}).items()
            }  # fmt: skip
        self._tables["xid"] = {
            str(code): RunbookEntry(f"XID {code}", f"{e['name']}: {e['meaning']}", XID_CHECK,
                                    str(e["action"]))
            for code, e in xids.items()
        }  # fmt: skip
        #: the domain whose findings a finding's entry explains (one without: a bug)
        self._domains = {str(key): str(e["domain"])
                         for key, e in (document.get("finding") or {}).items()}  # fmt: skip

    def lookup(self, section: str, key: str | int) -> RunbookEntry | None:
        return self._tables.get(section, {}).get(str(key))

    def for_text(self, text: str, domain: str | None = None) -> list[RunbookEntry]:
        """Every entry a finding's or alert's words name: XID codes, clock classes, pod
        reasons, alert names and, where ``domain`` is a finding's ("GPU", "PTP", "SR-IOV",
        "Kubernetes": an incident signal's source), that domain's findings' reasons; each
        once, in the order the text names them ("clock in FREERUN (clock class 248)": the
        state, then its class). An alert's or an anomaly's words name no finding's entry."""
        found: list[tuple[int, RunbookEntry]] = []
        for match in _XID.finditer(text):
            found += [(match.start(), e) for e in [self.lookup("xid", match[1])] if e]
        for match in _CLASS.finditer(text):
            found += [(match.start(), e) for e in [self.lookup("ptp_clock_class", match[1])] if e]
        for section in ("pod_reason", "alert", "finding"):
            for key, entry in self._tables[section].items():
                if section == "finding" and self._domains[key] != domain:
                    continue
                named = self._patterns.get((section, key), _words(key)).search(text)
                if named:
                    found.append((named.start(), entry))
        unique: dict[str, RunbookEntry] = {}  # one entry a key: a pod reason before a finding
        for _, entry in sorted(found, key=lambda f: f[0]):  # stable: sections' order on ties
            unique.setdefault(entry.key, entry)
        return list(unique.values())

    def for_texts(self, texts: Iterable[tuple[str, str | None]]) -> list[RunbookEntry]:
        """Each (text, domain)'s entries (``for_text``), each once, in their order."""
        out: list[RunbookEntry] = []
        for text, domain in texts:
            out += [e for e in self.for_text(text, domain) if e not in out]
        return out


def _entry(
    document: Mapping[str, Any], section: str, key: str, e: Mapping[str, Any]
) -> RunbookEntry:
    """One entry, its check and safe action taken from the entry its ``as`` names."""
    source = e
    if "as" in e:
        where, _, other = str(e["as"]).partition("/")
        source = (document.get(where) or {})[other]  # a reference that names nothing: a bug
    return RunbookEntry(_label(section, key), str(e["meaning"]), str(source["check"]),
                        str(source["safe_action"]))  # fmt: skip


@functools.lru_cache(maxsize=512)
def _words(key: str) -> re.Pattern[str]:
    """``key`` as whole words (a word inside another is not a match: "NotReadyish")."""
    return re.compile(rf"(?<![\w-]){re.escape(key)}(?![\w-])")


def _label(section: str, key: str) -> str:
    return f"clock class {key}" if section == "ptp_clock_class" else key
