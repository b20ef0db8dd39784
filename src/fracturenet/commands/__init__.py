"""The ``fracturenet`` subcommands, one module each; importing this package registers them."""

from fracturenet.commands import demo, info  # noqa: F401

__all__: list[str] = []
