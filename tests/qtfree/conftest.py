"""Fixtures shared by the Qt-free tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.settings import resolve_paths, resources_dir


@pytest_asyncio.fixture
async def core(tmp_path: Path, secret_service) -> AsyncIterator[Core]:  # type: ignore[no-untyped-def]
    """The app's Qt-free core over a fresh cache and the real Secret Service."""
    opened = Core.open(
        resolve_paths(tmp_path / "home"), secrets=SecretStore(secret_service.backend())
    )
    yield opened
    await opened.shutdown()


@pytest_asyncio.fixture
async def sample_core() -> AsyncIterator[Core]:
    """The bundled sample capture, opened (read-only, offline), its clusters loaded."""
    opened = await asyncio.to_thread(open_capture, resources_dir() / "samples" / "sample.aiops")
    await opened.registry.load()
    yield opened
    await opened.shutdown()
