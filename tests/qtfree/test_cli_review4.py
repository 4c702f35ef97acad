"""The command line, review 4: a chat about a cluster not registered is refused as every
other --clusters is (the model was told of a cluster that is not there)."""

from __future__ import annotations

from pathlib import Path

from tests.qtfree.cli_runner import call_main


def _home(tmp_path: Path) -> Path:
    code, _, err = call_main(tmp_path, "clusters", "add", "east",
                             "--prometheus-url", "http://127.0.0.1:9")  # fmt: skip
    assert code == 0, err
    return tmp_path


def test_a_chat_about_a_cluster_not_registered_is_refused(tmp_path: Path) -> None:
    code, out, err = call_main(_home(tmp_path), "chat", "--clusters", "esat", "hello")
    assert code == 4 and "no cluster named 'esat' is registered" in err and out == ""
