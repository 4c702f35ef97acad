"""Roles enforced in the services (not only by hiding buttons): a viewer changes nothing, an
operator does everything but clusters, credentials and settings, an admin everything; the
role asked for at start is never above the account's; the command line says a refusal."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from aiops_desktop.models.enums import PersonaName, Sensitivity, UserRole
from aiops_desktop.models.errors import AppError, UsageError
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.models.reports import ReportType
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import export_capture, open_capture
from aiops_desktop.services.runtime.access import (
    ALLOWED,
    Access,
    AccessDenied,
    Action,
    resolve_role,
)
from aiops_desktop.settings import (
    AccessSettings,
    Settings,
    UiSettings,
    resolve_paths,
    resources_dir,
)
from tests.qtfree.cli_runner import run_cli

SAMPLE = resources_dir() / "samples" / "sample.aiops"


def test_what_each_role_may_do() -> None:
    assert ALLOWED[UserRole.ADMIN] == frozenset(Action)
    assert ALLOWED[UserRole.VIEWER] == frozenset()
    operator = ALLOWED[UserRole.OPERATOR]
    assert Action.ACKNOWLEDGE in operator and Action.WRITE_REPORTS in operator
    assert not operator & {Action.MANAGE_CLUSTERS, Action.CREDENTIALS, Action.SETTINGS}
    with pytest.raises(AccessDenied, match="the viewer role may not acknowledge incidents: "
                       "that needs the operator role"):  # fmt: skip
        Access(UserRole.VIEWER).require(Action.ACKNOWLEDGE)


def test_the_role_asked_for_is_never_above_the_accounts() -> None:
    assert resolve_role(None, UserRole.OPERATOR) is UserRole.OPERATOR
    assert resolve_role(UserRole.VIEWER, UserRole.ADMIN) is UserRole.VIEWER
    with pytest.raises(UsageError, match="--role admin is above this account's role"):
        resolve_role(UserRole.ADMIN, UserRole.VIEWER)


@pytest_asyncio.fixture(params=[UserRole.VIEWER, UserRole.OPERATOR])
async def limited(
    request: pytest.FixtureRequest, tmp_path: Path, secret_service
) -> AsyncIterator[Core]:  # type: ignore[no-untyped-def]
    opened = Core.open(resolve_paths(tmp_path / "home"), secrets=SecretStore(
        secret_service.backend()), role=request.param)  # fmt: skip
    await opened.registry.load()
    yield opened
    await opened.shutdown()


@pytest.mark.asyncio
async def test_clusters_credentials_and_settings_are_an_admins(limited: Core) -> None:
    role = limited.access.role.value
    spec = ClusterSpec(name="prod-1", api_server_url="https://api.prod-1.example:6443")
    denied = [
        limited.registry.add(spec),
        limited.registry.remove("prod-1"),
        limited.registry.import_kubeconfig("/nonexistent/kubeconfig", []),
        limited.preferences.set_sensitivity(Sensitivity.HIGH),
        limited.preferences.set_ui(UiSettings(theme="light")),
        limited.llm.set(endpoint="http://127.0.0.1:1/v1", model="m", key="sk-0123456789abcdef"),
    ]
    for attempt in denied:
        with pytest.raises(AccessDenied, match=f"the {role} role may not"):
            await attempt
    assert limited.registry.clusters() == []  # nothing was registered
    assert not limited.paths.settings_file.exists()  # nothing was written


@pytest.mark.asyncio
async def test_a_viewer_changes_nothing_an_operator_acts(tmp_path: Path) -> None:
    for role in (UserRole.VIEWER, UserRole.OPERATOR):
        core = await asyncio.to_thread(open_capture, SAMPLE, role=role)
        try:
            await core.registry.load()
            await core.fleet.refresh()
            await core.incidents.refresh()
            first = (await core.incidents.listed())[0]
            attempts = {
                "acknowledge": core.incidents.acknowledge(first.id),
                "report": core.reports.make(ReportType.EXECUTIVE, None, timedelta(hours=2)),
                "capture": export_capture(core, tmp_path / f"{role}.aiops",
                                          clusters=["ran-hub"], since=timedelta(hours=1)),
                "chat": core.chat.ask(core.chat.new_session(PersonaName.DEFAULT), "hello"),
            }  # fmt: skip
            for what, attempt in attempts.items():
                if role is UserRole.VIEWER:
                    with pytest.raises(AccessDenied, match="the viewer role may not"):
                        await attempt
                elif what == "acknowledge":  # past the role: a capture is read-only
                    with pytest.raises(UsageError, match="a capture is read-only"):
                        await attempt
                elif what == "capture":  # past the role: a capture is re-shared as a copy
                    with pytest.raises(UsageError, match="copying its file"):
                        await attempt
                    core.access.require(Action.EXPORT_CAPTURE)
                elif what == "report":
                    report = await attempt
                    assert report.title  # an operator writes reports
                else:  # past the role check: what may fail now is not the role (no model)
                    try:
                        await attempt
                    except AccessDenied as denied:
                        pytest.fail(f"an operator was refused {what}: {denied}")
                    except AppError as other:
                        assert what == "chat" and "no LLM is configured" in str(other)
                    else:
                        pytest.fail(f"{what} answered without a model")
                    core.access.require(Action.CHAT)
        finally:
            await core.shutdown()


@pytest.mark.integration
def test_the_command_line_takes_the_role_and_says_a_refusal(tmp_path: Path, secret_service) -> None:  # type: ignore[no-untyped-def]
    env, home = dict(secret_service.env), tmp_path / "home"
    refused = run_cli(home, env, "--role", "viewer", "clusters", "add", "prod-1",
                      "--api-url", "https://api.prod-1.example:6443")  # fmt: skip
    assert refused.returncode == 2
    assert "the viewer role may not register, import, change or remove clusters" in (
        refused.stderr)  # fmt: skip
    settings = Settings(access=AccessSettings(role=UserRole.OPERATOR))
    home.mkdir(parents=True, exist_ok=True)
    settings.save(resolve_paths(home).settings_file)
    above = run_cli(home, env, "--role", "admin", "llm", "show")
    assert above.returncode == 2 and "--role admin is above this account's role" in above.stderr
    as_operator = run_cli(home, env, "llm", "set", "--endpoint", "http://127.0.0.1:1/v1",
                          "--model", "m")  # fmt: skip
    assert as_operator.returncode == 2 and "the operator role may not change the settings" in (
        as_operator.stderr)  # fmt: skip
    listed = run_cli(home, env, "--role", "viewer", "clusters", "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []  # reading is for all


def test_a_settings_file_that_cannot_be_used_never_raises_the_role(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"access": {"role": "viewer"}, "ui": {"font_scale": "big"}}))
    kept, problem = Settings.load(path)
    assert problem is not None and "font_scale" in problem
    assert kept.access.role is UserRole.VIEWER  # its own valid section survives the typo
    path.write_text("{not json")
    kept, problem = Settings.load(path)
    assert problem is not None and kept.access.role is UserRole.VIEWER  # fails closed
    path.unlink()
    assert Settings.load(path) == (Settings(), None)  # no file yet: a first start, admin


@pytest.mark.asyncio
async def test_a_capture_runs_with_the_persons_role_and_look() -> None:
    person = Settings(access=AccessSettings(role=UserRole.OPERATOR), ui=UiSettings(theme="light"))
    core = await asyncio.to_thread(open_capture, SAMPLE, person=person)
    try:
        assert core.access.role is UserRole.OPERATOR
        assert core.preferences.current.ui.theme == "light"
        with pytest.raises(UsageError, match="a capture keeps no settings"):
            await core.preferences.set_account_role(UserRole.VIEWER)
    finally:
        await core.shutdown()
    with pytest.raises(UsageError, match="--role admin is above this account's role"):
        await asyncio.to_thread(open_capture, SAMPLE, person=person, role=UserRole.ADMIN)
