"""``aiops-desktop --capture FILE chat`` in this process, against a scripted model server: a
capture's chat lives in its temporary working copy, so the CLI never offers ``--session`` to
continue it (that failed with "no chat session"); a token count that is no count ends no turn;
calls asked for when the tool rounds are spent are said not to run."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import collectors.llm as llm_module
from aiops_desktop.services.assistant.chat import MAX_CALLS_PER_ROUND, MAX_TOOL_ROUNDS
from aiops_desktop.settings import resources_dir
from tests.qtfree.cli_runner import call_main
from tests.qtfree.test_llm_robust_chat import Scripted, answer, call, finish, said, sse

SAMPLE = str(resources_dir() / "samples" / "sample.aiops")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    code, _, err = call_main(home, "llm", "set", "--endpoint", "http://127.0.0.1:9/v1",
                             "--model", "m")  # fmt: skip
    assert code == 0, err
    return home


def serve(monkeypatch: pytest.MonkeyPatch, server: Scripted) -> None:
    monkeypatch.setattr(llm_module, "closing_transport",
                        lambda _verify: httpx.MockTransport(server.handler))  # fmt: skip


def test_a_capture_chat_is_said_not_to_be_kept(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serve(monkeypatch, Scripted([answer("gpu-3 is the hot one.")]))
    code, out, err = call_main(home, "--capture", SAMPLE, "chat", "which GPU is hot?")
    assert code == 0, err
    assert out == "gpu-3 is the hot one.\n"
    assert "--session" not in err
    assert "not kept after the capture is closed" in err
    # an id from elsewhere: the capture has no chats of an earlier run, and says why
    code, _, err = call_main(home, "--capture", SAMPLE, "chat", "--session",
                             "862197ad-276b-4fbb-8e20-3cac50886891", "since when?")  # fmt: skip
    assert code == 4 and "not kept after the capture is closed" in err


def test_a_chat_of_ones_own_data_offers_to_continue(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Scripted([answer("nothing is registered."), answer("still nothing.")])
    serve(monkeypatch, server)
    code, _, err = call_main(home, "chat", "which GPU is hot?")
    assert code == 0, err
    session = err.split("session ", 1)[1].split(" (continue with --session)")[0]
    code, out, err = call_main(home, "chat", "--session", session, "since when?")
    assert code == 0, err
    assert out == "still nothing.\n"


def test_a_token_count_that_is_no_count_ends_no_turn(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    usage = {"choices": [], "usage": {"prompt_tokens": -1}}
    serve(monkeypatch, Scripted([sse(said("gpu-3 is hot"), usage, finish(), b"[DONE]")]))
    code, out, err = call_main(home, "--capture", SAMPLE, "chat", "which GPUs are unhealthy?")
    assert code == 0, err
    assert out == "gpu-3 is hot\n" and "Traceback" not in err


def test_calls_past_the_last_round_are_said_not_to_run(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def round_(r: int, *text: str) -> bytes:
        calls = [call(i, f"c{r}{i}", "list_clusters", "{}") for i in range(MAX_CALLS_PER_ROUND)]
        return sse(*(said(t) for t in text), *calls, finish("tool_calls"), b"[DONE]")

    bodies = [round_(r) for r in range(MAX_TOOL_ROUNDS)]
    serve(monkeypatch, Scripted([*bodies, round_(MAX_TOOL_ROUNDS, "Only ran-hub.")]))
    code, out, err = call_main(home, "--capture", SAMPLE, "chat", "list the clusters")
    assert code == 0, err  # it answered in words: the calls it still asked for do not fail it
    assert out == "Only ran-hub.\n"
    assert err.count("<- list_clusters: error") == MAX_CALLS_PER_ROUND
    assert err.count("<- list_clusters: ") == (MAX_TOOL_ROUNDS + 1) * MAX_CALLS_PER_ROUND
