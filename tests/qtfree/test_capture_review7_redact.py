"""A recorded Kubernetes object's key naming a secret was redacted only where its value was a
text (found in review): ``{"password": ["hunter2xyz"]}`` or ``{"apiToken": {"value": ...}}``
left the site in clear in a capture's recorded objects."""

from __future__ import annotations

import json

from aiops_desktop.logs import REDACTED
from aiops_desktop.store.capture_redact import redacted_document

SECRETS = ("hunter2xyz", "abcd1234xyz", "s3cr3t-Pa55", "4137")


def test_a_secret_named_key_is_redacted_whatever_its_value_is() -> None:
    doc = {
        "apiVersion": "ptp.openshift.io/v1",
        "kind": "PtpConfig",
        "metadata": {"name": "du-ptp", "labels": {"db_password": "s3cr3t-Pa55"}},
        "spec": {
            "plugins": {"password": ["hunter2xyz"], "apiToken": {"value": "abcd1234xyz"}},
            "bmc": {"pinSecret": 4137, "password": "", "token": None, "clientSecret": []},
            "profile": [{"name": "grandmaster", "interface": "ens1f0"}],
        },
    }
    clean = redacted_document(doc)
    text = json.dumps(clean)
    assert not [s for s in SECRETS if s in text], text
    plugins = clean["spec"]["plugins"]
    assert plugins == {"password": REDACTED, "apiToken": REDACTED}
    assert clean["metadata"]["labels"] == {"db_password": REDACTED}
    assert clean["spec"]["bmc"]["pinSecret"] == REDACTED
    # nothing there: nothing to hide (an empty value is not made to look like a secret)
    assert clean["spec"]["bmc"]["password"] == ""
    assert clean["spec"]["bmc"]["token"] is None
    assert clean["spec"]["bmc"]["clientSecret"] == []
    # what names no secret is kept, walked as before
    assert clean["spec"]["profile"] == [{"name": "grandmaster", "interface": "ens1f0"}]
    assert clean["kind"] == "PtpConfig"
