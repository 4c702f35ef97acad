"""Secrets where the CLI takes them: an endpoint URL with a query string or a fragment
(``?access_token=…``) is refused as a URL with a user name is (it was kept, printed by
``clusters list`` and ``llm show``, exported in captures, and every request went to the
wrong path), a record kept with one by an older version is said clearly and the rest kept;
and a secret read from standard input on a terminal is asked for without echo."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aiops_desktop.cli import args as cli_args
from aiops_desktop.cli.args import read_stdin
from aiops_desktop.models.cluster import refuse_query, validate_http_url
from aiops_desktop.models.errors import UsageError
from collectors.errors import CollectorError
from collectors.llm import LlmEndpoint
from tests.qtfree.cli_runner import call_main

SECRET = "SECRETTOK123"


# -- an endpoint URL with a query string or a fragment ---------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        f"http://127.0.0.1:9/prom?access_token={SECRET}",
        f"https://thanos.example/?api_key={SECRET}",
        f"https://thanos.example/prom#{SECRET}",
        "https://thanos.example/prom?",  # an empty query: still no base path
        f"http://127.0.0.1:9/prom?access_token={SECRET}&user=noc@corp.example",  # an @ in it
    ],
)
def test_an_endpoint_url_with_a_query_or_fragment_is_refused(url: str) -> None:
    """Given by a person it is refused (refuse_query, in the registry's add and set); stored
    by an older version (a capture, the cache) it loads with the query dropped."""
    with pytest.raises(ValueError, match="credentials go to the OS keyring") as refused:
        refuse_query(url, "endpoint URL")
    said = str(refused.value)
    assert SECRET not in said and "access_token" not in said and "api_key" not in said
    assert "base" in said  # says what a URL is for
    loaded = validate_http_url(url, require_https=False, what="endpoint URL")
    assert SECRET not in loaded and "?" not in loaded and "#" not in loaded
    # a plain base path is taken, as before
    assert validate_http_url("https://thanos.example/prom/", require_https=True, what="x") == (
        "https://thanos.example/prom"
    )


@pytest.mark.parametrize(
    "url", [f"http://127.0.0.1:8080/v1?api_key={SECRET}", f"http://127.0.0.1:8080/v1#{SECRET}"]
)
def test_an_llm_endpoint_with_a_query_or_fragment_is_refused(url: str) -> None:
    with pytest.raises(CollectorError, match="keyring") as refused:
        LlmEndpoint(url, "m")
    assert SECRET not in str(refused.value)
    assert LlmEndpoint("http://127.0.0.1:8080/v1", "m").base_url  # a base path is taken


def test_the_cli_refuses_such_urls_and_keeps_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = f"http://127.0.0.1:9/p?access_token={SECRET}"
    code, out, err = call_main(home, "clusters", "add", "qs-1", "--prometheus-url", url)
    assert code != 0 and "credentials go to the OS keyring" in err, err
    assert SECRET not in out + err
    code, out, err = call_main(
        home, "clusters", "add", "qs-2", "--api-url", f"https://api.example:6443/#{SECRET}"
    )
    assert code != 0 and SECRET not in out + err
    code, out, err = call_main(
        home, "llm", "set", "--endpoint", f"http://127.0.0.1:9/v1?api_key={SECRET}", "--model", "m"
    )
    assert code != 0 and "keyring" in err and SECRET not in out + err
    code, out, _ = call_main(home, "clusters", "list", "--json")
    assert code == 0 and json.loads(out) == []
    _, out, _ = call_main(home, "llm", "show")
    assert SECRET not in out and "no LLM is configured" in out


def test_records_kept_with_such_a_url_by_an_older_version_are_said_clearly(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    for name in ("ok-1", "qs-1"):
        code, _, err = call_main(
            home, "clusters", "add", name, "--prometheus-url", "http://127.0.0.1:9/prom"
        )
        assert code == 0, err
    code, _, err = call_main(
        home, "llm", "set", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m7"
    )
    assert code == 0, err
    # as an older version kept them: the token inside the URLs
    with sqlite3.connect(home / "aiops-desktop.sqlite3") as db:
        ((ident, doc),) = db.execute("SELECT id, doc FROM clusters WHERE name = 'qs-1'")
        doc = doc.replace("/prom", f"/prom?access_token={SECRET}")
        db.execute("UPDATE clusters SET doc = ? WHERE id = ?", (doc, ident))
    db.close()
    settings = home / "settings.json"
    kept = json.loads(settings.read_text())
    kept["llm"]["endpoint"] = f"http://127.0.0.1:9/v1?api_key={SECRET}"
    settings.write_text(json.dumps(kept))

    code, out, err = call_main(home, "clusters", "list", "--json")
    assert code == 0, err
    listed = {c["name"]: c for c in json.loads(out)}
    assert set(listed) == {"ok-1", "qs-1"}  # nothing lost: the query is dropped as it loads
    assert SECRET not in out + err and "Traceback" not in err
    for command in (("llm", "test"), ("chat", "hi")):
        code, out, err = call_main(home, *command)
        assert code != 0 and "keyring" in err, (command, err)
        assert SECRET not in out + err and "Traceback" not in err
    assert json.loads(settings.read_text()) == kept  # nothing was lost or rewritten
    code, _, err = call_main(home, "clusters", "remove", "qs-1")
    assert code == 0, err  # and it can be removed


def test_a_url_with_a_query_is_refused_where_a_person_gives_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, out, err = call_main(home, "clusters", "add", "qs-2", "--prometheus-url",
                               f"http://127.0.0.1:9/prom?access_token={SECRET}")  # fmt: skip
    assert code == 2 and "credentials go to the OS keyring" in err, err
    assert SECRET not in out + err
    code, _, err = call_main(home, "clusters", "add", "ok-2", "--prometheus-url",
                             "http://127.0.0.1:9/prom")  # fmt: skip
    assert code == 0, err
    code, out, err = call_main(home, "clusters", "set-endpoint", "ok-2", "loki",
                               f"http://127.0.0.1:9/loki#{SECRET}")  # fmt: skip
    assert code == 2 and "credentials go to the OS keyring" in err and SECRET not in out + err


# -- a secret typed on a terminal --------------------------------------------------------------
class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        raise AssertionError("a terminal is asked with getpass, never read with echo")


def test_a_secret_on_a_terminal_is_asked_for_without_echo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []

    def getpass(prompt: str = "Password: ", stream: object = None) -> str:
        asked.append(prompt)
        return " sha256~AbCdEfGhIjKlMnOpQrStUv \n"

    monkeypatch.setattr(cli_args.getpass, "getpass", getpass)
    assert read_stdin(Terminal(), "token") == "sha256~AbCdEfGhIjKlMnOpQrStUv"
    assert read_stdin(Terminal(), "API key") == "sha256~AbCdEfGhIjKlMnOpQrStUv"
    assert len(asked) == 2 and "token" in asked[0].lower() and "API key" in asked[1]
    # a pipe is read as before, getpass never called
    assert read_stdin(io.StringIO("s3cret-pass\n"), "password") == "s3cret-pass"
    assert len(asked) == 2


@pytest.mark.parametrize("typed", ["", "   "])
def test_nothing_typed_on_a_terminal_is_said(monkeypatch: pytest.MonkeyPatch, typed: str) -> None:
    def getpass(prompt: str = "", stream: object = None) -> str:
        if not typed:
            raise EOFError  # Ctrl-D
        return typed

    monkeypatch.setattr(cli_args.getpass, "getpass", getpass)
    with pytest.raises(UsageError, match="no password"):
        read_stdin(Terminal(), "password")


def _drain(fd: int, seconds: float, until: bytes = b"") -> bytes:
    out, end = b"", time.monotonic() + seconds
    while time.monotonic() < end and not (until and until in out.lower()):
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            out += chunk
    return out


@pytest.mark.slow
def test_basic_user_on_a_real_terminal_prompts_and_does_not_echo(tmp_path: Path) -> None:
    password_file = tmp_path / "pw"
    password_file.write_text("file-pass\n")
    env = {**os.environ, "AIOPS_DESKTOP_SECRETS": "encrypted-file",
           "AIOPS_DESKTOP_SECRETS_PASSWORD_FILE": str(password_file)}  # fmt: skip
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiops_desktop", "--data-dir", str(tmp_path / "home"),
         "clusters", "add", "tty-1", "--prometheus-url", "http://127.0.0.1:9",
         "--basic-user", "admin"],
        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    try:
        before = _drain(master, 60, until=b"password")
        assert b"password" in before.lower(), before  # a prompt, before anything is typed
        os.write(master, b"Hunter2-SECRET\n")
        after = _drain(master, 60, until=b"added")
        assert proc.wait(30) == 0, after
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert b"added tty-1" in after
    assert b"Hunter2-SECRET" not in before + after  # never shown on the terminal


def test_llm_show_and_off_never_print_a_key_an_older_version_saved_in_the_url(
    tmp_path: Path,
) -> None:
    """settings.json written before URLs with a query were refused: `llm show` and `llm off`
    print the endpoint without its query (or user info), never the key in it."""
    import json

    from aiops_desktop.models.cluster import shown_url
    from tests.qtfree.cli_runner import call_main

    assert shown_url("http://u:p@127.0.0.1:8080/v1?api_key=K#x") == "http://…@127.0.0.1:8080/v1…"
    assert shown_url("http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080/v1"
    code, _out, err = call_main(tmp_path, "llm", "show")
    assert code == 0, err
    settings = next(tmp_path.rglob("settings.json"), None) or (tmp_path / "settings.json")
    doc = json.loads(settings.read_text()) if settings.exists() else {}
    doc["llm"] = {"endpoint": "http://127.0.0.1:8080/v1?api_key=SECRETKEY42", "model": "m"}
    settings.write_text(json.dumps(doc))
    code, out, err = call_main(tmp_path, "llm", "show")
    assert "SECRETKEY42" not in out + err and "http://127.0.0.1:8080/v1…" in out, out + err
    code, out, err = call_main(tmp_path, "llm", "off")
    assert "SECRETKEY42" not in out + err, out + err


@pytest.mark.asyncio
async def test_setting_another_server_never_prints_a_key_saved_in_the_old_url(
    tmp_path: Path,
) -> None:
    from aiops_desktop.services.assistant.llm import LLM_KEY_REF, LlmService
    from aiops_desktop.services.runtime.bus import EventBus
    from aiops_desktop.services.runtime.settings import SettingsService
    from aiops_desktop.settings import Settings
    from tests.qtfree.test_llm_settings_review import Keyring

    path = tmp_path / "settings.json"
    old = f"http://127.0.0.1:8080/v1?api_key={SECRET}"  # as an older version saved it
    path.write_text(json.dumps({"llm": {"endpoint": old, "model": "a"}}))
    keys = Keyring()
    keys.put(LLM_KEY_REF, "sk-old-0123456789abcdef")
    bus = EventBus()
    prefs = SettingsService(Settings.load(path)[0], path, bus, anomalies=None)
    change = await LlmService(prefs, keys, bus).change(
        endpoint="http://127.0.0.1:11434/v1", model="b"
    )
    assert change.said and "http://127.0.0.1:8080/v1…" in change.said and SECRET not in change.said
