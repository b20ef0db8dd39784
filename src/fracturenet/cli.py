"""Command-line front end: ``fracturenet <command>`` and ``python -m fracturenet``.

Each subcommand is a thin layer over the public API. Heavy imports (TensorFlow) happen
inside the command handlers, so ``fracturenet --help`` is instant.

Exit codes: 0 success, 2 usage error, 1 failure (a one-line message; the traceback only with
``--debug``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

# Importing the commands package registers every subcommand; the command modules import only
# the registry below them, never this module, so there is no import cycle.
from fracturenet import commands  # noqa: F401
from fracturenet.commands._registry import COMMANDS as _COMMANDS
from fracturenet.commands._registry import UsageError, command
from fracturenet.console import quiet_tensorflow_start

__all__ = ["main", "build_parser", "command", "UsageError"]


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """One help style: every option's default shown once, as ``(default: X)``."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            not action.option_strings
            or "(default" in text
            or action.default is None
            or action.default is False  # store_true flags (0 is a default worth showing)
            or action.default == argparse.SUPPRESS
        ):
            return text
        return f"{text} (default: %(default)s)"


def build_parser() -> argparse.ArgumentParser:
    """Returns the argument parser with every registered subcommand."""
    from fracturenet import __version__

    parser = argparse.ArgumentParser(
        prog="fracturenet",
        description="Bone-fracture classification in X-rays with transfer learning.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fracturenet {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show full tracebacks and TensorFlow's start-up logs"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (add_args, help_text, example) in _COMMANDS.items():
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=f"example:\n  {example}",
            formatter_class=_HelpFormatter,
        )
        # SUPPRESS: an absent subcommand --debug must not overwrite `fracturenet --debug CMD`
        p.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show full tracebacks and TensorFlow's start-up logs",
        )
        p.set_defaults(handler=add_args(p))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code.

    Args:
        argv: Arguments without the program name. Defaults to ``sys.argv[1:]``.

    Returns:
        0 on success, 1 on failure, 2 on a usage error.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 0 for --help/--version, 2 for usage errors
        return int(exc.code or 0)
    try:
        # TensorFlow's CUDA/absl start-up lines, without hiding other errors (console.py)
        quiet_tensorflow_start(keep_logs=True if args.debug else None)
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("fracturenet: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI's job is a one-line message
        if args.debug:
            raise
        from fracturenet.commands._errors import cli_error_message

        print(f"fracturenet {args.command}: error: {cli_error_message(exc, args)}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
