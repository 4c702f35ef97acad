"""The assistant's command line end to end, in subprocesses: ``aiops-desktop mcp`` served to the
official MCP SDK client over stdio (the bundled sample capture: offline, no keyring), and
``llm set|show|test`` and ``chat`` against a real llama.cpp server (SmolLM2-135M) with the
real Secret Service keyring holding the API key.

The model server here is this module's own, not the session's ``llama``: llama-cpp-python
draws each request's seed from the one before, so every request sent to a shared server
changes what it samples for the tests after (tests/qtfree/test_chat_llm.py's forced calls)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop.models.enums import PersonaName
from aiops_desktop.services.assistant.tools import all_tools
from aiops_desktop.settings import resources_dir
from tests.conftest import ROOT, SecretService
from tests.qtfree.cli_runner import run_cli
from tests.servers.llama import MODEL_NAME, RunningLlama, start_llama

SAMPLE = resources_dir() / "samples" / "sample.aiops"
pytestmark = pytest.mark.integration


# -- MCP ------------------------------------------------------------------------------------


def _text(result: Any) -> str:
    return "".join(c.text for c in result.content if c.type == "text")


def _result(result: Any) -> Any:
    assert result.is_error is False, _text(result)
    return json.loads(_text(result))["result"]


@pytest.mark.asyncio
async def test_mcp_serves_the_read_only_tools_over_the_sample_capture(tmp_path: Path) -> None:
    """The official SDK client: initialize, list the 20 tools (each read-only, with an object
    schema), call some on the sample capture, and a bad call is an error the server outlives."""
    from mcp.client import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AIOPS_DESKTOP_HOME": str(tmp_path / "env-home"),
    }
    params = StdioServerParameters(
        command=sys.executable,
        args=["-W", "error", "-m", "aiops_desktop", "--data-dir", str(tmp_path / "home"),
              "--capture", str(SAMPLE), "mcp"],
        env=env, cwd=ROOT,
    )  # fmt: skip
    errlog_path = tmp_path / "mcp-stderr.txt"
    with errlog_path.open("w") as errlog:
        try:
            async with (
                asyncio.timeout(60),
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await _mcp_session(session)
        except BaseException:
            errlog.flush()
            print("server stderr:\n" + errlog_path.read_text())
            raise
    said = errlog_path.read_text()
    assert "Opened a SAMPLE DATA: capture of ran-hub" in said  # the notice went to stderr
    assert "Traceback" not in said, said


async def _mcp_session(session: Any) -> None:
    init = await session.initialize()
    assert init.server_info.name == "aiops-desktop"
    assert init.instructions and "Read-only tools" in init.instructions

    listed = (await session.list_tools()).tools
    assert [t.name for t in listed] == [t.name for t in all_tools()]
    assert len(listed) == 20
    for tool in listed:
        writes = tool.name == "generate_report"  # a report file of its own, each call
        assert tool.annotations is not None, tool.name
        assert tool.annotations.read_only_hint is (not writes), tool.name
        assert tool.annotations.idempotent_hint is (not writes), tool.name
        assert tool.annotations.destructive_hint is False, tool.name
        assert tool.input_schema["type"] == "object", tool.name
        assert tool.input_schema.get("additionalProperties") is False, tool.name
        assert tool.description, tool.name

    clusters = _result(await session.call_tool("list_clusters", {}))
    (hub,) = clusters["clusters"]
    assert hub["name"] == "ran-hub" and hub["kind"] == "FLEET"
    assert hub["members"] == ["ai-lab", "ran-east", "ran-west"]

    ptp = _result(await session.call_tool("get_ptp_status", {}))
    assert ptp["by_state"]["FREERUN"] == 1
    worst = ptp["ports"][0]
    assert (worst["cluster"], worst["node"], worst["iface"], worst["state"]) == (
        "ran-east", "du-2", "ens1f0", "FREERUN",
    )  # fmt: skip

    incidents = _result(await session.call_tool("list_incidents", {"state": "OPEN"}))
    assert incidents["count"] >= 3 and len(incidents["incidents"]) == incidents["count"]
    assert any("clock in FREERUN" in i["title"] for i in incidents["incidents"])
    assert all(i["state"] == "OPEN" for i in incidents["incidents"])

    gpus = _result(await session.call_tool("get_gpu_summary", {"cluster": "ran-east"}))
    assert gpus["gpus"] > 0 and gpus["by_state"].get("CRITICAL", 0) >= 1
    assert any(u["gpu"] == "ran-east/gpu-1/gpu3" and u.get("xid") == 79 for u in gpus["unhealthy"])

    # bad calls: clear errors, and the server goes on serving
    extra = await session.call_tool("list_clusters", {"bogus": 1})
    assert extra.is_error is True
    assert "bogus: Extra inputs are not permitted" in _text(extra)
    nowhere = await session.call_tool("get_cluster_status", {"cluster": "nope"})
    assert nowhere.is_error is True
    assert "no cluster named 'nope'; the clusters are: ai-lab, ran-east" in _text(nowhere)
    unknown = await session.call_tool("no_such_tool", {})
    assert unknown.is_error is True and "no tool named 'no_such_tool'" in _text(unknown)
    logs = await session.call_tool("query_logs", {"logql": '{app="du"}'})
    assert logs.is_error is True and "not configured" in _text(logs)
    status = _result(await session.call_tool("get_cluster_status", {"cluster": "ran-east"}))
    assert "ran-east" in json.dumps(status)


# -- llm and chat ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def own_llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLlama]:
    """A llama.cpp server of this module's own (see the module's docstring)."""
    running = start_llama(tmp_path_factory.mktemp("llama-cli"))
    yield running
    running.stop()


def _files_holding(root: Path, secret: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret in p.read_bytes()]


def test_llm_set_show_test_and_the_key_stays_in_the_keyring(
    tmp_path: Path, secret_service: SecretService, own_llama: RunningLlama
) -> None:
    env, home, url = dict(secret_service.env), tmp_path / "home", own_llama.url
    nothing = run_cli(home, env, "llm", "show")
    assert nothing.returncode == 0, nothing.stderr
    assert "no LLM is configured" in nothing.stdout and "llm set" in nothing.stdout

    done = run_cli(home, env, "llm", "set", "--endpoint", url, "--model", MODEL_NAME)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"LLM set: {url} model {MODEL_NAME}\n"
    shown = run_cli(home, env, "llm", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == {
        "configured": True, "endpoint": url, "model": MODEL_NAME, "verify_tls": True,
        "redact_ips": False, "allow_remote": False, "api_key": "none",
    }  # fmt: skip

    key = "sk-canary-7f3a9c1e5b2d4a60"
    keyed = run_cli(home, env, "llm", "set", "--endpoint", url, "--model", MODEL_NAME,
                    "--key-stdin", stdin=key + "\n")  # fmt: skip
    try:
        assert keyed.returncode == 0, keyed.stderr
        assert "API key stored in the OS keyring" in keyed.stdout
        assert key not in keyed.stdout + keyed.stderr
        plain = run_cli(home, env, "llm", "show")
        assert plain.returncode == 0, plain.stderr
        assert "api_key: in the OS keyring" in plain.stdout and key not in plain.stdout
        assert home.is_dir() and _files_holding(home, key.encode()) == []
        # the server does not check keys: the stored one is sent and the test still passes
        tested = run_cli(home, env, "llm", "test", "--json", timeout=60)
        assert tested.returncode == 0, tested.stderr
        check = json.loads(tested.stdout)
        assert MODEL_NAME in check["models"]
        assert check["first_token_ms"] is not None and check["first_token_ms"] > 0
        assert check["total_ms"] >= check["first_token_ms"]
        assert _files_holding(home, key.encode()) == []  # nor in the logs after a use
    finally:  # the keyring is the session's: leave no key for other tests
        forgot = run_cli(home, env, "llm", "set", "--endpoint", url, "--model", MODEL_NAME,
                         "--forget-key")  # fmt: skip
    assert forgot.returncode == 0, forgot.stderr
    assert json.loads(run_cli(home, env, "llm", "show", "--json").stdout)["api_key"] == "none"

    # a URL that is not http(s), or carries credentials, is refused as invalid input (exit 2)
    # and said on one line
    for bad, said in [
        ("file:///etc/passwd", "must be an http(s) URL such as http://127.0.0.1:8080/v1, not "
         "'file:///etc/passwd'"),
        ("ftp://127.0.0.1/v1", "must be an http(s) URL such as http://127.0.0.1:8080/v1"),
        ("http://llm-user:hunter2@127.0.0.1:1/v1", "put the API key in the keyring"),
        ("https://llm.example.net/v1", "must be on this machine"),  # it gets the fleet's data
    ]:  # fmt: skip
        refused = run_cli(home, env, "llm", "set", "--endpoint", bad, "--model", "m")
        assert refused.returncode == 2, (bad, refused.stderr)
        assert refused.stderr.startswith("aiops-desktop: error:"), refused.stderr
        assert "LLM endpoint" in refused.stderr, refused.stderr
        assert said in refused.stderr and refused.stderr.count("\n") == 1, refused.stderr
        assert "hunter2" not in refused.stderr and refused.stdout == ""
    # the refused ones changed nothing
    kept = json.loads(run_cli(home, env, "llm", "show", "--json").stdout)
    assert kept["endpoint"] == url and kept["model"] == MODEL_NAME


def test_llm_off_leaves_no_model_server_and_can_remove_its_key(
    tmp_path: Path, secret_service: SecretService
) -> None:
    """A NOC that must not use a model turns it off without editing settings.json; the key
    goes with it when asked (set never asks the server: none runs here)."""
    env, home = dict(secret_service.env), tmp_path / "home"
    url, key = "http://127.0.0.1:1/v1", "sk-canary-off-5b2d4a607f3a9c1e"
    done = run_cli(home, env, "llm", "set", "--endpoint", url, "--model", "m", "--key-stdin",
                   stdin=key + "\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    off = run_cli(home, env, "llm", "off", "--forget-key")
    assert off.returncode == 0, off.stderr
    assert off.stdout == f"LLM off (was {url}); API key removed from the OS keyring\n"
    shown = json.loads(run_cli(home, env, "llm", "show", "--json").stdout)
    assert shown["configured"] is False and shown["endpoint"] is None
    assert shown["model"] == "m" and shown["api_key"] == "none"
    again = run_cli(home, env, "llm", "off")
    assert again.returncode == 0 and again.stdout == "LLM off (none was set)\n"


def test_llm_set_to_another_server_says_the_key_of_the_one_before_is_removed(
    tmp_path: Path, secret_service: SecretService
) -> None:
    """A key belongs to its server: set to another endpoint without a key of its own, the
    stored one is removed, and the command says so (no server runs: set never asks one)."""
    env, home = dict(secret_service.env), tmp_path / "home"
    old, new, key = "http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1", "sk-canary-move-9c1e5b2d"
    done = run_cli(home, env, "llm", "set", "--endpoint", old, "--model", "m", "--key-stdin",
                   stdin=key + "\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    moved = run_cli(home, env, "llm", "set", "--endpoint", new, "--model", "m")
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.startswith(f"LLM set: {new} model m; the stored API key was for {old}")
    assert "removed" in moved.stdout and key not in moved.stdout
    shown = json.loads(run_cli(home, env, "llm", "show", "--json").stdout)
    assert shown["endpoint"] == new and shown["api_key"] == "none"


def _chat_json(done: Any) -> dict[str, Any]:
    """The turn printed as JSON. The exit code is 0 when the model said something after the
    question, 1 when it only called the tool and then answered nothing (SmolLM2-135M samples
    at the server's temperature: an empty answer happens now and then)."""
    assert done.stdout.startswith("{"), (done.returncode, done.stderr)
    turn: dict[str, Any] = json.loads(done.stdout)
    answered = any(m["content"] for m in turn["messages"][1:] if m["role"] == "assistant")
    assert done.returncode == (0 if answered else 1), (done.returncode, done.stderr)
    return turn


def _check_forced_list_clusters(turn: dict[str, Any]) -> str:
    """The turn's messages: the question, a reply calling list_clusters, its result (returned),
    and an answer."""
    messages = turn["messages"]
    roles = [m["role"] for m in messages]
    assert roles[:3] == ["user", "assistant", "tool"], roles
    assert messages[0]["content"] == "which clusters?"
    (call,) = messages[1]["tool_calls"][:1]
    assert call["name"] == "list_clusters"
    result = messages[2]["tool_result"]
    assert result["call_id"] == call["id"] and result["name"] == "list_clusters"
    assert result["is_error"] is False, result["content"]
    assert roles[-1] == "assistant" and not messages[-1]["tool_calls"]
    content: str = result["content"]
    return content


def test_chat_forces_a_tool_and_prints_the_turn_as_json(
    tmp_path: Path, secret_service: SecretService, own_llama: RunningLlama
) -> None:
    env, home, url = dict(secret_service.env), tmp_path / "home", own_llama.url
    unset = run_cli(home, env, "chat", "which clusters?")
    assert unset.returncode == 2, unset.stderr
    assert "no LLM is configured" in unset.stderr and "llm set" in unset.stderr

    done = run_cli(home, env, "llm", "set", "--endpoint", url, "--model", MODEL_NAME)
    assert done.returncode == 0, done.stderr

    # on the cache: nothing registered, so an empty list
    own = _chat_json(run_cli(home, env, "chat", "--persona", "platform-ops", "--tool",
                             "list_clusters", "--json", "which clusters?", timeout=90))  # fmt: skip
    assert own["persona"] == "platform-ops"
    assert json.loads(_check_forced_list_clusters(own))["result"]["count"] == 0

    # on the sample capture: the person's own model over the capture's clusters
    sample = _chat_json(run_cli(home, env, "--capture", str(SAMPLE), "chat", "--tool",
                                "list_clusters", "--json", "which clusters?",
                                timeout=90))  # fmt: skip
    assert sample["persona"] == "default"
    listed = json.loads(_check_forced_list_clusters(sample))["result"]["clusters"]
    assert [c["name"] for c in listed] == ["ran-hub"]
    assert listed[0]["members"] == ["ai-lab", "ran-east", "ran-west"]

    unknown = run_cli(home, env, "chat", "--tool", "nope", "x")
    assert unknown.returncode == 2 and "no tool 'nope'; the tools are: list_clusters" in (
        unknown.stderr
    )


def test_chat_refuses_an_unknown_persona_and_lists_them(tmp_path: Path) -> None:
    done = run_cli(tmp_path / "home", dict(os.environ), "chat", "--persona", "nope", "x")
    assert done.returncode == 2
    assert "'nope': choose one of" in done.stderr
    for persona in PersonaName:
        assert persona.value in done.stderr
    assert not (tmp_path / "home").exists()  # refused before anything was opened
