"""Fixtures shared by the Qt-free tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.core import Core
from aiops_desktop.settings import resolve_paths


@pytest_asyncio.fixture
async def core(tmp_path: Path, secret_service) -> AsyncIterator[Core]:  # type: ignore[no-untyped-def]
    """The app's Qt-free core over a fresh cache and the real Secret Service."""
    opened = Core.open(
        resolve_paths(tmp_path / "home"), secrets=SecretStore(secret_service.backend())
    )
    yield opened
    await opened.shutdown()
