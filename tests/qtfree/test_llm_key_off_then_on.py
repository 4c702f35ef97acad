"""``llm off`` keeps the API key stored with its server (without --forget-key); ``llm set`` of
that same server then keeps it (it is that server's own) and sends it there; another server
set then still gets none, and is told whose key was removed."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops_desktop.services.assistant.llm import LLM_KEY_REF
from tests.qtfree.test_llm_key_binding import NEW, OLD, OLD_KEY, Backend, _llm, _stored

#: OLD typed another way: the same server
OLD_AGAIN = "HTTP://127.0.0.1:8080/v1/"


def _off(tmp_path: Path) -> tuple[Path, Backend]:
    path = tmp_path / "settings.json"
    path.write_text("{}")
    backend = Backend()
    return path, backend


@pytest.mark.parametrize("typed", [OLD, OLD_AGAIN])
@pytest.mark.asyncio
async def test_llm_set_of_the_server_turned_off_keeps_its_key(tmp_path: Path, typed: str) -> None:
    path, backend = _off(tmp_path)
    await _llm(path, backend).set(endpoint=OLD, model="qwen", key=OLD_KEY)
    await _llm(path, backend).turn_off()
    made = await _llm(path, backend).change(endpoint=typed, model="qwen")
    assert made.said is None
    assert _stored(backend) == {"endpoint": OLD, "token": OLD_KEY}
    assert _llm(path, backend).endpoint().api_key == OLD_KEY


@pytest.mark.asyncio
async def test_llm_set_of_another_server_after_off_removes_the_key(tmp_path: Path) -> None:
    path, backend = _off(tmp_path)
    await _llm(path, backend).set(endpoint=OLD, model="qwen", key=OLD_KEY)
    await _llm(path, backend).turn_off()
    made = await _llm(path, backend).change(endpoint=NEW, model="qwen")
    assert made.said is not None and "removed" in made.said
    assert LLM_KEY_REF.key not in backend.entries
    assert _llm(path, backend).endpoint().api_key is None


@pytest.mark.asyncio
async def test_window_rename_after_cli_off_keeps_the_key(tmp_path: Path) -> None:
    """The window (started while OLD was set) renames the model after the CLI's ``llm off``:
    the change is made over the file's off state, so the LLM stays off, and off keeps its key
    (as ``llm off`` does): nothing new was set, so nothing is removed nor said."""
    path, backend = _off(tmp_path)
    await _llm(path, backend).set(endpoint=OLD, model="qwen", key=OLD_KEY)
    window = _llm(path, backend)
    await _llm(path, backend).turn_off()
    made = await window.change(endpoint=OLD, model="qwen2")
    assert made.settings.endpoint is None
    assert made.said is None
    assert _stored(backend) == {"endpoint": OLD, "token": OLD_KEY}
    await _llm(path, backend).change(endpoint=OLD, model="qwen2")
    assert _llm(path, backend).endpoint().api_key == OLD_KEY
