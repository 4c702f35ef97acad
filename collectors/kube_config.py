"""Kubeconfigs for the Kubernetes client: one built in memory from a server URL and a token
or client certificate, when a credential expires, and loading one into an API client (an
exec plugin or an OIDC refresh may run: blocking)."""

from __future__ import annotations

import base64
import contextlib
import copy
import functools
import json
import logging
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aiops_desktop.logs import register_secret
from collectors import deadline
from collectors.deadline import Deadline, track_sockets
from collectors.errors import KubeConfigInvalid

log = logging.getLogger("aiops.collectors.kube_config")


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


#: the attribute of a client's Configuration that holds its client pair (PEM texts) in memory
CLIENT_PAIR = "aiops_client_pair"


def exec_refusal(exec_spec: Any) -> str | None:
    """Why an exec plugin's spec may not run, else None. Its environment may not say where
    binaries or libraries are found (PATH, LD_PRELOAD, DYLD_*: a binary shipped beside the
    kubeconfig would run as the ``kubectl`` the user consented to; the plugin is found on the
    user's own PATH); and no word may hold a cmd.exe metacharacter (the Kubernetes client runs
    plugins through the shell on Windows, where ``--id=a&calc.exe`` runs calc; real plugins
    never need one, so it is refused on every platform, as the same file may move; the word
    is named by its place, never quoted: ``--oidc-client-secret=a%2Fb`` is a secret). Its
    command may not be a relative path (stored before the import made it absolute: it would
    run whatever that path names in the app's working directory)."""
    if not isinstance(exec_spec, Mapping):
        return None
    for item in exec_spec.get("env") or []:
        name = str(item.get("name", "")) if isinstance(item, Mapping) else ""
        if _LOADER_ENV.fullmatch(name):
            return (
                f"its exec plugin sets {name} in its environment, which decides which binary "
                "or library runs: the plugin must be found on your own PATH (remove the "
                f"{name} entry from exec.env to use it)"
            )
    command = exec_spec.get("command", "")
    if isinstance(command, str) and is_relative_command(command):
        return (
            "its exec plugin's command is a relative path, which would run from the app's "
            "working directory rather than the kubeconfig's folder: import the context again "
            "(the import makes the path absolute, as the consent shows it)"
        )
    args = exec_spec.get("args") or []
    for at, word in enumerate([command, *(args if isinstance(args, list) else [])]):
        found = _CMD_META.search(str(word))
        if found:  # named by its place, never quoted: it may be a secret's value
            where = f"argument {at}" if at else "command"
            return (
                f"its exec plugin's {where} holds {found.group()!r}, a character cmd.exe "
                "reads as a command (& | < > ^ % or a line break): refused, as a plugin "
                "never needs one"
            )
    return None


def is_relative_command(command: str) -> bool:
    """Whether an exec plugin's command names its program by a path relative to a folder
    (``./helper.sh``: kubectl reads it against the kubeconfig's folder), not by a bare name
    found on PATH (``kubelogin``) nor an absolute path."""
    return any(sep in command for sep in {"/", os.sep}) and not Path(command).is_absolute()


#: environment variables that choose the binary or the libraries a command runs with
_LOADER_ENV = re.compile(r"PATH|PATHEXT|LD_\w*|DYLD_\w*", re.IGNORECASE)
_CMD_META = re.compile(r"[&|<>^%\r\n]")


#: the most an exec plugin (or a gcp cmd-path helper) may print (stdout and stderr, bytes
#: each): an ExecCredential is a few kilobytes; past it the plugin is ended and its answer
#: refused, never held whole
MOST_PLUGIN_OUTPUT = 1 << 20
#: how long an exec plugin, a gcp cmd-path helper or an OIDC refresh's each request may take
#: where the caller gives no limit (a refresh from a client's hook, before a request)
PLUGIN_WITHIN_S = 30.0
_plugin_limit = threading.local()  # the limit of the plugin this thread's load may run


def _failed(why: str) -> None:
    """Why a credential helper gave the client nothing (it goes on without a credential,
    every call a 401): said by the load running in this thread (``load_api_client``), else
    (a refresh from a client's hook, in a request's thread) logged, never left behind for a
    later load to find."""
    if hasattr(_plugin_limit, "within_s"):
        _plugin_limit.failed = why
    else:
        log.warning("a credential refresh failed: %s", why)


def _plugin_within_s() -> float:
    """How long a credential helper this thread runs may take: its load's limit."""
    return float(getattr(_plugin_limit, "within_s", PLUGIN_WITHIN_S))


def _read_bounded(stream: Any, into: list[bytes], over: threading.Event) -> None:
    """``stream`` read into ``into`` until it ends, or until it passed MOST_PLUGIN_OUTPUT
    bytes (``over`` set; the rest never read). The stream is closed here, by its only reader:
    closed from another thread, the close would wait on this read, and so on whatever process
    still holds the pipe."""
    size = 0
    try:
        while chunk := stream.read1(65536):
            size += len(chunk)
            if size > MOST_PLUGIN_OUTPUT:
                over.set()
                return
            into.append(chunk)
    finally:
        stream.close()


#: how long a plugin's output may stay open after the plugin exited: held longer, by a child it
#: left running (an agent started with ``&``), that child is ended with the plugin's group
_PLUGIN_GRACE_S = 1.0


def _run_plugin(
    process: subprocess.Popen[bytes], within_s: float, what: str = "exec: the credential plugin"
) -> tuple[str, str]:
    """(stdout, stderr) of a plugin that ended within ``within_s`` having printed at most
    MOST_PLUGIN_OUTPUT bytes on each; else it is ended (ConfigException, saying ``what`` it
    was). Its streams are read as it prints, so a full pipe never stops it.

    Ending it ends what it started too: a wrapper script's plugin, or a child left holding its
    output after it exited, would hold the output open and the load with it. Where it leads a
    process group of its own (``_bounded_exec_provider`` starts it in a session of its own
    unless interactive), that group is killed; on Windows its process tree. A process that
    still holds the output after that (one that left the group) is left to its reader, never
    waited for."""
    from kubernetes.config.config_exception import ConfigException

    own_group = _leads_own_group(process)
    out: list[bytes] = []
    err: list[bytes] = []
    over = threading.Event()
    readers = [threading.Thread(target=_read_bounded, args=(stream, into, over),
                                name="kube-load-plugin-output", daemon=True)
               for stream, into in ((process.stdout, out), (process.stderr, err))
               if stream is not None]  # fmt: skip
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + within_s
    timed_out = False
    try:
        while process.poll() is None and not over.is_set():
            if time.monotonic() >= deadline:
                timed_out = True
                break
            over.wait(0.05)
        if not timed_out and not over.is_set():  # it exited: its output ends unless held
            _join(readers, _PLUGIN_GRACE_S)
    finally:
        ended = False
        if process.poll() is None or over.is_set() or any(r.is_alive() for r in readers):
            ended = _end_plugin(process, own_group)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(_PLUGIN_GRACE_S)
        _join(readers, _PLUGIN_GRACE_S if ended else 0)  # at once unless a holder was killed
    held = any(reader.is_alive() for reader in readers)
    said = "was ended" + (", but a process it started still runs" if held else "")
    if timed_out:
        raise ConfigException(
            f"{what} did not answer within {within_s:g} s and {said} "
            "(it may wait for a login in a browser or a terminal: log in with it outside the "
            "app first)"
        )
    if over.is_set():
        raise ConfigException(
            f"{what} printed more than {MOST_PLUGIN_OUTPUT:,} bytes and {said}; its answer "
            "was not read"
        )
    # all the plugin printed is read even where a process it left still holds the output (its
    # last write was in the pipe when it exited, and the reader had the grace to take it)
    stdout, stderr = b"".join(list(out)), b"".join(list(err))
    return stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace")


def _join(readers: list[threading.Thread], within_s: float) -> None:
    """Wait for ``readers`` to end, ``within_s`` in all."""
    end = time.monotonic() + within_s
    for reader in readers:
        reader.join(max(0.0, end - time.monotonic()))


def _leads_own_group(process: subprocess.Popen[bytes]) -> bool:
    """Whether ``process`` leads a process group of its own (started in a session of its own),
    which can then be killed whole without touching this process's own group."""
    if sys.platform == "win32":
        return False
    try:
        return os.getpgid(process.pid) == process.pid
    except ProcessLookupError:  # already reaped: cannot tell, so not killed as a group
        return False


def _end_plugin(process: subprocess.Popen[bytes], own_group: bool) -> bool:
    """Kill the plugin and what it started: its process group where it leads one (the group
    outlives its leader while a member runs, and its id is not reused meanwhile, so a plugin
    that exited is no obstacle); on Windows its process tree while it runs (``shell=True``
    makes it cmd.exe, the plugin its child; best effort); else the plugin alone. Whether any
    of it may have been killed."""
    running = process.poll() is None
    if sys.platform == "win32":
        if running:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    ["taskkill", "/T", "/F", "/PID", str(process.pid)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=_PLUGIN_GRACE_S,
                    creationflags=subprocess.CREATE_NO_WINDOW,
                    check=False,
                )
    elif own_group:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.kill()
    return running or own_group


def _refuse_failure(code: int, stderr: str, prefix: str) -> None:
    """ConfigException where a plugin or helper exited with ``code`` other than 0, with what
    it said on stderr (never its command line: a helper's arguments may hold a secret)."""
    from kubernetes.config.config_exception import ConfigException

    if code != 0:
        said = stderr.strip()
        raise ConfigException(f"{prefix}: process returned {code}" + (f". {said}" if said else ""))


def _plugin_status(code: int, stdout: str, stderr: str, api_version: str) -> Any:
    """The ``status`` of a plugin's ExecCredential, checked as the Kubernetes client does."""
    from kubernetes.config.config_exception import ConfigException

    _refuse_failure(code, stderr, "exec")
    try:
        data = json.loads(stdout)
    except ValueError as exc:
        raise ConfigException(f"exec: failed to decode process output: {exc}") from exc
    for key in ("apiVersion", "kind", "status"):
        if not isinstance(data, dict) or key not in data:
            raise ConfigException(f"exec: malformed response. missing key '{key}'")
    if data["apiVersion"] != api_version:
        raise ConfigException(
            f"exec: plugin api version {data['apiVersion']} does not match {api_version}"
        )
    return data["status"]


def _bounded_exec_provider() -> None:
    """The Kubernetes client's exec plugin runner, with limits (put in place once per
    process): the plugin is ended when its load's caller stops waiting (the limit
    ``load_api_client`` was given), and when it prints more than ``MOST_PLUGIN_OUTPUT``.
    The client's own waited for ever (a plugin waiting on a browser login held a loader
    thread and its process for good; four of them, every later load) and held all it
    printed. Otherwise as the client's (kubernetes 37: interactive only from a terminal,
    its answer checked the same way)."""
    from kubernetes.config import kube_config
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.exec_provider import ExecProvider

    if getattr(kube_config.ExecProvider, "bounded", False):
        return

    class BoundedExecProvider(ExecProvider):
        bounded = True

        def run(self, previous_response: Any = None) -> Any:
            interactive = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
            spec: dict[str, Any] = {"interactive": interactive}
            if previous_response:
                spec["response"] = previous_response
            if self.cluster:
                spec["cluster"] = self.cluster.value
                for extension in self.cluster.value.get("extensions") or ():
                    if extension["name"] == "client.authentication.k8s.io/exec":
                        spec["cluster"]["config"] = extension["extension"]
                        break
            info = {"apiVersion": self.api_version, "kind": "ExecCredential", "spec": spec}
            self.env["KUBERNETES_EXEC_INFO"] = json.dumps(info)
            process = subprocess.Popen(
                self.args,
                stdout=subprocess.PIPE,
                stderr=sys.stderr if interactive else subprocess.PIPE,
                stdin=sys.stdin if interactive else subprocess.DEVNULL,
                cwd=self.cwd,
                env=self.env,
                shell=self.shell,
                # a group of its own, killed whole when it is ended (_run_plugin): a wrapper's
                # plugin, or a child left on its output, would hold the load. Not when
                # interactive: it must stay in the terminal's foreground group to read from it
                # (and get its Ctrl-C), as the client runs it
                start_new_session=not interactive and sys.platform != "win32",
            )
            try:
                stdout, stderr = _run_plugin(process, _plugin_within_s())
                return _plugin_status(process.returncode, stdout, stderr, self.api_version)
            except ConfigException as exc:  # the client logs it and goes on with no credential:
                _failed(str(exc))
                raise

    setattr(kube_config, "ExecProvider", BoundedExecProvider)  # noqa: B010 (a module's name)


def _bounded_refreshes() -> None:
    """The Kubernetes client's gcp ``cmd-path`` runner and OIDC refresh requests, with the
    limits of exec plugins (put in place once per process). The client's own waited for ever
    on both (a helper or an issuer that never answers held a loader thread for good, and the
    helper's process; four of them, every later load) and held all a helper printed: the
    helper now runs as an exec plugin does (``_run_plugin``), and each OIDC request (the
    issuer's discovery, the token request) is one attempt bounded by the load's limit."""
    from kubernetes.config import kube_config
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.dateutil import parse_rfc3339

    if getattr(kube_config.CommandTokenSource, "bounded", False):
        return

    class BoundedCommandTokenSource(kube_config.CommandTokenSource):
        bounded = True

        def token(self) -> Any:
            process = subprocess.Popen(
                [self._cmd, *self._args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                # a group of its own, killed whole when it is ended, as an exec plugin's
                start_new_session=sys.platform != "win32",
            )
            what = "cmd-path: the gcp credential helper"
            stdout, stderr = _run_plugin(process, _plugin_within_s(), what)
            _refuse_failure(process.returncode, stderr, "cmd-path")
            try:
                credential = json.loads(stdout)["credential"]
                expiry = parse_rfc3339(credential["token_expiry"])
                return SimpleNamespace(token=credential["access_token"], expiry=expiry)
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigException(f"{what} gave no credential: {exc}") from exc

    class BoundedIssuerClient(kube_config.ApiClient):
        def __init__(self, configuration: Any = None, *args: Any, **kwargs: Any) -> None:
            if configuration is not None:  # urllib3 tries 4 times by default
                configuration.retries = _ONE_ATTEMPT
            super().__init__(configuration, *args, **kwargs)
            track_sockets(self.rest_client.pool_manager)  # for _whole_within's deadline

        def call_api(self, *args: Any, **kwargs: Any) -> Any:
            kwargs["_request_timeout"] = kwargs.get("_request_timeout") or _plugin_within_s()
            response: Any = super().call_api(*args, **kwargs)
            response.data = _bounded_answer(response.response)
            if response.status != 200:  # the client gives the refresh up without a word
                _failed(
                    f"the identity provider's discovery document answered HTTP {response.status}"
                )
            return response

    class BoundedSession(kube_config.OAuth2Session):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            for adapter in self.adapters.values():  # for _whole_within's deadline
                track_sockets(adapter.poolmanager)

        def refresh_token(self, *args: Any, **kwargs: Any) -> Any:
            kwargs["timeout"] = kwargs.get("timeout") or _plugin_within_s()
            return super().refresh_token(*args, **kwargs)

        def send(self, request: Any, **kwargs: Any) -> Any:
            response = super().send(request, **{**kwargs, "stream": True})
            response._content = _bounded_answer(response.raw)  # what stream=False would read
            return response

    setattr(kube_config, "CommandTokenSource", BoundedCommandTokenSource)  # noqa: B010
    setattr(kube_config, "ApiClient", BoundedIssuerClient)  # noqa: B010 (only OIDC's uses it)
    setattr(kube_config, "OAuth2Session", BoundedSession)  # noqa: B010


def _one_attempt() -> Any:
    """urllib3's Retry for an identity provider's requests: one attempt, redirects followed
    (``retries = False`` turned them off too: a discovery URL answering 301 gave the refresh
    up, and the load went on with the expired id-token, every call a 401)."""
    from urllib3.util.retry import Retry

    return Retry(total=None, connect=0, read=0, status=0, other=0, redirect=3)


_ONE_ATTEMPT = _one_attempt()

#: the most an identity provider's answer (its discovery document, a token response) may hold:
#: a few kilobytes; past it the refresh is refused, never held whole
MOST_ISSUER_ANSWER = 1 << 20


def _bounded_answer(raw: Any) -> bytes:
    """The body of urllib3's ``raw`` response (not read yet), at most MOST_ISSUER_ANSWER bytes
    (ConfigException past it)."""
    from kubernetes.config.config_exception import ConfigException

    body: bytes = raw.read(MOST_ISSUER_ANSWER + 1, decode_content=True)
    raw.release_conn()
    if len(body) > MOST_ISSUER_ANSWER:
        raise ConfigException(
            f"the identity provider answered more than {MOST_ISSUER_ANSWER:,} bytes; its "
            "answer was not read"
        )
    return body


@contextlib.contextmanager
def _whole_within(within_s: float) -> Iterator[None]:
    """What this thread sends meanwhile (an OIDC refresh's requests) answered whole within
    ``within_s``, as API requests are (collectors.deadline): at the limit a timer shuts their
    sockets down, so a blocked read ends at once. Timeouts bound each read only: an issuer
    sending its answer a byte at a time held the load, and its loader thread, for as long as
    it went on. The deadline of an API request this runs within (a refresh from the client's
    hook, before the request) is the thread's again afterwards."""
    from urllib3.exceptions import TimeoutError as Urllib3Timeout

    outer = getattr(deadline._current, "deadline", None)
    whole = Deadline()
    timer = threading.Timer(within_s, whole.expire)
    timer.daemon = True
    timer.start()
    try:
        with whole:
            yield
    except Exception as exc:
        if whole.expired:  # the read ended by the deadline fails as a broken connection
            raise Urllib3Timeout(f"no complete answer within {within_s:g} s") from exc
        raise
    finally:
        timer.cancel()
        deadline._current.deadline = outer


@functools.cache
def _loader_class() -> Any:
    """The Kubernetes client's kubeconfig loader, (1) registering with the redactor each token
    it puts on a client, at the load and at each refresh (an exec plugin's, an OIDC refresh's,
    a gcp helper's: an API server's error quoting the token it was sent put it in clear into
    the validation reason, the log and SQLite; a stored token is registered when read), and
    (2) saying why a gcp auth provider without ``cmd-path`` cannot refresh where google-auth
    is not installed (the client failed with AttributeError)."""
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import KubeConfigLoader

    class Loader(KubeConfigLoader):
        def __init__(self, config_dict: Any, config_persister: Any = None) -> None:
            super().__init__(config_dict=config_dict, config_persister=config_persister)
            self._google_credentials = self._get_google_credentials
            self._get_google_credentials = self._gcp_credentials

        def _refresh_oidc(self, provider: Any) -> None:
            with _whole_within(_plugin_within_s()):
                super()._refresh_oidc(provider)

        def _gcp_credentials(self) -> Any:
            credentials = self._google_credentials()
            if credentials is None:  # no cmd-path, and no google-auth to ask
                raise ConfigException(
                    "its gcp access token expired, and the gcp auth provider needs cmd-path "
                    "or the google-auth package to get another"
                )
            return credentials

        def _set_config(self, client_configuration: Any) -> None:
            token = self.__dict__.get("token")
            if isinstance(token, str):  # "Bearer <token>", "Basic <base64>"
                register_secret(token.partition(" ")[2])
            super()._set_config(client_configuration)

    return Loader


#: the fields of an auth provider's config a refresh writes (OIDC's tokens, gcp's token)
_REFRESHED_FIELDS = ("id-token", "refresh-token", "access-token", "expiry")


def _auth_provider(kubeconfig: Mapping[str, Any]) -> Any:
    """The current user's ``auth-provider`` mapping, or None."""
    user = _active_user(kubeconfig)
    return user.get("auth-provider") if isinstance(user, Mapping) else None


def _store_back(
    given: Mapping[str, Any],
    loaded: Mapping[str, Any],
    store: Callable[[dict[str, Any]], None],
    name: str,
) -> Callable[[], None]:
    """The loader's ``config_persister``: ``store`` is given ``given`` (the kubeconfig as the
    caller keeps it) with the auth provider's refreshed fields taken from ``loaded`` (the copy
    the loader refreshes in place, which also holds what the load put in place of the caller's
    CA data and client pair, never to be kept). An IdP that rotates refresh tokens (Dex)
    refuses the spent one: without it stored, the next load lost the cluster."""

    def persist() -> None:
        source, given_provider = _auth_provider(loaded), _auth_provider(given)
        refreshed = source.get("config") if isinstance(source, Mapping) else None
        if not (isinstance(refreshed, Mapping) and isinstance(given_provider, Mapping)):
            return
        config = given_provider.get("config")
        kept: dict[str, Any] = dict(config) if isinstance(config, Mapping) else {}
        changed = {
            field: refreshed[field]
            for field in _REFRESHED_FIELDS
            if field in refreshed and refreshed[field] != kept.get(field)
        }
        if not changed:  # the refresh got nothing (the issuer said no): nothing copied
            return
        updated = copy.deepcopy(dict(given))
        _auth_provider(updated)["config"] = {**kept, **changed}
        try:
            store(updated)
        except Exception as exc:  # the caller's store (a locked keyring): the refreshed
            # credential works for this client, and the next load refreshes again
            log.warning(
                "the refreshed credential could not be stored",
                extra={"backend": name, "error": str(exc)},
            )

    return persist


def load_api_client(
    kubeconfig: Mapping[str, Any],
    name: str,
    *,
    plugin_within_s: float = PLUGIN_WITHIN_S,
    store_refreshed: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[Any, float | None]:
    """An API client for the kubeconfig, and when its credential expires. Blocking (an exec
    plugin, a gcp helper or an OIDC refresh may run, each within ``plugin_within_s``).

    ``store_refreshed`` is given the kubeconfig with the credential an auth provider's refresh
    got (OIDC's id-token and its rotated refresh token, gcp's access token), at the load or
    later from the client's refresh hook (in a request's thread), to keep where ``kubeconfig``
    came from: an IdP that rotates refresh tokens refuses the spent one at the next load.

    No key or certificate is left in a file: the Kubernetes client would write each ``-data``
    field to a temp file kept for the whole process (and left behind by a crash). A client
    certificate and key go into the TLS context in memory instead (the user's entry stripped of
    them before loading; an exec plugin's deleted as soon as loaded), and the CA is handed over
    as data. An exec plugin is ended past ``plugin_within_s`` (``_bounded_exec_provider``)."""
    from kubernetes import client
    from kubernetes.config.config_exception import ConfigException
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
    for entry in kubeconfig.get("users") or []:
        user = entry.get("user") if isinstance(entry, Mapping) else None
        refusal = exec_refusal(user.get("exec")) if isinstance(user, Mapping) else None
        if refusal:  # stored before the import refused it: never run
            raise KubeConfigInvalid(f"kubeconfig cannot be used: {refusal}", backend=name)
    configuration = client.Configuration()
    # the Kubernetes client takes HTTPS_PROXY and NO_PROXY from the environment (and again
    # when the host is set, unless a proxy was set): API servers are reached directly, as by
    # every httpx client (trust_env=False), so no credential goes through a proxy
    configuration.proxy = configuration.no_proxy = None
    try:
        ca_pem = _cluster_ca_pem(kubeconfig)
        loaded, pair = _in_memory(with_verified_idp(kubeconfig))
        with contextlib.ExitStack() as held:  # an OIDC refresh's CA, open while it may run
            _idp_ca_in_memory(loaded, held)
            loader = _loader_class()(
                loaded, store_refreshed and _store_back(kubeconfig, loaded, store_refreshed, name)
            )
            _bounded_exec_provider()
            _bounded_refreshes()
            _plugin_limit.within_s, _plugin_limit.failed = plugin_within_s, None
            try:
                loader.load_and_set(configuration)
            finally:
                failed = _plugin_limit.failed
                del _plugin_limit.within_s, _plugin_limit.failed
                plugin_pair = _take_written(configuration, loader, ca_pem)
            if failed:  # the client went on without a credential: every call a 401
                raise ConfigException(failed)
    except (HTTPError, OAuth2Error, RequestException) as exc:  # an OIDC refresh: the issuer
        # unreachable, not trusted or silent (urllib3, requests), or it refused the refresh
        # token. Before OSError: requests' errors are OSErrors
        raise KubeConfigInvalid(
            "the kubeconfig's identity provider could not be asked for a token: "
            f"{getattr(exc, 'reason', None) or exc}",
            backend=name,
        ) from exc
    except (ConfigException, ValueError, KeyError, TypeError, OSError) as exc:
        raise KubeConfigInvalid(f"kubeconfig cannot be used: {exc}", backend=name) from exc
    if ca_pem:
        configuration.ca_cert_data = ca_pem
    configuration.retries = False  # one attempt per call; the caller decides to retry
    expiry = getattr(loader, "expiry", None)  # set by exec plugins and OIDC
    expires = expiry.timestamp() if expiry is not None else static_expiry(kubeconfig)
    pair = plugin_pair or pair
    context = _client_context(configuration, pair, name) if pair else None
    setattr(configuration, CLIENT_PAIR, pair)  # for pods/exec's WebSocket (files in memory)
    api = client.ApiClient(configuration)
    if context is not None:  # the pools' own context, with the pair in memory (urllib3 loads
        # cert_file and key_file again at each connection, which needs them in files)
        api.rest_client.pool_manager.connection_pool_kw["ssl_context"] = context
    track_sockets(api.rest_client.pool_manager)  # each request's deadline can end its reads
    return api, expires


def _active_user(kubeconfig: Mapping[str, Any]) -> Any:
    """The ``user`` mapping of the current context, or None."""
    users = _current(kubeconfig, "user", "users")
    return users[0] if users else None


def _in_memory(kubeconfig: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, str] | None]:
    """The kubeconfig without what the Kubernetes client would write to temp files: its
    current user's client certificate and key (returned as PEM text) and, unless the user runs
    an exec plugin (which is given the cluster's entry as it is), its cluster's CA data (handed
    over as data by the caller)."""
    found = _active_user(kubeconfig)
    user: dict[str, Any] = found if isinstance(found, dict) else {}
    if not user.get("exec"):
        for cluster in _current(kubeconfig, "cluster", "clusters"):
            if cluster.get("certificate-authority-data"):
                cluster.pop("certificate-authority-data")
                cluster.pop("certificate-authority", None)  # else read instead
    if not (user.get("client-certificate-data") and user.get("client-key-data")):
        return kubeconfig, None
    try:
        cert = base64.b64decode(user["client-certificate-data"]).decode()
        key = base64.b64decode(user["client-key-data"]).decode()
    except (ValueError, TypeError) as exc:  # binascii.Error, UnicodeDecodeError: ValueErrors
        raise ValueError("its client certificate or key is not base64 PEM text") from exc
    for field in ("client-certificate-data", "client-key-data", "client-certificate", "client-key"):
        user.pop(field, None)  # a file path beside the data would be read instead
    return kubeconfig, (cert, key)


def _idp_ca_in_memory(kubeconfig: dict[str, Any], held: contextlib.ExitStack) -> None:
    """Each OIDC provider's CA data as a file in memory (memfd; elsewhere a temp file deleted
    after the load), held open by ``held``: the Kubernetes client would write it to a temp
    file of its own at each refresh."""
    from collectors.auth import _pem_file

    for entry in kubeconfig.get("users") or []:
        user = entry.get("user") if isinstance(entry, dict) else None
        provider = user.get("auth-provider") if isinstance(user, dict) else None
        config = provider.get("config") if isinstance(provider, dict) else None
        if isinstance(config, dict) and config.get("idp-certificate-authority-data"):
            pem = base64.b64decode(config.pop("idp-certificate-authority-data")).decode()
            config["idp-certificate-authority"] = held.enter_context(_pem_file(pem))


#: the temp files are the Kubernetes client's, shared by every load (cached by content)
_TEMP_LOCK = threading.Lock()


def _take_written(configuration: Any, loader: Any, ca_pem: str | None) -> tuple[str, str] | None:
    """Delete the temp files the Kubernetes client wrote for ``configuration`` at once rather
    than at exit (an exec plugin's client certificate and key, the CA given to a plugin's
    user), and the plugin's pair as PEM text where it gave one. The CA (``ca_pem``) is handed
    over as data by the caller, so no file is needed after the load. Each field taken is
    cleared on the ``loader`` too: its refresh hook (a plugin's token) copies its own fields
    onto the configuration before every request, and pods/exec's WebSocket then read the
    deleted CA file instead of the CA in memory (and failed: no exec on EKS, GKE or AKS)."""
    from kubernetes.config import kube_config

    pair = None
    with _TEMP_LOCK:
        written = {path: content for content, path in kube_config._temp_files.items()}
        cert, key = configuration.cert_file, configuration.key_file
        if cert in written and key in written:
            pair = Path(cert).read_text(), Path(key).read_text()
            configuration.cert_file = configuration.key_file = None
            loader.cert_file = loader.key_file = None
        taken = [cert, key] if pair else []
        if ca_pem and configuration.ssl_ca_cert:  # only the library writes it from the data
            taken.append(configuration.ssl_ca_cert)
            configuration.ssl_ca_cert = loader.ssl_ca_cert = None
        for path in taken:
            if path in written:
                kube_config._temp_files.pop(written[path], None)
                Path(path).unlink(missing_ok=True)
    return pair


def _current(kubeconfig: Mapping[str, Any], field: str, section: str) -> list[Any]:
    """The ``field`` entry (``cluster``, ``user``) of the current context, as a one-item list
    (none where missing)."""
    current = kubeconfig.get("current-context")
    wanted = None
    for entry in kubeconfig.get("contexts") or []:
        if isinstance(entry, Mapping) and entry.get("name") == current:
            spec = entry.get("context")
            wanted = spec.get(field) if isinstance(spec, Mapping) else None
    for entry in kubeconfig.get(section) or []:
        value = entry.get(field) if isinstance(entry, Mapping) else None
        if entry.get("name") == wanted and isinstance(value, Mapping):
            return [value]
    return []


def _cluster_ca_pem(kubeconfig: Mapping[str, Any]) -> str | None:
    """The current context's cluster CA as PEM text, where it is given as data."""
    for cluster in _current(kubeconfig, "cluster", "clusters"):
        data = cluster.get("certificate-authority-data")
        try:
            return base64.b64decode(data).decode() if data else None
        except (ValueError, TypeError) as exc:
            raise ValueError("its certificate-authority-data is not base64 PEM text") from exc
    return None


def _client_context(configuration: Any, pair: tuple[str, str], name: str) -> ssl.SSLContext:
    """The TLS context urllib3 would make for ``configuration``, with the client pair loaded
    (through memfd where there is one: collectors.auth), so no file holds it afterwards."""
    from urllib3.util.ssl_ import create_urllib3_context

    from collectors.auth import _load_pair
    from collectors.errors import CollectorAuthError

    context = create_urllib3_context(
        cert_reqs=ssl.CERT_REQUIRED if configuration.verify_ssl else ssl.CERT_NONE
    )
    if not (configuration.ssl_ca_cert or configuration.ca_cert_data):
        context.load_default_certs()  # urllib3 does so only for a context of its own
    try:
        _load_pair(context, *pair)
    except CollectorAuthError as exc:
        raise KubeConfigInvalid(f"kubeconfig cannot be used: {exc}", backend=name) from exc
    return context
