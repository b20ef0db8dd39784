"""Every subcommand's ``--help`` follows one style (walked over the registered commands)."""

from __future__ import annotations

import argparse
import re

import pytest

from fracturenet import commands  # noqa: F401  (registers the subcommands)
from fracturenet.cli import _COMMANDS, build_parser

# info prints nothing but its result; every other command reports progress
QUIET_EXEMPT = {"info"}


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("name", sorted(_COMMANDS))
def test_every_option_has_help_and_its_default_once(name):
    sub = _subparsers()[name]
    formatter = sub._get_formatter()
    for action in sub._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        flag = "/".join(action.option_strings) or action.dest
        assert action.help, f"{name} {flag}: no help text"
        text = formatter._expand_help(action) if action.option_strings else action.help
        assert len(re.findall(r"\(default", text, re.I)) <= 1, f"{name} {flag}: {text!r}"
        assert not re.search(r"\(default [^:]|Default:|default\)", text), f"{name} {flag}"
        shown = action.default not in (None, False, argparse.SUPPRESS) or action.default == 0
        if action.option_strings and shown and not isinstance(action.default, bool):
            assert "(default: " in text, f"{name} {flag}: default {action.default!r} not shown"


@pytest.mark.parametrize("name", sorted(_COMMANDS))
def test_common_flags_are_everywhere(name):
    flags = {f for a in _subparsers()[name]._actions for f in a.option_strings}
    assert "--debug" in flags
    if name not in QUIET_EXEMPT:
        assert {"-q", "--quiet"} <= flags, f"{name} has no -q/--quiet"


def test_shared_flags_read_the_same_everywhere():
    """Flags that mean the same thing in every subcommand have one help text."""
    shared = ("--debug", "--quiet", "--batch-size", "--precision")
    seen: dict[str, set[str]] = {}
    for sub in _subparsers().values():
        for action in sub._actions:
            for flag in set(action.option_strings) & set(shared):
                seen.setdefault(flag, set()).add(re.sub(r" \(default: .*\)$", "", action.help))
    assert {flag: texts for flag, texts in seen.items() if len(texts) > 1} == {}


def test_export_description_names_every_format():
    description = _subparsers()["export"].description.lower()
    for fmt in ("savedmodel", "tflite", "onnx"):
        assert fmt in description
