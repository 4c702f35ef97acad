"""Next checks for what RCA and the findings name: a runbook table (``resources/rca/
runbook.json``) keyed on PTP clock classes, pod failure reasons, alert names and findings'
reasons, and the XID table (``resources/gpu/xid.json``) for XID codes. Each entry says what it
means, what to check and the safe action."""

from __future__ import annotations

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


class Runbook:
    def __init__(self, document: Mapping[str, Any], xids: Mapping[str, Any]) -> None:
        """``document``: runbook.json as parsed; ``xids``: xid.json's ``xids`` table."""
        self._tables: dict[str, dict[str, RunbookEntry]] = {}
        for section in SECTIONS:
            self._tables[section] = {
                str(key): RunbookEntry(_label(section, str(key)), str(e["meaning"]),
                                       str(e["check"]), str(e["safe_action"]))
                for key, e in (document.get(section) or {}).items()
            }  # fmt: skip
        self._tables["xid"] = {
            str(code): RunbookEntry(f"XID {code}", f"{e['name']}: {e['meaning']}",
                                    str(e["action"]), str(e["action"]))
            for code, e in xids.items()
        }  # fmt: skip

    def lookup(self, section: str, key: str | int) -> RunbookEntry | None:
        return self._tables.get(section, {}).get(str(key))

    def for_text(self, text: str) -> list[RunbookEntry]:
        """Every entry a finding's or alert's words name: XID codes, clock classes, pod
        reasons, alert names and findings' reasons (each once, in that order)."""
        found: list[RunbookEntry] = []
        for code in _XID.findall(text):
            found += [e for e in [self.lookup("xid", code)] if e]
        for cls in _CLASS.findall(text):
            found += [e for e in [self.lookup("ptp_clock_class", cls)] if e]
        for section in ("pod_reason", "alert", "finding"):
            for key, entry in self._tables[section].items():
                if re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", text):
                    found.append(entry)
        unique: list[RunbookEntry] = []
        for entry in found:
            if entry not in unique:
                unique.append(entry)
        return unique

    def for_texts(self, texts: Iterable[str]) -> list[RunbookEntry]:
        out: list[RunbookEntry] = []
        for text in texts:
            out += [e for e in self.for_text(text) if e not in out]
        return out


def _label(section: str, key: str) -> str:
    return f"clock class {key}" if section == "ptp_clock_class" else key
