"""Roles inside the app (PRODUCT.md section 6), enforced where the changes are made, not only
by hiding buttons: admin manages clusters, credentials and settings; operator does everything
but clusters, credentials and settings (acknowledges incidents, writes reports and captures, chats);
viewer only reads (the wall always runs as one).

The role is chosen at start: ``--role``, at most the role this OS account's settings give
(``access.role`` in settings.json, 0600; admin by default, changed in the app only by an
admin), so a wall or a shared NOC session set to viewer is not raised by ``--role``. It guards
against a slip, not against the account's own user: whoever runs as the account can edit its
settings file, or point ``--data-dir`` at a folder of their own; the OS account, and the
keyring it unlocks, is the boundary (a viewer's desk gets an account of its own). The app's own
upkeep (polling, health checks, discovery's findings) is not a person's change and runs for
every role.
"""

from __future__ import annotations

from enum import StrEnum

from aiops_desktop.models.enums import UserRole
from aiops_desktop.models.errors import AppError, UsageError

RANK = {UserRole.VIEWER: 0, UserRole.OPERATOR: 1, UserRole.ADMIN: 2}


class Action(StrEnum):
    MANAGE_CLUSTERS = "register, import, change or remove clusters"
    CREDENTIALS = "store or remove credentials"
    SETTINGS = "change the settings"
    ACKNOWLEDGE = "acknowledge incidents"
    WRITE_REPORTS = "write reports"
    EXPORT_CAPTURE = "export captures"
    CHAT = "chat with the local model"
    SAVE_QUERIES = "save or delete queries"


#: what each role may do (a viewer: nothing that changes anything)
ALLOWED: dict[UserRole, frozenset[Action]] = {
    UserRole.ADMIN: frozenset(Action),
    UserRole.OPERATOR: frozenset(
        {
            Action.ACKNOWLEDGE,
            Action.WRITE_REPORTS,
            Action.EXPORT_CAPTURE,
            Action.CHAT,
            Action.SAVE_QUERIES,
        }
    ),
    UserRole.VIEWER: frozenset(),
}


class AccessDenied(AppError):
    """The role in use may not do this (exit code 2: ask for it with the right role)."""

    exit_code = 2


class Access:
    def __init__(self, role: UserRole = UserRole.ADMIN) -> None:
        self.role = role

    def allows(self, action: Action) -> bool:
        return action in ALLOWED[self.role]

    def require(self, action: Action) -> None:
        if not self.allows(action):
            needed = min((r for r, can in ALLOWED.items() if action in can), key=RANK.__getitem__)
            raise AccessDenied(
                f"the {self.role.value} role may not {action.value}: that needs the "
                f"{needed.value} role (start the app with --role {needed.value} on an account "
                "whose settings allow it)"
            )


def resolve_role(requested: UserRole | None, configured: UserRole) -> UserRole:
    """The role to run as: the one asked for, never above the account's."""
    if requested is None:
        return configured
    if RANK[requested] > RANK[configured]:
        raise UsageError(
            f"--role {requested.value} is above this account's role ({configured.value}, set "
            "in settings.json by an admin)"
        )
    return requested
