"""Entry point: ``aiops-desktop`` and ``python -m aiops_desktop``."""

from __future__ import annotations

import os
import sys

from aiops_desktop.cli import main as cli_main


def main() -> None:
    # everything the app writes (cache, logs, reports, captures) is its owner's alone
    os.umask(0o077)
    sys.exit(cli_main(sys.argv[1:]))


if __name__ == "__main__":
    main()
