"""Write the man page of ``aiops-desktop`` from the command line's own help (roff, to stdout):
the synopsis, the global options, every command with its options, defaults and examples, and
the exit codes. `make package` puts it in the Debian package (man aiops-desktop)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiops_desktop import __version__  # noqa: E402
from aiops_desktop.cli import build_parser  # noqa: E402
from aiops_desktop.models.errors import EXIT_CODES_TEXT  # noqa: E402


def roff(text: str) -> str:
    """Text as roff shows it: backslashes escaped, no line read as a request."""
    lines = []
    for line in text.replace("\\", "\\e").splitlines():
        lines.append("\\&" + line if line.startswith((".", "'")) else line)
    return "\n".join(lines)


def commands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> list[tuple[str, argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:  # argparse keeps no public list of its subparsers
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((f"{prefix}{name}", sub))
                found += commands(sub, f"{prefix}{name} ")
    return found


def manpage() -> str:
    parser = build_parser()
    out = [
        f'.TH AIOPS-DESKTOP 1 "" "AIOps Desktop {__version__}" "User Commands"',
        ".SH NAME",
        "aiops-desktop \\- a NOC console for OpenShift/Kubernetes fleets (GPU, telecom CNF)",
        ".SH SYNOPSIS",
        ".B aiops-desktop",
        "[\\fIOPTIONS\\fR] [\\fICOMMAND\\fR [\\fIARGS\\fR]]",
        ".SH DESCRIPTION",
        roff(
            "Without a command, opens the window. With one, does it and prints text (or JSON "
            "with --json) for scripts. Read-only toward clusters; credentials only in the OS "
            "keyring."
        ),
        ".SH OPTIONS AND COMMANDS",
        ".nf",
        roff(parser.format_help()),
        ".fi",
    ]
    for name, sub in commands(parser):
        out += [f".SS {roff(name)}", ".nf", roff(sub.format_help()), ".fi"]
    out += [
        ".SH EXIT STATUS",
        roff(EXIT_CODES_TEXT + "."),
        ".SH SEE ALSO",
        "/usr/share/doc/aiops-desktop/README.md and the app's Help menu.",
    ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(manpage())
