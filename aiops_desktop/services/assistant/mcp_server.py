"""``aiops-desktop mcp``: the app's read-only tools served over stdio with the official MCP SDK
(the low-level ``Server``: each tool's input schema is its pydantic model's), so another
assistant (Claude Desktop, an IDE, a script) can read the fleet. The calls go through the same
``ToolBox`` as the chat: validated, bounded (30 s, 100 rows, 16 KiB), redacted (IP addresses
too when ``llm.redact_ips`` says so: ``aiops-desktop mcp`` gives its ToolBox the setting), and
announced with ``readOnlyHint`` (all but ``generate_report``, which writes a report file of its
own).
stdout is the protocol: nothing else is written to it (mcp_stdio: each line read from stdin
bounded, and one that is no message answered with JSON-RPC's error).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext

from aiops_desktop import __version__
from aiops_desktop.services.assistant.mcp_stdio import stdio_streams

if TYPE_CHECKING:
    from aiops_desktop.services.assistant.toolbox import Tool, ToolBox

SERVER_NAME = "aiops-desktop"


def hints(tool: Tool) -> types.ToolAnnotations:
    """Read-only, except a tool that writes a file of its own (a new report each call)."""
    return types.ToolAnnotations(
        read_only_hint=not tool.writes_file, destructive_hint=False,
        idempotent_hint=not tool.writes_file, open_world_hint=False,
    )  # fmt: skip


def build_server(toolbox: ToolBox) -> Server[Any]:
    listed = [
        types.Tool(name=t.name, description=t.description, input_schema=t.schema(),
                   annotations=hints(t))
        for t in toolbox.tools.values()
    ]  # fmt: skip

    async def on_list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def on_call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        outcome = await toolbox.call(params.name, params.arguments or {})
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=outcome.content)],
            is_error=outcome.is_error,
        )

    def schema_of(name: str) -> dict[str, Any] | None:
        tool = toolbox.tools.get(name)
        return tool.schema() if tool is not None else None

    return Server(
        SERVER_NAME, version=__version__, get_tool_input_schema=schema_of,
        on_list_tools=on_list_tools, on_call_tool=on_call_tool,
        instructions="Read-only tools over an AIOps Desktop fleet: clusters, alerts, incidents, "
        "GPU, PTP, SR-IOV, metrics, anomaly detection and root-cause analysis.",
    )  # fmt: skip


async def serve_stdio(toolbox: ToolBox) -> None:
    """Until the client closes stdin: over the project's own transport (mcp_stdio), which
    bounds each line and answers one that is no message, where the SDK's waited forever."""
    server = build_server(toolbox)
    async with stdio_streams() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
