"""Kubeconfigs for the Kubernetes client: one built in memory from a server URL and a token
or client certificate, when a credential expires, and loading one into an API client (an
exec plugin or an OIDC refresh may run: blocking)."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from collectors.deadline import track_sockets
from collectors.errors import KubeConfigInvalid


# -- kubeconfigs ---------------------------------------------------------------------------------
def kubeconfig_for_token(
    server: str,
    token: str | None = None,
    *,
    ca_pem: str | None = None,
    verify: bool = True,
    client_cert_pem: str | None = None,
    client_key_pem: str | None = None,
) -> dict[str, Any]:
    """A one-context kubeconfig (in memory only) for a server URL and a token or a client
    certificate, so every credential goes through the same loader."""

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    cluster: dict[str, Any] = {"server": server}
    if ca_pem:
        cluster["certificate-authority-data"] = b64(ca_pem)
    if not verify:
        cluster["insecure-skip-tls-verify"] = True
    user: dict[str, Any] = {}
    if token:
        user["token"] = token
    if client_cert_pem and client_key_pem:
        user["client-certificate-data"] = b64(client_cert_pem)
        user["client-key-data"] = b64(client_key_pem)
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    }


#: 9999-12-31T23:59:59Z, the last second a datetime holds
LATEST_EPOCH = 253402300799


def bearer_expiry(token: str | None) -> float | None:
    """The ``exp`` claim (epoch seconds) of a JWT bearer token, else None (opaque tokens)."""
    if not token or token.count(".") != 2:
        return None
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp") if isinstance(claims, dict) else None
        value = float(exp) if isinstance(exp, int | float) else None
    except (ValueError, UnicodeDecodeError, OverflowError, TypeError):  # OverflowError: an
        return None  # "exp" of hundreds of digits, past a float
    # a time a date can say (NaN, infinities and 1e300 are none: formatting one failed)
    return value if value is not None and 0 <= value <= LATEST_EPOCH else None


def static_expiry(kubeconfig: Mapping[str, Any]) -> float | None:
    """When the kubeconfig's static credential expires (a JWT's ``exp``, a client
    certificate's notAfter), epoch seconds; None when unknown."""
    users = kubeconfig.get("users") or []
    user = (users[0].get("user") if users and isinstance(users[0], dict) else None) or {}
    expiry = bearer_expiry(user.get("token"))
    if expiry is None and user.get("client-certificate-data"):
        expiry = _cert_not_after(user["client-certificate-data"])
    return expiry


def _cert_not_after(cert_b64: str) -> float | None:
    try:  # cryptography comes with the keyring's Secret Service backend (SecretStorage)
        from cryptography import x509
    except ImportError:
        return None
    try:
        cert = x509.load_pem_x509_certificate(base64.b64decode(cert_b64))
    except ValueError:
        return None
    return cert.not_valid_after_utc.timestamp()


def with_verified_idp(kubeconfig: Mapping[str, Any]) -> dict[str, Any]:
    """The kubeconfig with the system's CA bundle as each OIDC provider's
    ``idp-certificate-authority-data`` where it names none: the Kubernetes client refreshes
    an OIDC token with TLS verification OFF when none is given (so a man in the middle could
    serve an issuer document that sends the refresh token and client secret to any host)."""
    import copy

    out = copy.deepcopy(dict(kubeconfig))
    for entry in out.get("users") or []:
        user = entry.get("user") if isinstance(entry, dict) else None
        provider = user.get("auth-provider") if isinstance(user, dict) else None
        config = provider.get("config") if isinstance(provider, dict) else None
        if not (isinstance(config, dict) and isinstance(provider, dict)):
            continue
        if provider.get("name") != "oidc":
            continue
        if not config.get("idp-certificate-authority-data") and not config.get(
            "idp-certificate-authority"
        ):
            config["idp-certificate-authority-data"] = _ca_bundle_b64()
    return out


@functools.cache
def _ca_bundle_b64() -> str:
    """certifi's CA bundle (httpx's: the same roots as every other request of the app), read
    and encoded once, not at every client load."""
    import certifi

    return base64.b64encode(Path(certifi.where()).read_bytes()).decode()


def load_api_client(kubeconfig: Mapping[str, Any], name: str) -> tuple[Any, float | None]:
    """An API client for the kubeconfig, and when its credential expires. Blocking (an exec
    plugin or an OIDC refresh may run)."""
    from kubernetes import client
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import KubeConfigLoader
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error  # type: ignore[import-untyped]
    from requests.exceptions import RequestException
    from urllib3.exceptions import HTTPError

    for entry in kubeconfig.get("clusters") or []:
        cluster = entry.get("cluster") if isinstance(entry, Mapping) else None
        if isinstance(cluster, Mapping) and cluster.get("proxy-url"):
            # stored before the import refused it: never followed (the credential would go
            # through a host the kubeconfig chose)
            raise KubeConfigInvalid(
                "kubeconfig cannot be used: it sets proxy-url, and API servers are reached "
                "directly, never through a proxy a kubeconfig names; import it again without",
                backend=name,
            )
    configuration = client.Configuration()
    try:
        loader = KubeConfigLoader(config_dict=with_verified_idp(kubeconfig))
        loader.load_and_set(configuration)
    except (ConfigException, ValueError, KeyError, TypeError, OSError) as exc:
        raise KubeConfigInvalid(f"kubeconfig cannot be used: {exc}", backend=name) from exc
    except (HTTPError, OAuth2Error, RequestException) as exc:  # an OIDC refresh: the issuer
        # unreachable or not trusted (urllib3, requests), or it refused the refresh token
        raise KubeConfigInvalid(
            "the kubeconfig's identity provider could not be asked for a token: "
            f"{getattr(exc, 'reason', None) or exc}",
            backend=name,
        ) from exc
    configuration.retries = False  # one attempt per call; the caller decides to retry
    expiry = getattr(loader, "expiry", None)  # set by exec plugins and OIDC
    expires = expiry.timestamp() if expiry is not None else static_expiry(kubeconfig)
    api = client.ApiClient(configuration)
    track_sockets(api.rest_client.pool_manager)  # each request's deadline can end its reads
    return api, expires
