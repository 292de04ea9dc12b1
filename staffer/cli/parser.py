"""The one argparse parser class of the command line: usage errors are one line, exit 2.

>>> OneLineParser(prog="staffer x").format_usage().startswith("usage: staffer x")
True
"""

from __future__ import annotations

import argparse
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors print one line (no usage block), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")
