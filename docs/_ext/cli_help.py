"""Sphinx extension: ``.. fracturenet-cli::`` renders every subcommand's ``--help``.

The text comes from :func:`fracturenet.cli.build_parser` at build time, so the CLI page
cannot drift from the parser (no hand-kept option lists).
"""

from __future__ import annotations

import argparse
import os

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


class CliHelp(SphinxDirective):
    """One section per subcommand: its description and its ``--help`` text."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from fracturenet import commands  # noqa: F401  (registers the subcommands)
        from fracturenet.cli import build_parser

        os.environ["COLUMNS"] = "92"  # argparse wraps to the terminal; fix it for the page
        parser = build_parser()
        parser.prog = "fracturenet"
        out: list[nodes.Node] = [nodes.literal_block(text=parser.format_help())]
        for name, sub in _subparsers(parser).items():
            section = nodes.section(ids=[f"cli-{name}"])
            section += nodes.title(text=f"fracturenet {name}")
            section += nodes.paragraph(text=sub.description or "")
            section += nodes.literal_block(text=sub.format_help(), language="text")
            out.append(section)
        return out


def setup(app: Sphinx) -> dict:
    app.add_directive("fracturenet-cli", CliHelp)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
