"""Old import paths of moved public names: they keep working, with a DeprecationWarning.

A module whose names moved defines ``__getattr__ = moved_names(__name__, {...})``. The new
home is imported only when an old name is first used (by its dotted path, so the old module
does not depend on the new one at import time and the layering contracts stay honest).

Example:
    >>> import warnings
    >>> getter = moved_names("old.place", {"sqrt": "math"})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     getter("sqrt")(4.0)
    2.0
    >>> print(caught[0].category.__name__, caught[0].message)
    DeprecationWarning `old.place.sqrt` moved to `math.sqrt`; import it from there. The old path will be removed in a future release.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["moved_names"]


def moved_names(old_module: str, moved: Mapping[str, str]) -> Callable[[str], Any]:
    """Returns a module ``__getattr__`` that serves moved names from their new modules.

    Args:
        old_module: Dotted name of the module the names used to live in (its ``__name__``).
        moved: Each moved name -> the dotted name of the module that defines it now.

    Returns:
        A function for the old module's ``__getattr__`` (PEP 562): it warns with a
        :class:`DeprecationWarning` naming the new path, then returns the object; any other
        name raises :class:`AttributeError`.
    """

    def __getattr__(name: str) -> Any:
        new_module = moved.get(name)
        if new_module is None:
            raise AttributeError(f"module {old_module!r} has no attribute {name!r}")
        warnings.warn(
            f"`{old_module}.{name}` moved to `{new_module}.{name}`; import it from there. "
            "The old path will be removed in a future release.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(new_module), name)

    return __getattr__
