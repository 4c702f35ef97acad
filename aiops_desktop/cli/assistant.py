"""``aiops-desktop llm set|show|test``, ``aiops-desktop chat`` and ``aiops-desktop mcp``: the
optional local model (endpoint and model in settings, its key in the keyring, read from stdin
only), a chat turn for scripts (the reply streamed to stdout, tool steps to stderr), and the
app's read-only tools served to other assistants over MCP (stdio)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any
from uuid import UUID

from aiops_desktop.cli.args import JSON_HELP, Io, examples, json_text, names, read_stdin
from aiops_desktop.models.cluster import shown_url
from aiops_desktop.models.enums import PersonaName
from aiops_desktop.models.errors import EXIT_ERROR, EXIT_OK, NotFoundError, UsageError
from aiops_desktop.models.text import one_line

if TYPE_CHECKING:
    from aiops_desktop.models.chat import ChatSession
    from aiops_desktop.services.assistant.chat import ChatEvent
    from aiops_desktop.services.core import Core

#: a capture's chats live in its temporary working copy, removed when it closes
NOT_KEPT = "this chat is not kept after the capture is closed"

MCP_EXAMPLE = """\
Client configuration (Claude Desktop's claude_desktop_config.json, or any MCP client):
  {"mcpServers": {"aiops-desktop": {"command": "aiops-desktop", "args": ["mcp"]}}}
Add "--capture", "FILE" before "mcp" to serve a capture (offline, read-only)."""


def _persona(text: str) -> PersonaName:
    try:
        return PersonaName(text.lower())
    except ValueError:
        choices = ", ".join(p.value for p in PersonaName)
        raise argparse.ArgumentTypeError(f"{text!r}: choose one of {choices}") from None


def add_commands(sub: Any) -> None:
    llm = sub.add_parser(
        "llm", help="the optional local model server (OpenAI-compatible)",
        epilog=examples(
            "aiops-desktop llm set --endpoint http://127.0.0.1:8080/v1 --model smollm2",
            "aiops-desktop llm show",
            "aiops-desktop llm test",
        ),
    )  # fmt: skip
    actions = llm.add_subparsers(dest="llm_action", metavar="ACTION", required=True,
                                 help="what to do")  # fmt: skip
    set_ = actions.add_parser(
        "set", help="choose the endpoint and model; the API key goes to the OS keyring",
        epilog=examples(
            "aiops-desktop llm set --endpoint http://127.0.0.1:8080/v1 --model smollm2",
            "aiops-desktop llm set --endpoint https://llm.noc.example/v1 --model qwen2.5-7b"
            " --key-stdin --redact-ips < llm.key",
        ),
    )  # fmt: skip
    set_.add_argument(
        "--endpoint", required=True, metavar="URL",
        help="base URL before /chat/completions, e.g. http://127.0.0.1:8080/v1",
    )  # fmt: skip
    set_.add_argument("--model", required=True, metavar="NAME", help="as `llm test` lists it")
    key = set_.add_mutually_exclusive_group()
    key.add_argument("--key-stdin", action="store_true", help="read the API key from stdin")
    key.add_argument("--forget-key", action="store_true", help="remove the stored API key")
    set_.add_argument(
        "--insecure", action="store_true",
        help="do not verify the server's TLS certificate (not recommended)",
    )  # fmt: skip
    set_.add_argument("--redact-ips", action="store_true",
                      help="also replace IP addresses before anything is sent")  # fmt: skip
    set_.add_argument(
        "--allow-remote", action="store_true",
        help="a model off this machine (https only): it receives the fleet's data; without "
        "it the endpoint must be 127.0.0.1, ::1 or localhost",
    )  # fmt: skip
    set_.set_defaults(handler=_llm_set)
    off = actions.add_parser(
        "off", help="use no model server from now on (the chat and explanations say so)",
        epilog=examples("aiops-desktop llm off", "aiops-desktop llm off --forget-key"),
    )  # fmt: skip
    off.add_argument("--forget-key", action="store_true",
                     help="also remove the stored API key from the OS keyring")  # fmt: skip
    off.set_defaults(handler=_llm_off)
    show = actions.add_parser(
        "show", help="the endpoint and model in use (never the key)",
        epilog=examples("aiops-desktop llm show", "aiops-desktop llm show --json"),
    )  # fmt: skip
    show.add_argument("--json", action="store_true", help=JSON_HELP)
    show.set_defaults(handler=_llm_show)
    test = actions.add_parser(
        "test", help="ask the server for its models and one short reply; print the latencies",
        epilog=examples("aiops-desktop llm test", "aiops-desktop llm test --json"),
    )  # fmt: skip
    test.add_argument("--json", action="store_true", help=JSON_HELP)
    test.set_defaults(handler=_llm_test)

    chat = sub.add_parser(
        "chat", help="ask the local model; it answers with the app's read-only tools",
        epilog=examples(
            'aiops-desktop chat --persona gpu-expert "which GPUs are unhealthy?"',
            'aiops-desktop chat --clusters ran-east "why is PTP in holdover?" --json',
            'aiops-desktop chat --session 3f2c8a4e-9b1d-4c7a-8e5f-2a6b9c0d1e7f "and since when?"',
        ),
    )  # fmt: skip
    chat.add_argument("question", help="what to ask, quoted")
    chat.add_argument(
        "--persona", type=_persona,  # none given: default (told apart for --session)
        help=f"one of {', '.join(p.value for p in PersonaName)} (default: default)",
    )  # fmt: skip
    chat.add_argument("--clusters", metavar="NAMES",
                      help="comma-separated clusters in focus (default: all)")  # fmt: skip
    chat.add_argument(
        "--session", type=UUID, metavar="ID",
        help="continue this chat session (its id, as the last turn printed), with its own "
        "persona and clusters",
    )  # fmt: skip
    chat.add_argument("--tool", metavar="NAME",
                      help="make the model call this tool first (scripts, tests)")  # fmt: skip
    chat.add_argument("--json", action="store_true", help="print the turn's messages as JSON")
    chat.set_defaults(handler=_chat)

    said = "serve the app's read-only tools over MCP (stdio) to other assistants"
    mcp = sub.add_parser(
        "mcp", help=said, description=f"{said}.\n\n{MCP_EXAMPLE}",
        epilog=examples(
            "aiops-desktop mcp",
            "aiops-desktop --capture site-east.aiops mcp  # serve a capture",
        ),
    )  # fmt: skip
    mcp.set_defaults(handler=_mcp)


async def _llm_set(core: Core, args: argparse.Namespace, io: Io) -> int:
    key = read_stdin(io.stdin, "API key") if args.key_stdin else None
    made = await core.llm.change(
        endpoint=args.endpoint, model=args.model, key=key, forget_key=args.forget_key,
        verify_tls=not args.insecure, redact_ips=args.redact_ips, allow_remote=args.allow_remote,
    )  # fmt: skip
    chosen = made.settings
    io.out.write(f"LLM set: {chosen.endpoint} model {chosen.model}"
                 f"{'; API key stored in the OS keyring' if key else ''}"
                 f"{f'; {made.said}' if made.said else ''}\n")  # fmt: skip
    return EXIT_OK


async def _llm_off(core: Core, args: argparse.Namespace, io: Io) -> int:
    was = core.llm.settings.endpoint
    await core.llm.turn_off(forget_key=args.forget_key)
    said = f"LLM off (was {shown_url(was)})" if was else "LLM off (none was set)"
    io.out.write(f"{said}{'; API key removed from the OS keyring' if args.forget_key else ''}\n")
    return EXIT_OK


async def _llm_show(core: Core, args: argparse.Namespace, io: Io) -> int:
    s = core.llm.settings
    # an endpoint an older version saved with a key in it (?api_key=…, user:pass@) shows none
    endpoint = shown_url(s.endpoint) if s.endpoint else s.endpoint
    doc = {"configured": s.configured, "endpoint": endpoint, "model": s.model,
           "verify_tls": s.verify_tls, "redact_ips": s.redact_ips,
           "allow_remote": s.allow_remote,
           "api_key": "in the OS keyring" if await core.llm.has_key() else "none"}  # fmt: skip
    if args.json:
        io.out.write(json_text(doc) + "\n")
    elif not s.configured:
        from aiops_desktop.services.assistant.llm import NOT_CONFIGURED

        io.out.write(NOT_CONFIGURED + "\n")
    else:
        io.out.write("\n".join(f"{k}: {v}" for k, v in doc.items()) + "\n")
    return EXIT_OK


async def _llm_test(core: Core, args: argparse.Namespace, io: Io) -> int:
    check = await core.llm.test()
    r = check.reply
    doc = {
        "models": check.models,
        "reply": r.text,
        "first_token_ms": None if r.first_token_ms is None else round(r.first_token_ms, 1),
        "total_ms": round(r.total_ms, 1),
        "completion_tokens": r.completion_tokens,
        "tokens_per_s": None if r.tokens_per_s is None else round(r.tokens_per_s, 1),
    }
    if args.json:
        io.out.write(json_text(doc) + "\n")
        return EXIT_OK
    io.out.write(f"models: {', '.join(one_line(m) for m in check.models) or 'none listed'}\n")
    io.out.write(f"reply: {one_line(r.text)!r}\n")
    first = "-" if r.first_token_ms is None else f"{r.first_token_ms:.0f} ms"
    rate = "-" if r.tokens_per_s is None else f"{r.tokens_per_s:.1f} tokens/s"
    io.out.write(f"first token {first}, whole reply {r.total_ms:.0f} ms, {rate}\n")
    return EXIT_OK


async def _session(core: Core, args: argparse.Namespace) -> ChatSession:
    """The session ``--session`` names, or a new one of ``--persona`` and ``--clusters``: a
    session answers with its own persona's tools and clusters (another asked with it was
    dropped without a word, and a cluster name not there taken)."""
    if not args.session:
        if args.clusters:  # a name mistyped is refused as everywhere else (the model was told
            core.registry.targets(names(args.clusters))  # of a cluster that is not there)
        return core.chat.new_session(args.persona or PersonaName.DEFAULT, names(args.clusters))
    given = [o for o, v in (("--persona", args.persona), ("--clusters", args.clusters))
             if v is not None]  # fmt: skip
    if given:
        raise UsageError(f"{' and '.join(given)} with --session: a session keeps its own "
                         "persona and clusters (leave --session out for a new chat)")  # fmt: skip
    try:
        return await core.chat.load(args.session)
    except NotFoundError as exc:
        if core.capture is None:
            raise
        said = "chats over a capture are not kept after the capture is closed"
        raise NotFoundError(f"{exc}: {said}") from None


async def _chat(core: Core, args: argparse.Namespace, io: Io) -> int:
    from aiops_desktop.services.assistant.chat import TextChunk, ToolFinished, ToolStarted

    session = await _session(core, args)
    if args.tool:  # a tool the turn offers (the persona's): the model cannot call another
        persona, allowed = session.persona.value, core.chat.personas[session.persona].allowed_tools
        offered = [n for n in core.tools.names() if n in allowed]
        if args.tool not in offered:
            said = (f"the persona {persona} does not offer {args.tool!r}"
                    if args.tool in core.tools.tools else f"no tool {args.tool!r}")  # fmt: skip
            raise UsageError(f"{said}; the tools are: {', '.join(offered)} (the persona "
                             f"{persona}'s)")  # fmt: skip
    before = len(session.messages)

    def show(event: ChatEvent) -> None:
        if args.json:
            return
        if isinstance(event, TextChunk):
            io.out.write(event.text)
        elif isinstance(event, ToolStarted):
            given = event.call.raw_arguments or json.dumps(event.call.arguments)
            io.err.write(f"-> {event.call.name}({one_line(given)[:200]})\n")
        elif isinstance(event, ToolFinished):
            word = "error" if event.result.is_error else f"{len(event.result.content):,} bytes"
            io.err.write(f"<- {event.call.name}: {word} in {event.elapsed_ms:.0f} ms\n")

    forced = {"type": "function", "function": {"name": args.tool}} if args.tool else None
    await core.chat.ask(session, args.question, show, tool_choice=forced)
    if args.json:
        turn = [m.model_dump(mode="json") for m in session.messages[before:]]
        io.out.write(json_text({"session": str(session.id), "persona": session.persona.value,
                                "messages": turn}) + "\n")  # fmt: skip
    else:
        io.out.write("\n")
        if core.capture is None:
            io.err.write(f"session {session.id} (continue with --session)\n")
    if core.capture is not None:  # its --session would find nothing: never offered
        io.err.write(f"aiops-desktop: {NOT_KEPT}\n")
    answered = any(m.content for m in session.messages[before + 1 :] if not m.tool_result)
    if not answered:
        io.err.write("aiops-desktop: the model gave no answer in words (its steps are kept)\n")
    return EXIT_OK if answered else EXIT_ERROR


async def _mcp(core: Core, args: argparse.Namespace, io: Io) -> int:
    from aiops_desktop.services.assistant import mcp_server
    from aiops_desktop.services.assistant.toolbox import ToolBox

    # the person's "replace IP addresses before anything is sent" holds for another assistant
    # too (often a cloud model): only the app's own model client applied it
    tools = core.tools
    served = ToolBox(core, tools.tools.values(), timeout_s=tools.timeout_s,
                     redact_ips=core.llm.settings.redact_ips)  # fmt: skip
    await mcp_server.serve_stdio(served)
    return EXIT_OK
