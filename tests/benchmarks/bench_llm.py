"""`make bench-llm`: the local model path's figures on this machine, with the test model
(SmolLM2-135M-Instruct Q4_1 on llama-cpp-python's server, one thread, temperature 0):

- a plain reply: first-token latency and generation rate (tokens after the first over the
  time after it; llama.cpp streams one token per chunk),
- the chat's tool-loop round trip over the bundled sample capture: a forced `list_clusters`
  call, the tool run by the app, and the model's answer (the whole turn, the model's share and
  the tool's share),
- an explanation of the sample's FREERUN incident (evidence prompt, grounded check).

Medians of --runs runs after one warm-up; figures to --out (JSON). The model and its server are
the tests' (tests/servers/llama.py); nothing here is tuned: there is nothing to choose.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from aiops_desktop.models.enums import ChatRole
from aiops_desktop.services.assistant.chat import ChatService
from aiops_desktop.services.assistant.explain import explain
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.settings import resources_dir
from aiops_desktop.store.chats import ChatRepository
from collectors.llm import LlmClient, LlmEndpoint, Reply
from tests.servers.llama import MODEL_NAME, start_llama

SAMPLE = resources_dir() / "samples" / "sample.aiops"
PROMPT = "In two sentences: what does a PTP clock in FREERUN mean for a 5G DU?"


async def plain(url: str, runs: int) -> dict[str, float]:
    first, rate, tokens = [], [], []
    endpoint = LlmEndpoint(url, MODEL_NAME, temperature=0.0)
    for n in range(runs + 1):
        client = LlmClient(endpoint)
        # the run's number first: llama.cpp reuses a cached prompt prefix, which would hide
        # the prompt's reading from the first-token latency
        asked = f"Question {n}. {PROMPT}"
        reply = await client.complete([{"role": "user", "content": asked}], max_tokens=64)
        await client.aclose()
        if n == 0 or reply.first_token_ms is None or reply.tokens_per_s is None:
            continue  # the warm-up
        first.append(reply.first_token_ms)
        rate.append(reply.tokens_per_s)
        tokens.append(reply.completion_tokens or 0)
    return {"first_token_ms": statistics.median(first), "tokens_per_s": statistics.median(rate),
            "completion_tokens": statistics.median(tokens)}  # fmt: skip


async def tool_loop(url: str, runs: int) -> dict[str, float]:
    core = await asyncio.to_thread(open_capture, SAMPLE)
    await core.registry.load()
    turns, tool_ms, replies = [], [], []
    try:

        async def client() -> LlmClient:
            return LlmClient(LlmEndpoint(url, MODEL_NAME, temperature=0.0))

        chat = ChatService(core.tools, ChatRepository(core.db), client, clock=core.now)
        forced = {"type": "function", "function": {"name": "list_clusters"}}
        for n in range(runs + 1):
            session = chat.new_session()
            started = time.perf_counter()
            await chat.ask(session, "Which clusters are in the fleet?", tool_choice=forced,
                           max_tokens=48)  # fmt: skip
            took = (time.perf_counter() - started) * 1000
            if n == 0:
                continue
            turns.append(took)
            tool_ms.append(sum(m.latency_ms or 0 for m in session.messages
                               if m.role is ChatRole.TOOL))  # fmt: skip
            replies.append(sum(m.role is ChatRole.ASSISTANT for m in session.messages))
    finally:
        await core.shutdown()
    return {"turn_ms": statistics.median(turns), "tool_ms": statistics.median(tool_ms),
            "model_replies": statistics.median(replies)}  # fmt: skip


async def explanation(url: str) -> dict[str, float]:
    core = await asyncio.to_thread(open_capture, SAMPLE)
    await core.registry.load()
    try:
        await core.fleet.refresh()
        await core.incidents.refresh()
        incident = next(i for i in await core.incidents.listed() if "FREERUN" in i.title)
        result = await core.rca.for_incident(incident)

        async def client() -> LlmClient:
            return LlmClient(LlmEndpoint(url, MODEL_NAME, temperature=0.0))

        started = time.perf_counter()
        done = await explain(result, client, incident)
        reply: Reply = done.reply
        return {"explain_ms": (time.perf_counter() - started) * 1000,
                "evidence_items": len(done.evidence),
                "first_token_ms": reply.first_token_ms or 0.0,
                "sentences": len(done.explanation.sentences),
                "verified": done.explanation.verified}  # fmt: skip
    finally:
        await core.shutdown()


async def main_async(runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as work:
        server = await asyncio.to_thread(start_llama, Path(work))
        try:
            return {
                "model": "SmolLM2-135M-Instruct Q4_1, llama-cpp-python 0.3.36, 1 thread",
                "runs": runs,
                "plain_reply": await plain(server.url, runs),
                "tool_loop": await tool_loop(server.url, runs),
                "explanation": await explanation(server.url),
            }
        finally:
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "llm.json")
    args = parser.parse_args()
    figures = asyncio.run(main_async(args.runs))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
