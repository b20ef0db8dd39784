"""How an error reaches a command-line user: one line, the file, and flags instead of kwargs.

Library messages name Python arguments (``on_error='skip'``, ``overwrite=True``); a CLI user
needs the matching flag, or nothing where the command has none. A decode error raised inside
TensorFlow arrives wrapped with an embedded Python traceback; the original error (file and
reason) is shown instead. Any other message keeps only what precedes an embedded traceback.
"""

from __future__ import annotations

import argparse
import re

__all__ = ["cli_error_message"]

# (Python option in a message, flag, argparse dest the command must have)
_FLAGS = (
    ("on_error='skip'", "--on-error skip", "on_error"),
    ("resume=True", "--resume", "resume"),
    ("overwrite=True", "--overwrite", "overwrite"),
)
_NO_FLAG = (re.compile(r",? or pass on_empty='skip' to leave the class out"),)


def _to_flags(text: str, args: argparse.Namespace) -> str:
    hint, sep, received = text.partition("Received:")
    for option, flag, dest in _FLAGS:
        if hasattr(args, dest):
            hint = hint.replace(f"{option} ({flag})", flag).replace(f"pass {option}", option)
            hint = hint.replace(option, f"use {flag}" if option in hint else flag)
        else:
            hint = re.sub(rf",? or (pass )?{re.escape(option)}[^.,;]*", "", hint)
    for pattern in _NO_FLAG:
        hint = pattern.sub("", hint)
    return hint + sep + received


def cli_error_message(exc: BaseException, args: argparse.Namespace) -> str:
    """The one-line ``Name: message`` a command prints for ``exc``.

    Args:
        exc: The error that ended the command.
        args: The command's parsed arguments (which flags it offers).

    Returns:
        ``"ImageDecodeError: Cannot read image ..."`` and the like, without tracebacks.

    Example:
        >>> from fracturenet.exceptions import ImageDecodeError
        >>> ns = argparse.Namespace(on_error="raise")
        >>> cli_error_message(ImageDecodeError("/d/x.jpg", "truncated JPEG"), ns)[:56]
        "ImageDecodeError: Cannot read image '/d/x.jpg': truncate"
        >>> "--on-error skip" in cli_error_message(ImageDecodeError("/d/x.jpg", "bad"), ns)
        True
    """
    if type(exc).__module__.startswith(("tensorflow", "keras")) or "Traceback" in str(exc):
        from fracturenet.data.bad_images import decode_error_from

        exc = decode_error_from(exc) or exc
    text = str(exc)
    if "Traceback (most recent call last)" in text:
        text = text.split("Traceback (most recent call last)")[0].rstrip(" :\n")
        text += " (run with --debug for the full traceback)"
    text = _to_flags(text, args)
    return f"{type(exc).__name__}: {text}"
