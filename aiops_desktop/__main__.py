"""Entry point: ``aiops-desktop`` and ``python -m aiops_desktop``."""

from __future__ import annotations

import os
import re
import sys

from aiops_desktop.cli import main as cli_main
from aiops_desktop.cli.args import tolerant_stdio
from aiops_desktop.settings import packaged

#: the interpreter options multiprocessing repeats before ``-c`` (its
#: ``util._args_from_interpreter_flags``): flags, ``-W`` filters, and ``-X`` with a value
_INTERPRETER_FLAG = re.compile(r"-[OdBSvbqIEsP]+|-W.+")
_SPAWN_KEYWORD = r"(?:tracker_fd|pipe_handle|parent_pid)=\d+"
#: the only code run from the command line, with what follows it: multiprocessing's spawn
#: child (spawn.get_command_line) and its resource tracker (resource_tracker.ensure_running)
_MULTIPROCESSING: tuple[tuple[re.Pattern[str], list[str]], ...] = (
    (
        re.compile(rf"from multiprocessing\.spawn import spawn_main; "
                   rf"spawn_main\({_SPAWN_KEYWORD}(?:, {_SPAWN_KEYWORD})*\)"),
        ["--multiprocessing-fork"],
    ),
    (re.compile(r"from multiprocessing\.resource_tracker import main;main\(\d+\)"), []),
)  # fmt: skip


def multiprocessing_code(argv: list[str]) -> tuple[str, list[str]] | None:
    """``(code, arguments after it)`` when ``argv`` is one of multiprocessing's own command
    lines for a child, else None: the app's arguments. Started with the packaged launcher
    (its sys.executable), the detection process would otherwise be a usage error. Only these
    exact forms, whose numbers are the only variable part, are run: any other ``-c`` is the
    CLI's to refuse, so no argument a person or script passes becomes code (and one who may
    run this app may run its Python anyway: it is their own account's)."""
    at = 0
    while at < len(argv) and argv[at] != "-c":
        if argv[at] == "-X":
            at += 1  # its value
        elif not _INTERPRETER_FLAG.fullmatch(argv[at]):
            return None
        at += 1
    if at + 1 >= len(argv):
        return None
    code, rest = argv[at + 1], argv[at + 2 :]
    for form, after in _MULTIPROCESSING:
        if form.fullmatch(code) and rest == after:
            return code, rest
    return None


def main() -> None:
    # everything the app writes (cache, logs, reports, captures) is its owner's alone
    os.umask(0o077)
    child = multiprocessing_code(sys.argv[1:]) if packaged() else None
    if child is not None:  # as ``python -c`` runs it: argv from "-c", in __main__'s names
        code, sys.argv[:] = child[0], ["-c", *child[1]]
        exec(compile(code, "<string>", "exec"), vars(sys.modules["__main__"]))  # noqa: S102
        return
    tolerant_stdio()
    sys.exit(cli_main(sys.argv[1:]))


if __name__ == "__main__":
    main()
