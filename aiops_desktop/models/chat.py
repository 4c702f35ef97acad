"""Chat sessions with the optional local LLM, and personas (docs/architecture.md#rules)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from pydantic import Field

from aiops_desktop.models.base import DomainModel, utcnow
from aiops_desktop.models.enums import ChatRole, PersonaName

MAX_CONTEXT_MESSAGES = 50
#: what one request may carry besides its newest turn (~6k tokens at ~4 bytes a token): a
#: small local model refuses or silently cuts a longer context (services/assistant/chat.py)
MAX_CONTEXT_BYTES = 24 * 1024
LLM_TIMEOUT_S = 120.0
#: the longest question a chat takes (the service refuses a longer one; the Chat page says so
#: before it sends, keeping the text in the box)
MAX_QUESTION_CHARS = 8000

#: The read-only tools of the chat and the MCP server (docs/architecture.md#rules).
TOOL_NAMES: tuple[str, ...] = (
    "list_clusters",
    "get_cluster_status",
    "query_metrics",
    "get_metric_labels",
    "search_traces",
    "get_trace",
    "query_logs",
    "list_alerts",
    "list_incidents",
    "get_incident",
    "get_gpu_nodes",
    "get_gpu_processes",
    "get_gpu_summary",
    "get_cnf_workloads",
    "get_ptp_status",
    "get_dpdk_stats",
    "get_sriov_status",
    "detect_anomalies",
    "analyze_root_cause",
    "generate_report",
)


class ToolCall(DomainModel):
    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    #: what the model wrote when it was not a JSON object (kept to show it, and sent back)
    raw_arguments: str | None = None


class ToolResult(DomainModel):
    call_id: str
    name: str
    content: str
    is_error: bool = False


class ChatMessage(DomainModel):
    role: ChatRole
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_result: ToolResult | None = None
    tokens_prompt: int | None = Field(default=None, ge=0)
    tokens_completion: int | None = Field(default=None, ge=0)
    latency_ms: float | None = Field(default=None, ge=0)
    created_at: datetime = Field(default_factory=utcnow)


class Persona(DomainModel):
    name: PersonaName
    title: str
    system_prompt: str
    allowed_tools: list[str] = Field(default_factory=list)

    def model_post_init(self, __context: Any) -> None:
        unknown = set(self.allowed_tools) - set(TOOL_NAMES)
        if unknown:
            raise ValueError(f"persona {self.name} allows unknown tools: {sorted(unknown)}")


class ChatSession(DomainModel):
    id: UUID = Field(default_factory=uuid4)
    title: str = "New chat"
    persona: PersonaName = PersonaName.DEFAULT
    cluster_context: list[str] = Field(default_factory=list)
    messages: list[ChatMessage] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    def context_window(self) -> list[ChatMessage]:
        """The messages sent to the model: at most the last 50, then cut to
        ``MAX_CONTEXT_BYTES`` (the newest turn last, its current round's results cut with a
        note: services/assistant/chat.py ``within_budget``)."""
        return self.messages[-MAX_CONTEXT_MESSAGES:]


def reply_stats(tokens: int | None, latency_ms: float | None) -> str:
    """ "38 tokens · 2.1 s" for a reply's footer (the whole reply: prompt reading included, so
    no rate is made of it)."""
    parts = []
    if tokens is not None:
        parts.append(f"{tokens} tokens")
    if latency_ms is not None:
        parts.append(f"{latency_ms / 1000:.1f} s")
    return " · ".join(parts)
