"""``aiops-desktop chat --session ID`` with ``--persona`` or ``--clusters``: both were dropped
without a word (the old session's persona and tools answered; a cluster name refused without
``--session`` was taken). A session keeps its own persona and clusters: the CLI says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.qtfree.cli_runner import call_main
from tests.qtfree.test_chat_capture_sessions import home, serve  # noqa: F401 (a fixture)
from tests.qtfree.test_llm_robust_chat import Scripted, answer


@pytest.mark.parametrize(
    "given", [("--persona", "gpu-expert"), ("--clusters", "nosuchcluster"),
              ("--persona", "default")],
)  # fmt: skip
def test_a_continued_session_refuses_another_persona_or_clusters(
    home: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    given: tuple[str, str],
) -> None:
    server = Scripted([answer("PTP is locked."), answer("never asked")])
    serve(monkeypatch, server)
    code, _, err = call_main(home, "chat", "--persona", "telco-5g", "is PTP locked?")
    assert code == 0, err
    session = err.split("session ", 1)[1].split(" (continue with --session)")[0]
    code, out, err = call_main(home, "chat", "--session", session, *given, "which GPUs?")
    assert code == 2, err
    assert "keeps its own persona and clusters" in err and given[0] in err
    assert len(server.requests) == 1  # the model was not asked
    code, out, err = call_main(home, "chat", "--session", session, "and since when?")
    assert code == 0, err  # the session alone continues as before
    assert out == "never asked\n"
