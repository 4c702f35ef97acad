"""A kubeconfig's exec credential plugin is ended when its caller stops waiting, and when it
prints too much: the Kubernetes client's own runner waited for ever and held all it printed."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from collectors import kube_config, kubernetes
from collectors.errors import CollectorTimeout, KubeConfigInvalid
from collectors.kube_config import kubeconfig_for_token, load_api_client


def _with_plugin(tmp_path: Path, body: str) -> dict[str, Any]:
    plugin = tmp_path / "plugin.py"
    plugin.write_text(body)
    config = kubeconfig_for_token("https://127.0.0.1:6443")
    config["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(plugin), str(tmp_path)],
            "interactiveMode": "Never",
        }
    }
    return config


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _loaders() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name.startswith("kube-load")]


@pytest.mark.asyncio
async def test_a_plugin_that_never_answers_is_ended_with_its_load(tmp_path: Path) -> None:
    """It used to run on after the caller's timeout (until it chose to end), holding one of
    the four loader threads: four such plugins and no kubeconfig loaded again."""
    config = _with_plugin(tmp_path, (
        "import os, sys, time\n"
        "open(os.path.join(sys.argv[1], 'pid'), 'w').write(str(os.getpid()))\n"
        "time.sleep(120)\n"
    ))  # fmt: skip
    with pytest.raises(CollectorTimeout, match="did not answer within 1 s"):
        await kubernetes.load_client(config, "lab-1", within_s=1)
    pid = int((tmp_path / "pid").read_text())
    end = time.monotonic() + 5
    while (_alive(pid) or _loaders()) and time.monotonic() < end:
        await asyncio.sleep(0.05)
    assert not _alive(pid), "the plugin is still running"
    assert not _loaders()


def test_a_plugin_that_prints_too_much_is_ended_and_refused(tmp_path: Path) -> None:
    config = _with_plugin(tmp_path, (
        "import sys\n"
        "chunk = b'x' * 65536\n"
        "for _ in range(10_000):\n"  # 640 MB if read whole
        "    sys.stdout.buffer.write(chunk)\n"
    ))  # fmt: skip
    with pytest.raises(KubeConfigInvalid, match="printed more than 1,048,576 bytes"):
        load_api_client(config, "lab-1", plugin_within_s=20)


def test_a_plugins_answer_is_read_as_the_client_reads_it(tmp_path: Path) -> None:
    """The runner with limits still hands the plugin KUBERNETES_EXEC_INFO and takes its
    token; a failing plugin's own words reach the message."""
    config = _with_plugin(tmp_path, (
        "import json, os, sys\n"
        "info = json.loads(os.environ['KUBERNETES_EXEC_INFO'])\n"
        "assert info['kind'] == 'ExecCredential' and info['spec']['interactive'] is False\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1',\n"
        "                  'kind': 'ExecCredential', 'status': {'token': 'tok-from-plugin'}}))\n"
    ))  # fmt: skip
    api, _ = load_api_client(config, "lab-1")
    try:
        assert api.configuration.api_key["BearerToken"] == "Bearer tok-from-plugin"
    finally:
        api.close()
    failing = _with_plugin(tmp_path, "import sys\nsys.stderr.write('no login yet')\nsys.exit(3)\n")
    with pytest.raises(KubeConfigInvalid, match=r"process returned 3\. no login yet"):
        load_api_client(failing, "lab-1")
    assert kube_config.MOST_PLUGIN_OUTPUT == 1 << 20


_CREDENTIAL = (
    '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",'
    '"status":{"token":"tok-from-plugin"}}'
)


def _with_script(tmp_path: Path, body: str) -> dict[str, Any]:
    """A kubeconfig whose exec plugin is a shell script (given ``tmp_path`` as $1)."""
    plugin = tmp_path / "plugin.sh"
    plugin.write_text("#!/bin/sh\n" + body)
    plugin.chmod(0o700)
    config = kubeconfig_for_token("https://127.0.0.1:6443")
    config["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": str(plugin),
            "args": [str(tmp_path)],
            "interactiveMode": "Never",
        }
    }
    return config


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie left to a PID 1 that does not reap counts as ended)."""
    if not Path("/proc/self/stat").exists():
        return _alive(pid)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _leftover_ended(pid_file: Path) -> bool:
    """Whether the process the plugin left (its pid in ``pid_file``) has ended; ended here
    when not, so a failing run leaves nothing behind."""
    pid = int(pid_file.read_text())
    end = time.monotonic() + 2
    while _running(pid) and time.monotonic() < end:
        time.sleep(0.05)
    if _running(pid):
        os.kill(pid, 9)
        return False
    return True


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script as the plugin")
def test_a_wrapper_plugins_own_plugin_is_ended_at_the_limit(tmp_path: Path) -> None:
    """A wrapper script (aws or kubelogin behind #!/bin/sh): only the wrapper used to be
    killed, the plugin it ran held the output pipe, and the load waited for it (40 s for a
    2 s limit), then said it was ended when it was not."""
    config = _with_script(
        tmp_path, 'sh -c \'echo $$ > "$1/pid"; exec sleep 40\' plugin "$1"\necho never\n'
    )
    start = time.monotonic()
    with pytest.raises(KubeConfigInvalid, match="did not answer within 2 s"):
        load_api_client(config, "lab-1", plugin_within_s=2)
    took = time.monotonic() - start
    assert _leftover_ended(tmp_path / "pid"), "the wrapped plugin is still running"
    assert took < 4, f"the load took {took:.1f} s for a 2 s limit"
    assert not _loaders()


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script as the plugin")
def test_a_plugin_that_answers_and_leaves_a_child_on_its_output(tmp_path: Path) -> None:
    """A plugin that prints its credential and exits 0, leaving a background child on its
    stdout (``agent &``): the load used to wait for that child (40 s for a 3 s limit). Its
    answer is used, and the child is ended."""
    config = _with_script(tmp_path, f"sleep 40 &\necho $! > \"$1/pid\"\necho '{_CREDENTIAL}'\n")
    start = time.monotonic()
    api, _ = load_api_client(config, "lab-1", plugin_within_s=3)
    took = time.monotonic() - start
    try:
        assert api.configuration.api_key["BearerToken"] == "Bearer tok-from-plugin"
    finally:
        api.close()
    assert _leftover_ended(tmp_path / "pid"), "the plugin's child is still running"
    assert took < 5, f"the load took {took:.1f} s for a 3 s limit"
    assert not _loaders()
