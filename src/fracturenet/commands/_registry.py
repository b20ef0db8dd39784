"""The subcommand registry and the usage error: what the command modules need from the CLI.

The command modules register themselves here with :func:`command`; :mod:`fracturenet.cli`
builds the parser from :data:`COMMANDS`. Keeping both below the command modules means the
CLI imports the commands and never the other way round (no import cycle).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

__all__ = ["COMMANDS", "UsageError", "command"]

#: name -> (function that adds the arguments and returns the handler, help, example)
COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], Callable[..., int]], str, str]] = {}


def command(name: str, help_text: str, example: str) -> Callable[..., Any]:
    """Registers a subcommand: the decorated function adds arguments and returns the handler.

    Args:
        name: The subcommand's name (``fracturenet NAME``).
        help_text: One line for ``fracturenet --help`` and the subcommand's description.
        example: One example command line, shown at the end of the subcommand's help.

    Returns:
        A decorator that registers the function and returns it unchanged.
    """

    def deco(add_args: Callable[[argparse.ArgumentParser], Callable[..., int]]) -> Any:
        COMMANDS[name] = (add_args, help_text, example)
        return add_args

    return deco


class UsageError(Exception):
    """A bad combination of command-line arguments (exit code 2)."""
