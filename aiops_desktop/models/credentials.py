"""Credential references. A reference names a keyring entry; it never holds the secret."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import Field

from aiops_desktop.models.base import DomainModel, utcnow
from aiops_desktop.models.enums import CredentialKind

KEYRING_SERVICE = "aiops-desktop"

#: what a bearer token is made of (JWTs, OpenShift's sha256~, base64), on one line: anything
#: else (a second line, a URL with a password, a key, a config) is not sent to a server as a
#: token (a line break in a header ends the request in an error that quotes the header)
#: what a bearer token (typed, stored, a kubeconfig's) may be: one line of visible ASCII, as
#: the Kubernetes client sends it. Wider than RFC 6750's characters: Rancher's tokens are
#: ``kubeconfig-user-…:<secret>``. No blank, control character or line break (a header it
#: would break, or add to), nothing http.client would send as Latin-1
TOKEN_TEXT = re.compile(r"[\x21-\x7e]{1,16384}")
TOKEN_RULE = "one line of at most 16384 visible ASCII characters (no blank)"  # noqa: S105


def is_token_text(value: str) -> bool:
    """Whether ``value`` can be sent as a bearer token (``TOKEN_TEXT``)."""
    return TOKEN_TEXT.fullmatch(value) is not None


class CredentialRef(DomainModel):
    kind: CredentialKind
    service: str = KEYRING_SERVICE
    key: str = Field(description="The keyring entry's user name, e.g. 'cluster/<uuid>/api'.")
    context: str | None = Field(default=None, description="kubeconfig context it came from")
    source_path: str | None = Field(default=None, description="kubeconfig file it came from")
    exec_command: str | None = Field(
        default=None, description="exec plugin command (e.g. 'oc'), shown so the user knows"
    )
    stored_at: datetime = Field(default_factory=utcnow)

    def describe(self) -> str:
        """A one-line, secret-free description for the UI and the CLI."""
        what = {
            CredentialKind.KUBECONFIG_CONTEXT: "kubeconfig context",
            CredentialKind.BEARER_TOKEN: "bearer token",
            CredentialKind.CLIENT_CERTIFICATE: "client certificate",
            CredentialKind.BASIC_AUTH: "basic auth",
        }[self.kind]
        parts = [what]
        if self.context:
            parts.append(f"'{self.context}'")
        if self.exec_command:
            parts.append(f"via exec plugin '{self.exec_command}'")
        return " ".join(parts) + " (in OS keyring)"
