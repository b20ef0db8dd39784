"""Command-line interface (placeholder until the foundation lands)."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Runs the ``fracturenet`` command."""
    raise SystemExit("fracturenet CLI: not built yet")
