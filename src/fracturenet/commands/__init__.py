"""The ``fracturenet`` subcommands, one module each; importing this package registers them."""

from fracturenet.commands import (  # noqa: F401  (imports register the subcommands)
    audit,
    compare,
    demo,
    evaluate,
    explain,
    export,
    info,
    predict,
    train,
)

__all__: list[str] = []
