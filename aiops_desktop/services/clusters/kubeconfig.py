"""Reading kubeconfig files: every context in one step, as Lens and k9s users expect.

Each context becomes a self-contained kubeconfig (one cluster, one user, one context, every
referenced file inlined) that goes to the keyring whole, so the Kubernetes client can later
load it exactly as kubectl would, exec plugins (``oc login`` tokens, OIDC helpers) included.
Problems are reported per context with the reason; one broken context does not stop the rest.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import hmac
import json
import os
import re
import shlex
import stat
import sys
from collections import Counter
from pathlib import Path
from secrets import token_bytes
from typing import Any
from urllib.parse import urlsplit

from aiops_desktop.logs import names_a_secret
from aiops_desktop.models import CLUSTER_NAME_PATTERN
from aiops_desktop.models.cluster import refuse_query, shown_url, validate_ca_bundle
from aiops_desktop.models.credentials import TOKEN_RULE, is_token_text
from aiops_desktop.models.errors import UsageError
from aiops_desktop.models.registry import KubeconfigContext
from aiops_desktop.models.text import one_line
from collectors.kube_config import exec_refusal, is_relative_command


class KubeconfigError(UsageError):
    """The file as a whole cannot be used (unreadable, not YAML, not a kubeconfig)."""


_NAME_OK = re.compile(CLUSTER_NAME_PATTERN)


def cluster_name_for(context: str) -> str:
    """A DNS-style cluster name derived from a context name ('admin@api.ocp:6443' -> ...)."""
    name = re.sub(r"[^a-z0-9-]+", "-", context.lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)[:63].strip("-")
    if len(name) < 3:
        name = (name + "-ctx").strip("-")
    return name if _NAME_OK.match(name) else "cluster-" + str(abs(hash(context)) % 10**6)


#: kubeconfigs are kilobytes: 50 clusters, each with its own CA bundle and client certificate
#: and key inline (~10 KB a context), are about 500 KB. A file of small entries costs ~2 s of
#: CPU a MiB to parse even with libyaml (~14 s with the pure-Python loader); 4 MiB was allowed
MAX_KUBECONFIG_BYTES = 1 * 2**20
MAX_REFERENCED_BYTES = 1 * 2**20  # a token, a certificate or a key a kubeconfig points to
#: what one read of a kubeconfig may inline from the files it names, all its contexts
#: together: each context holds its own copy (its keyring entry), so 500 contexts naming one
#: 1 MiB file held 1.5 GB (a client certificate, key and CA of a few KB each, ~5 KB a
#: context, leave room for over 1,000 contexts)
MAX_REFERENCED_TOTAL = 8 * 2**20
#: what one import may write to the keyring, the entries (each a whole kubeconfig as JSON) of
#: the contexts it stores together: what contexts share inline is copied into each too, and a
#: 1 MiB file of 500 contexts sharing one user's 1 MB of inline data wrote 476 MiB. Only the
#: contexts stored count (the import charges it), never those left out. Files count here
#: again as base64 (MAX_REFERENCED_TOTAL of them is 10.7 MB, one context's most); a context
#: of ~10 KB leaves room for the most contexts a read takes
MAX_STORED_TOTAL = 16 * 2**20
MAX_CONTEXTS = 500
MAX_DEPTH = 32  # YAML nesting; a kubeconfig needs about six


def read_bounded(path: Path, limit: int, what: str, *, pipes: bool = False) -> bytes:
    """A regular file's bytes, at most ``limit`` (a device such as /dev/zero is refused, never
    read for ever). ``pipes``: a pipe is read too (``--token-file /dev/stdin`` or ``<(pass
    show x)`` on a command line the user typed; never for a path a file names, where a FIFO
    would block). OSError and ValueError say why not."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # opening a FIFO does not wait
    try:
        mode = os.fstat(fd).st_mode
        if pipes and stat.S_ISFIFO(mode):
            os.set_blocking(fd, True)  # wait for what the writer sends
        elif not stat.S_ISREG(mode):
            raise ValueError(f"{what} {str(path)!r} is not a regular file")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ValueError(f"{what} {str(path)!r} is larger than {limit:,} bytes")
    return data


def _resolved(path: Path) -> Path:
    """``path`` absolute, its symbolic links followed; ValueError (saying so) where they loop
    (pathlib raises RuntimeError, which ended a whole read and lost its good contexts)."""
    try:
        return path.resolve()
    except RuntimeError:  # "Symlink loop from ..."
        raise ValueError(
            f"{str(path)!r} is in a symlink loop (its links lead back to each other)"
        ) from None
    except OSError as exc:
        raise ValueError(f"{str(path)!r} cannot be resolved: {exc.strerror or exc}") from None


def expand_home(path: str | Path) -> Path:
    """``path`` with ``~`` or ``~user`` expanded; ValueError (saying so) where that user or
    home folder is not known (pathlib raises RuntimeError, which ended a whole read)."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        user = str(path).split("/", 1)[0]
        raise ValueError(f"{str(path)!r}: the home folder of {user!r} is not known") from None


#: where a kubeconfig's file references may point, besides its own folder: the folders kubectl,
#: ``oc login`` and minikube write a user's credentials to. A kubeconfig handed over by
#: someone else may name any file of the user's (``tokenFile: ~/.git-credentials`` sent that
#: file to the server as the bearer token); it is never read outside these, and a tokenFile
#: in these only with the user's say (``_with_outside_files``): they hold other tools'
#: credentials too (kubelogin's cache of refresh tokens, ``~/.kube/cache/oidc-login``), and a
#: tokenFile's content goes to the server. A CA, client certificate or key sends none of its
#: own (minikube's ``~/.kube/config`` names its files in ``~/.minikube``): read as before.
REFERENCE_ROOTS = ("~/.kube", "~/.minikube")
#: a tokenFile of fewer characters ("yes", a PIN) holds no bearer token
MIN_FILE_TOKEN = 8


#: shared folders that are no kubeconfig's own (anyone may write files there)
SHARED_FOLDERS = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))  # noqa: S108 (refused, not used)


def _may_read(resolved: Path, base: Path) -> bool:
    """Whether a kubeconfig in ``base`` may read ``resolved``: a file of its own folder
    (``_in_own_folder``), else anything in ``REFERENCE_ROOTS`` (``~/.kube``, ``~/.minikube``),
    the latter as a tokenFile with the user's say."""
    return _in_own_folder(resolved, base) or any(
        resolved.is_relative_to(_resolved(Path(r).expanduser())) for r in REFERENCE_ROOTS
    )


def _in_own_folder(resolved: Path, base: Path) -> bool:
    """Whether ``resolved`` is a file of the folder ``base`` of a kubeconfig that is not
    hidden there (``.vault-token``, ``.git/``: other tools' credentials), unless that folder
    is the home folder (or holds it: ``/``, ``/home``) or a shared one (a kubeconfig saved in
    ``~`` read ``~/.vault-token`` as its tokenFile): read with no more say than the file's."""
    own = base.resolve()
    if Path.home().resolve().is_relative_to(own) or own in SHARED_FOLDERS:
        return False
    if not resolved.is_relative_to(own):
        return False
    return not any(part.startswith(".") for part in resolved.relative_to(own).parts)


class _Files:
    """The files one read of a kubeconfig (``source``) references, relative to its folder
    (``base``). Each is read from disk once, however many contexts name it (500 contexts
    naming one file read it 1,500 times), and the contexts may hold at most
    MAX_REFERENCED_TOTAL bytes of them in all: each holds its own copy."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.base = source.parent
        self._bytes: dict[Path, bytes | ValueError] = {}  # by resolved path
        self._base64: dict[Path, str] = {}
        self._pem: dict[str, str] = {}  # a CA's base64 text, decoded once
        self.inlined = 0
        #: the tokenFile read outside the kubeconfig's own folder (in ``REFERENCE_ROOTS``)
        #: for the context being read, as its consent names it: its content is sent to the
        #: server (a CA, client certificate or key file sends nothing of its own)
        self.outside: list[str] = []

    def read(self, ref: object, what: str, read: list[str]) -> bytes:
        """The bytes of a file a kubeconfig references, if it lies in the kubeconfig's
        folder or ``REFERENCE_ROOTS``, counted against MAX_REFERENCED_TOTAL; ``read``
        collects what was read, for the preview to show."""
        return self._take(ref, what, read)[1]

    def as_base64(self, ref: object, what: str, read: list[str]) -> str:
        """A referenced file as base64 text (``key-data``), one text for every context that
        names it."""
        resolved, data = self._take(ref, what, read)
        if resolved not in self._base64:
            self._base64[resolved] = base64.b64encode(data).decode()
        return self._base64[resolved]

    def pem(self, data: object, what: str) -> str:
        """``certificate-authority-data`` as PEM text, decoded once for every context that
        shares it."""
        if isinstance(data, str) and data in self._pem:
            return self._pem[data]
        pem = _b64decode(data, what).decode("utf-8", errors="replace")
        self._pem[str(data)] = pem
        return pem

    def _take(self, ref: object, what: str, read: list[str]) -> tuple[Path, bytes]:
        path, resolved, data = self._read(ref, what)
        if self.inlined + len(data) > MAX_REFERENCED_TOTAL:
            raise ValueError(
                f"kubeconfig {self.source}: the files its contexts reference add up to more "
                f"than {MAX_REFERENCED_TOTAL:,} bytes (each context holds its own copy), so "
                f"this context's {what} {str(path)!r} ({len(data):,} bytes) is not read. Import it "
                "from a kubeconfig of fewer contexts, or with smaller files"
            )
        self.inlined += len(data)
        read.append(f"{what} {path}")
        if what == "tokenFile" and not _in_own_folder(resolved, self.base):
            # repr: one printable line, told apart
            named = f"{what} {str(resolved)!r} (sent to the server as the bearer token)"
            if named not in self.outside:
                self.outside.append(named)
        return resolved, data

    def _read(self, ref: object, what: str) -> tuple[Path, Path, bytes]:
        """The file's path as named, as resolved, and its bytes (from disk once)."""
        if not isinstance(ref, str):
            raise ValueError(f"{what} is not a file name")
        try:
            path = expand_home(ref)
        except ValueError as exc:
            raise ValueError(f"its {what} {exc}") from None
        if not path.is_absolute():
            path = self.base / path
        try:
            resolved = _resolved(path)
        except ValueError as exc:
            raise ValueError(f"its {what} {exc}") from None
        if not _may_read(resolved, self.base):
            raise ValueError(
                f"its {what} is the file {str(path)!r}, outside the kubeconfig's folder, "
                "~/.kube and ~/.minikube (or hidden, or the kubeconfig is in your home or a "
                "shared folder): a kubeconfig may name any file of yours, so it is not read. "
                "Copy the file beside the kubeconfig in a folder of its own, or inline it "
                "(kubectl config view --flatten)"
            )
        if resolved not in self._bytes:
            try:
                self._bytes[resolved] = read_bounded(path, MAX_REFERENCED_BYTES, f"{what} file")
            except OSError as exc:
                self._bytes[resolved] = ValueError(
                    f"{what} file {str(path)!r} cannot be read: {exc.strerror or exc}"
                )
            except ValueError as exc:  # not a regular file, too large: once is enough
                self._bytes[resolved] = exc
        data = self._bytes[resolved]
        if isinstance(data, ValueError):
            raise ValueError(str(data))
        return path, resolved, data


def _token_from_file(files: _Files, ref: object, read: list[str]) -> str:
    text = files.read(ref, "tokenFile", read).decode("utf-8", errors="replace").strip()
    return _bearer(text, f"its tokenFile {ref!r}", MIN_FILE_TOKEN)


def _bearer(token: object, what: str, shortest: int = 1) -> str:
    """``token`` where it can be sent as a bearer token (``is_token_text``): never one
    that every request would fail on, quoting it in the error (two lines), nor JSON: a
    credential cache (kubelogin's, one line without a blank) holds an id token and a refresh
    token, and all of it went to the server as the token."""
    if isinstance(token, str) and token.startswith(("{", "[")):
        raise ValueError(
            f"{what} holds JSON (a credential cache, such as kubelogin's, holding refresh "
            "tokens), not a bearer token, so it is not sent to the server"
        )
    if not isinstance(token, str) or len(token) < shortest or not is_token_text(token):
        raise ValueError(
            f"{what} does not hold a bearer token (a token is {TOKEN_RULE}), so it "
            "is not sent to the server"
        )
    return token


def _b64decode(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise ValueError(f"{what} is not valid base64") from exc


def _inline(entry: dict[str, Any], files: _Files, key: str, what: str, read: list[str]) -> None:
    """Replace a file reference ``key`` with ``key-data`` (base64), as kubectl would read it."""
    if entry.get(key) and not entry.get(f"{key}-data"):
        entry[f"{key}-data"] = files.as_base64(entry[key], what, read)
    entry.pop(key, None)


def load_kubeconfig(path: str | Path) -> dict[str, Any]:
    import yaml  # only where a kubeconfig is read

    source = _expand_source(path)
    try:
        text = _decoded(read_bounded(source, MAX_KUBECONFIG_BYTES, "kubeconfig"))
    except FileNotFoundError as exc:
        raise KubeconfigError(f"kubeconfig {source} does not exist") from exc
    except UnicodeDecodeError as exc:
        raise KubeconfigError(
            f"kubeconfig {source} cannot be read: it is not "
            f"{exc.encoding.upper().removesuffix('-SIG')} text (byte {exc.start:,} is not "
            "valid in it); save it as UTF-8, or as UTF-16 with a byte order mark"
        ) from exc
    except (OSError, ValueError) as exc:
        raise KubeconfigError(f"kubeconfig {source} cannot be read: {exc}") from exc
    try:
        doc = _parse(text)
    except _Refused as exc:
        raise KubeconfigError(f"kubeconfig {source} is refused: {exc}") from exc
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise KubeconfigError(f"kubeconfig {source} is not valid YAML{line}") from exc
    except ValueError:  # an integer of more than 4300 digits: Python's int() refuses it
        raise KubeconfigError(
            f"kubeconfig {source} holds a number too long to read "
            f"(over {sys.get_int_max_str_digits()} digits)"
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("contexts"), list):
        raise KubeconfigError(f"{source} is not a kubeconfig: it has no 'contexts' list")
    if not doc["contexts"]:
        raise KubeconfigError(f"kubeconfig {source} has no contexts")
    if len(doc["contexts"]) > MAX_CONTEXTS:
        raise KubeconfigError(
            f"kubeconfig {source} has {len(doc['contexts'])} contexts; at most {MAX_CONTEXTS} "
            "are read at once"
        )
    return doc


#: the byte order marks a kubeconfig may start with, and its encoding (UTF-32's before
#: UTF-16's, which begin the same); none: UTF-8
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _decoded(data: bytes) -> str:
    """A kubeconfig's text: UTF-8, or the encoding its byte order mark says, as YAML reads
    it (Windows PowerShell 5.1's ``kubectl config view --raw > config`` writes UTF-16).
    UnicodeDecodeError where it is not that."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    return data.decode(encoding)


def _expand_source(path: str | Path) -> Path:
    try:
        return expand_home(path)
    except ValueError as exc:
        raise KubeconfigError(f"kubeconfig {exc}") from None


class _Refused(Exception):
    pass


def _parse(text: str) -> Any:
    """The YAML document ``text``, with no aliases (a few bytes of &/* expand into gigabytes:
    the alias bomb) and at most MAX_DEPTH levels of nesting; timestamps and ``!!binary`` as
    text. Parsed by libyaml where PyYAML has it: the pure-Python loader took 100 s for a
    4 MB file. libyaml composes in C, past the hooks the pure-Python loader refuses in, so
    its events are checked first (libyaml's own limit is 1,000 levels, and none on aliases)."""
    import yaml

    fast = getattr(yaml, "CSafeLoader", None)
    if fast is None:
        return yaml.load(text, Loader=_bounded_loader())  # noqa: S506 (a SafeLoader, bounded)
    depth = 0
    try:
        for event in yaml.parse(text, Loader=fast):
            if isinstance(event, yaml.AliasEvent):
                raise _Refused(_ALIASES)
            if isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.NodeEvent):  # a scalar or a collection's start
                if depth + 1 > MAX_DEPTH:
                    raise _Refused(_TOO_DEEP)
                depth += isinstance(event, yaml.CollectionStartEvent)
    except yaml.MarkedYAMLError as exc:
        # libyaml's scanner looks ahead past 1,000 '[' before the event that is too deep
        if exc.problem == "exceeded maximum nesting depth":
            raise _Refused(_TOO_DEEP) from None
        raise
    return yaml.load(text, Loader=_text_constructors(fast))  # noqa: S506 (a CSafeLoader)


_ALIASES = "it uses YAML aliases (*name): write the values out"
_TOO_DEEP = f"it nests deeper than {MAX_DEPTH} levels"


def _text_constructors(loader: type) -> type:
    """``loader`` reading timestamps (an unquoted ``expiry:``) and ``!!binary`` as text, as
    kubectl reads them: a datetime or bytes cannot be stored as JSON in the keyring."""

    class Loader(loader):
        def construct_as_text(self, node: Any) -> Any:
            return self.construct_scalar(node)

    for tag in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"):
        Loader.add_constructor(tag, Loader.construct_as_text)
    return Loader


def _bounded_loader() -> type:
    """PyYAML's pure-Python SafeLoader with no aliases and a limit on nesting (where PyYAML
    is built without libyaml)."""
    import yaml

    class Loader(_text_constructors(yaml.SafeLoader)):  # type: ignore[misc]
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise _Refused(_ALIASES)
            Loader.depth += 1
            try:
                if Loader.depth > MAX_DEPTH:
                    raise _Refused(_TOO_DEEP)
                return super().compose_node(parent, index)
            finally:
                Loader.depth -= 1

    return Loader


def _index(doc: dict[str, Any], section: str) -> dict[str, Any] | None:
    """A section's entries by name, the first of a name kept (as a lookup in order finds
    it), built once: 500 contexts each searching 150,000 users took seconds. None: the
    section is not a list."""
    items = doc.get(section) or []
    if not isinstance(items, list):
        return None
    index: dict[str, Any] = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            index.setdefault(item["name"], item.get(section[:-1]))
    return index


def _named(
    index: dict[str, dict[str, Any] | None], section: str, name: str
) -> dict[str, Any] | None:
    """A copy of the ``section`` entry named ``name`` (a context inlines files into it)."""
    entries = index[section]
    if entries is None:
        raise ValueError(f"the kubeconfig's {section!r} is not a list")
    if name not in entries:
        return None
    body = entries[name]
    return dict(body) if isinstance(body, dict) else {}


def read_contexts(path: str | Path) -> list[KubeconfigContext]:
    """Every context of a kubeconfig, each usable or carrying the reason it is not."""
    try:
        source = _resolved(_expand_source(path))
    except ValueError as exc:
        raise KubeconfigError(f"kubeconfig {exc}") from None
    doc = load_kubeconfig(source)
    files = _Files(source)
    index = {section: _index(doc, section) for section in ("clusters", "users")}
    out = []
    names = [
        str(item.get("name", ""))[:253] if isinstance(item, dict) else ""
        for item in doc["contexts"]
    ]
    # a context is chosen, consented to and registered by its name: of two of one name, the
    # one the user left out went in with the one ticked (another API server, as `prod`)
    counts = Counter(names)
    for item, name in zip(doc["contexts"], names, strict=True):
        ctx = KubeconfigContext(context=name, cluster_name=cluster_name_for(name), server=None)
        out.append(ctx)
        if name and counts[name] > 1:
            ctx.error = (
                f"the kubeconfig has {counts[name]} contexts named {name!r}, and a context "
                "is known by its name alone: none of them is imported (which one is meant "
                "cannot be told); give each its own name to import them"
            )
            continue
        inlined = files.inlined
        try:
            _fill(ctx, index, item, files)
        except ValueError as exc:
            ctx.error = str(exc)
        except (TypeError, AttributeError, KeyError) as exc:  # a field of the wrong type
            ctx.error = f"context {name!r} is not a valid kubeconfig entry ({exc})"
        if ctx.error:  # a context refused holds no copy: the budget is the others'
            files.inlined = inlined
    return out


def _fill(
    ctx: KubeconfigContext, index: dict[str, dict[str, Any] | None], item: Any, files: _Files
) -> None:
    if not ctx.context:
        raise ValueError("a context without a name")
    spec = item.get("context") if isinstance(item, dict) else None
    if not isinstance(spec, dict):
        raise ValueError(f"context {ctx.context!r} has no 'context' section")
    cluster = _named(index, "clusters", str(spec.get("cluster", "")))
    if cluster is None:
        raise ValueError(
            f"context {ctx.context!r} names cluster {spec.get('cluster')!r}, "
            "which is not in the file"
        )
    user_name = str(spec.get("user", ""))
    user = _named(index, "users", user_name) if user_name else {}
    if user is None:
        raise ValueError(
            f"context {ctx.context!r} names user {user_name!r}, which is not in the file"
        )
    server = str(cluster.get("server", ""))
    parts = urlsplit(server)
    if parts.username is not None or parts.password is not None:  # never shown: a password
        raise ValueError(
            f"context {ctx.context!r}: its server URL carries a user name or password "
            f"(https://…@{parts.hostname}): give the credential as the kubeconfig's user"
        )
    if parts.scheme != "https" or not parts.hostname:
        shown = shown_url(server)
        raise ValueError(f"context {ctx.context!r}: server {shown!r} is not an https URL")
    # the server is a URL as a person types one in Add cluster: a stray blank (every poll
    # then failed on a host no one typed) or a query (listed and exported) is refused alike
    refuse_query(server, f"context {ctx.context!r}: server")
    _refuse_proxy(ctx.context, cluster)
    ctx.server = server.rstrip("/")
    read = ctx.files
    files.outside = []

    ctx.ca_pem = _ca_pem(ctx.context, cluster, files, read)
    if cluster.get("insecure-skip-tls-verify"):
        ctx.insecure_skip_tls_verify = True
        ctx.warnings.append(
            f"context {ctx.context!r} sets insecure-skip-tls-verify: the API server's TLS "
            "certificate will NOT be verified"
        )

    if user.get("tokenFile") and not user.get("token"):
        user["token"] = _token_from_file(files, user["tokenFile"], read)
    elif user.get("token"):
        _bearer(user["token"], f"context {ctx.context!r}: its user's token")
    user.pop("tokenFile", None)
    _inline(user, files, "client-certificate", "client-certificate", read)
    _inline(user, files, "client-key", "client-key", read)
    if isinstance(user.get("exec"), dict):
        user["exec"] = _exec_from_folder(user["exec"], files.base)
    ctx.auth, ctx.exec_command = _auth_kind(ctx.context, user)
    ctx.runs = _with_outside_files(_what_it_runs(ctx.context, user, files, read), files.outside)
    if ctx.auth == "none":
        ctx.warnings.append(f"context {ctx.context!r} has no credentials (anonymous access)")

    payload = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": spec["cluster"], "cluster": cluster}],
        "users": [{"name": user_name or "anonymous", "user": user}],
        "contexts": [
            {
                "name": ctx.context,
                "context": {**spec, "user": user_name or "anonymous"},
            }
        ],
        "current-context": ctx.context,
    }
    try:  # stored as JSON in the keyring: a value YAML typed otherwise (a set) is refused here
        json.dumps(payload)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"context {ctx.context!r} holds a value that is not text ({exc})") from exc
    ctx.payload = payload


def _exec_from_folder(spec: dict[str, Any], base: Path) -> dict[str, Any]:
    """An exec plugin's spec with a command given as a relative path (``./helper.sh``) made
    absolute against the kubeconfig's folder ``base``, as kubectl resolves it: the Kubernetes
    client ran it from the app's working directory, another program than the consent named.
    A bare name (``kubelogin``) stays, found on PATH as kubectl finds it."""
    command = spec.get("command")
    if not isinstance(command, str) or not is_relative_command(command):
        return spec
    return {**spec, "command": os.path.normpath(base / command)}


def _with_outside_files(runs: str | None, outside: list[str]) -> str | None:
    """What a context's import needs the user's say for: what it runs, and the tokenFile it
    reads outside the kubeconfig's own folder (``~/.kube``, ``~/.minikube``: a kubeconfig
    from elsewhere named kubelogin's cache of refresh tokens as its tokenFile, and it went to
    the file's own server), named in full, so the consent binds it too."""
    if not outside:
        return runs
    reads = f"reads files outside the kubeconfig's folder: {', '.join(outside)}"
    return f"{runs}; and it {reads}" if runs else reads


def _ca_pem(context: str, cluster: dict[str, Any], files: _Files, read: list[str]) -> str | None:
    """A cluster's CA bundle (its ``certificate-authority`` file inlined), PEM certificates
    only: a combined certificate + key PEM (a ``bundle.pem``) is refused whole, as its key
    would go into the cache and ``clusters list --json`` with the bundle."""
    named_file = cluster.get("certificate-authority") and not cluster.get(
        "certificate-authority-data"
    )
    _inline(cluster, files, "certificate-authority", "certificate-authority", read)
    if not cluster.get("certificate-authority-data"):
        return None
    pem = files.pem(cluster["certificate-authority-data"], "certificate-authority-data")
    what = "certificate-authority file" if named_file else "certificate-authority-data"
    if "BEGIN CERTIFICATE" not in pem:
        raise ValueError(f"context {context!r}: {what} is not a PEM certificate")
    try:
        return validate_ca_bundle(pem)
    except ValueError as exc:
        raise ValueError(
            f"context {context!r}: its {what} holds a private key ({exc}); point it at a "
            "file of the CA certificates alone"
        ) from None


def _refuse_proxy(context: str, cluster: dict[str, Any]) -> None:
    """The Kubernetes client would send all of a context's traffic, its credential included,
    through the host its ``proxy-url`` names, a host the file chose; the app uses no proxy
    (nor the environment's), so such a context is refused, with where it pointed."""
    if cluster.get("proxy-url"):
        where = urlsplit(str(cluster["proxy-url"])).netloc.rpartition("@")[2]  # no password
        raise ValueError(
            f"context {context!r} sets proxy-url (through {where}): this app reaches API "
            "servers directly, never through a proxy a kubeconfig names; remove proxy-url to "
            "import it"
        )


def _auth_kind(context: str, user: dict[str, Any]) -> tuple[str, str | None]:
    """How a kubeconfig user authenticates, and the helper command where there is one."""
    for section in ("exec", "auth-provider"):
        if user.get(section) is not None and not isinstance(user[section], dict):
            raise ValueError(f"context {context!r}: its user's {section!r} is not a mapping")
    if user.get("exec"):
        return "exec", str(user["exec"].get("command", "")) or None
    if user.get("auth-provider"):
        return "auth-provider", str(user["auth-provider"].get("name", "")) or None
    if user.get("token"):
        return "token", None
    if user.get("client-certificate-data"):
        if not user.get("client-key-data"):
            raise ValueError(f"context {context!r}: client certificate without client key")
        return "client-certificate", None
    if user.get("username"):
        return "basic", None
    return "none", None


def _what_it_runs(context: str, user: dict[str, Any], files: _Files, read: list[str]) -> str | None:
    """What a context's credential runs or asks whenever it needs a token, in full (the
    command line and the environment it sets, values included; an auth provider and the
    issuer it asks): shown before the import, which needs the user's say for it. The values
    of secret-named options (``--oidc-client-secret=...``) and variables are not shown (but
    for a variable the command line names, and a word that is code: ``_shown_command``,
    it is part of what runs); a fingerprint of the exact command and environment is, so a
    consent given to what was shown binds them.
    Every word is shown as one printable line (no bidi override, no line separator). A
    plugin whose environment chooses the binary that runs (PATH, LD_PRELOAD) or whose words
    cmd.exe would read as commands is refused (exec_refusal). An OIDC provider's
    ``idp-certificate-authority`` file is inlined like the others."""
    if user.get("exec"):
        spec = user["exec"]
        args = spec.get("args") or []
        env = spec.get("env") or []
        if not isinstance(args, list) or not isinstance(env, list):
            raise ValueError(f"context {context!r}: its exec plugin's args or env is not a list")
        refusal = exec_refusal(spec)
        if refusal:
            raise ValueError(f"context {context!r}: {refusal}")
        words = [str(spec.get("command", "")), *(str(a) for a in args)]
        pairs = [
            (str(e.get("name", "")), str(e.get("value", ""))) for e in env if isinstance(e, dict)
        ]
        shown = [_shown_variable(name, value, words) for name, value in pairs]
        exact = [shlex.quote(f"{name}={value}") for name, value in pairs]
        environment = f" (environment: {', '.join(shown)})" if pairs else ""
        return _consented(
            words, environment, f" (environment: {', '.join(exact)})" if pairs else ""
        )
    if user.get("auth-provider"):
        provider = user["auth-provider"]
        config = provider.get("config") or {}
        if not isinstance(config, dict):
            raise ValueError(f"context {context!r}: its auth-provider's config is not a mapping")
        _inline(config, files, "idp-certificate-authority", "idp-certificate-authority", read)
        asks = (
            [f"idp-issuer-url {config['idp-issuer-url']}"] if config.get("idp-issuer-url") else []
        )
        if config.get("cmd-path"):  # gcp: run to get a token, with its arguments
            asks.append("cmd-path " + _provider_command(context, config))
        return f"auth-provider {provider.get('name', '')}" + (
            f": {', '.join(asks)}" if asks else ""
        )
    return None


def _provider_command(context: str, config: dict[str, Any]) -> str:
    """An auth provider's ``cmd-path`` command as the Kubernetes client runs it: with
    ``cmd-args`` split on spaces, else ``cmd-path`` itself split (and the keys it reads from
    the answer), for the consent."""
    command, args = config["cmd-path"], config.get("cmd-args")
    if not isinstance(command, str) or ("cmd-args" in config and not isinstance(args, str)):
        raise ValueError(
            f"context {context!r}: its auth-provider's cmd-path or cmd-args is not text"
        )
    words = [command, *args.split()] if isinstance(args, str) else command.split()
    keys = [f"{k} {config[k]}" for k in ("token-key", "expiry-key") if config.get(k)]
    return _consented(words, f" ({', '.join(keys)})" if keys else "")


def _consented(words: list[str], details: str, exact_details: str | None = None) -> str:
    """A command line as the consent shows it: in full, or with its secret values hidden (in
    the words, or in ``details`` where they differ from ``exact_details``) or what does not
    print left out (a bidi override, a line separator: they make a line read other than it
    is), and a fingerprint of the exact command (keyed by this process: it tells nothing of
    them), so that a tick consents to that command only, not to one that reads the same."""
    shown, hidden, cleaned = _shown_command(words)
    exact_details = details if exact_details is None else exact_details
    hidden = hidden or details != exact_details
    cleaned = cleaned or one_line(details) != details
    details = one_line(details)
    if not hidden and not cleaned:
        return shown + details
    exact = shlex.join(words) + exact_details
    mark = hmac.new(_CONSENT_KEY, exact.encode(), hashlib.sha256).hexdigest()[:12]
    said = ["secret values hidden"] if hidden else []
    said += ["line breaks and characters that do not print left out"] if cleaned else []
    return f"{shown}{details} ({'; '.join(said)}; command fingerprint {mark})"


#: an option whose value is a secret: ``--oidc-client-secret``, ``--token``, ``--password``,
#: ``--api-key`` (one or two dashes; ``--name=value`` or ``--name value``)
_SECRET_OPTION = re.compile(
    r"-{1,2}[A-Za-z0-9_.-]*(secret|token|password|passwd|key)[A-Za-z0-9_.-]*", re.IGNORECASE
)
_OPTION = re.compile(r"--[A-Za-z].*|-[A-Za-z]")  # the next option, not a value
_URL_USERINFO = re.compile(r"(://)[^/\s]*@")
_HIDDEN = "<hidden>"
#: a hidden value the command line reads: what runs may depend on it
_HIDDEN_READ = "<hidden, and read by the command line: what runs may depend on it>"
_CONSENT_KEY = token_bytes(32)


def _shown_variable(name: str, value: str, words: list[str]) -> str:
    """An exec plugin's environment variable as the consent shows it: ``NAME=value``, the
    value hidden where the name says it is a secret, never where the variable steers what
    loads (``PYTHONPATH``, ``NODE_OPTIONS``: a value the user must see). A hidden value the
    command line reads (``sh -c 'eval "$OIDC_CLIENT_SECRET"'`` runs it; ``--secret="$X"``
    passes it) stays hidden, the consent text is printed where a context is skipped, but is
    said to be read by the command: what runs may depend on it."""
    if names_a_secret(name) and not _STEERS_LOADING.search(name):
        hidden = _HIDDEN_READ if _named_in(name, words) else _HIDDEN
        return shlex.quote(name + "=") + hidden
    return shlex.quote(f"{name}={value}")


def _named_in(name: str, words: list[str]) -> bool:
    """Whether a command line names the environment variable ``name``: ``$NAME`` or
    ``${NAME}`` (case-sensitive, as a POSIX shell), PowerShell's ``$env:name`` (any case), or
    the name as a word of its own (``printenv NAME``, ``os.environ["NAME"]``)."""
    if not name:
        return False
    shell = re.compile(rf"\$\{{?{re.escape(name)}(?!\w)")
    powershell = re.compile(rf"\$env:{re.escape(name)}(?!\w)", re.IGNORECASE)
    as_word = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
    return any(shell.search(w) or powershell.search(w) or as_word.search(w) for w in words)


#: a variable that chooses the code a command loads (shown whatever its name says)
_STEERS_LOADING = re.compile(r"PATH|^LD_|^DYLD_|PYTHON|^NODE_|^PERL|^RUBY|JAVA|OPTIONS", re.I)


#: a command that runs the program its words name (``env``, ``sudo``), with its options that
#: take the next word as their value, and those that make what follows code (``env -S`` splits
#: a command line of its own; ``sudo -s`` and ``doas -s`` hand the words to a shell); by path
#: or not, ``.exe`` or not
_WRAPPERS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    name: (frozenset(takes_value.split()), frozenset(runs_code.split()))
    for name, takes_value, runs_code in [
        ("env", "-u --unset -C --chdir", "-S --split-string"),
        ("sudo", "-u -g -h -p -r -t -C -D -R -T -U --user --group --host --prompt --role --type"
         " --close-from --chdir --chroot --command-timeout --other-user",
         "-s --shell -i --login"),
        ("doas", "-u -C", "-s"),
        ("timeout", "-s --signal -k --kill-after", ""),
        ("nice", "-n --adjustment", ""),
        ("xargs", "-a -d -E -I -L -n -P -s --arg-file --delimiter --max-args --max-procs"
         " --max-chars --process-slot-var", ""),
        ("nohup", "", ""),
        ("exec", "-a", ""),
        ("busybox", "", ""),
    ]
}  # fmt: skip
#: a shell or an interpreter: code its words give runs (``sh -c``, ``python -c``, ``node -e``)
_RUNS_CODE = re.compile(
    r"(?:ba|z|da|k|c|tc|a|mk|fi|ya)?sh|python[\d.]*|pypy[\d.]*|perl[\d.]*|ruby[\d.]*"
    r"|node(?:js)?|bun|php[\d.]*|lua[\d.]*|tclsh[\d.]*|osascript"
)
#: one whose words are all code, or may be (``eval``, PowerShell's ``-Command``, which takes
#: the rest of the line, ``awk``'s program, ``deno eval``)
_ALL_CODE = re.compile(r"pwsh|powershell|[gmn]?awk|deno|eval")
#: an interpreter's option that gives code, or says the next word is (``-c``, ``-ec``, ``-e``,
#: ``-E``, php's ``-r``/``-B``, node's ``-p``; to be sure, any option of one dash with one of
#: those letters in it), or its long form
_CODE_LETTERS = re.compile(r"[bcepr]", re.IGNORECASE)
_LONG_CODE_OPTION = re.compile(r"--(?:eval|print|command)(?:=.*)?")
#: a variable set for the program (``env NAME=value``, ``sudo NAME=value``)
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*")


def _program(word: str) -> str:
    """The name of the program a command word runs: ``/usr/bin/env`` and ``env.exe`` are
    ``env``."""
    name = re.split(r"[\\/]", word)[-1].lower()
    return name.removesuffix(".exe")


def _code_words(words: list[str]) -> set[int]:
    """Which words of a command line are code (by index), the program followed past the
    wrappers that run it (``env``, ``sudo -u root``, ``timeout 30``): a shell's or
    interpreter's code option and its code (``sh -c [--] SCRIPT``; the words the script is
    given are its data), or all of them where all may be (``sudo -s``, ``env -S``,
    ``pwsh -Command``). An exec plugin is started without a shell: a word of any other
    program is no code, ``;`` and ``$(`` in it included."""
    at, wrapped_code = _program_at(words)
    if wrapped_code or (at < len(words) and _ALL_CODE.fullmatch(_program(words[at]))):
        return set(range(at, len(words)))
    if at >= len(words) or not _RUNS_CODE.fullmatch(_program(words[at])):
        return set()
    code: set[int] = set()
    awaited = False  # a code option was seen: its code is the next word that is no option
    for index in range(at + 1, len(words)):
        word = words[index]
        option = word.startswith("-") and len(word) > 1
        gives_code = option and (
            _LONG_CODE_OPTION.fullmatch(word)
            if word.startswith("--")
            else _CODE_LETTERS.search(word.partition("=")[0])
        )
        if gives_code or awaited:
            code.add(index)
            awaited = bool(gives_code) or option
    return code


def _program_at(words: list[str]) -> tuple[int, bool]:
    """Where the program a command line runs is, past its wrappers' options, variables and
    time limit (``env -u HOME X=1``, ``timeout -s KILL 30``); and whether a wrapper hands the
    words from there to a shell (``sudo -s``, ``env -S``): all code."""
    at = 0
    while at < len(words) and (name := _program(words[at])) in _WRAPPERS:
        takes_value, runs_code = _WRAPPERS[name]
        at += 1
        operands = 1 if name == "timeout" else 0  # its time limit comes before the program
        while at < len(words):
            word = words[at]
            if word == "--":
                at += 1
                break
            if word.startswith("--"):
                if word.partition("=")[0] in runs_code:
                    return at, True
                at += 2 if word in takes_value else 1  # ``--user root``, ``--user=root``
            elif word.startswith("-") and len(word) > 1:
                for index, letter in enumerate(word[1:], start=2):  # ``-Eu root``, ``-uroot``
                    if "-" + letter in runs_code:
                        return at, True
                    if "-" + letter in takes_value:
                        at += index == len(word)  # its value is the next word
                        break
                at += 1
            elif _ASSIGNMENT.fullmatch(word):
                at += 1
            elif operands:
                operands, at = operands - 1, at + 1
            else:
                break
    return at, False


def _shown_command(words: list[str]) -> tuple[str, bool, bool]:
    """A command line as it may be shown: the values of secret-named options and the user
    info of URLs left out, each word one printable line; whether anything was hidden, and
    whether a word was not printable as it is. Nothing is hidden of the code a shell or an
    interpreter runs (``sh -c -- '--token=$(...)'``: the hidden word would be the script):
    the consent shows what runs (``_code_words``)."""
    out: list[str] = []
    hidden = False
    after_option = False
    code = _code_words(words)
    for at, word in enumerate(words):
        if at in code:
            out.append(shlex.quote(word))
            after_option = False
            continue
        if after_option and not _OPTION.fullmatch(word):  # ``--token VALUE``
            out.append(_HIDDEN)
            hidden, after_option = True, False
            continue
        name, equals, _value = word.partition("=")
        after_option = False
        if _SECRET_OPTION.fullmatch(name):
            if equals:  # ``--token=VALUE``
                out.append(shlex.quote(name + "=") + _HIDDEN)
                hidden = True
                continue
            after_option = True
        cleaned = _URL_USERINFO.sub(r"\1" + _HIDDEN + "@", word)
        hidden = hidden or cleaned != word
        out.append(shlex.quote(cleaned))
    shown = " ".join(out)
    return one_line(shown), hidden, one_line(shown) != shown


def bearer_token(payload: dict[str, Any] | None) -> str | None:
    """The static token of a stored kubeconfig context, if it has one (for Prometheus auth)."""
    if not payload:
        return None
    users = payload.get("users") or []
    user = users[0].get("user", {}) if users else {}
    token = user.get("token")
    return str(token) if token else None
