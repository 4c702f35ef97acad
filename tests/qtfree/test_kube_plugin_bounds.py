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
