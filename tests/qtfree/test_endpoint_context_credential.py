"""An endpoint given a kubeconfig context's credential (discovery's routes, set-endpoint
--use-cluster-token): an entry the keyring no longer holds is said as missing, with what to do
about that, not as a context without a static token (whose advice, adding the endpoint a token
of its own, was wrong for it); one without a token says so."""

from __future__ import annotations

from typing import Any

import pytest

from aiops_desktop.models.credentials import CredentialKind, CredentialRef
from aiops_desktop.services.clusters.connections import _auth_from_secret
from collectors.errors import CollectorAuthError

REF = CredentialRef(kind=CredentialKind.KUBECONFIG_CONTEXT, key="cluster/x/api", context="prod")


class _Secrets:
    def __init__(self, payload: dict[str, Any] | None) -> None:
        self.payload = payload

    def get_json(self, _ref: CredentialRef) -> dict[str, Any] | None:
        return self.payload


def test_a_context_entry_gone_from_the_keyring_is_said_missing() -> None:
    with pytest.raises(CollectorAuthError, match="is not in the keyring") as caught:
        _auth_from_secret(REF, _Secrets(None), "east/prometheus: its credential")  # type: ignore[arg-type]
    assert "no static token" not in str(caught.value)


def test_a_context_without_a_static_token_says_so() -> None:
    exec_user = {"user": {"exec": {"command": "kubelogin"}}}
    with pytest.raises(CollectorAuthError, match="no static token to send to an endpoint"):
        _auth_from_secret(REF, _Secrets(exec_user), "east/prometheus")  # type: ignore[arg-type]
