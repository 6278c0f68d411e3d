"""How ``--help`` reads: no value type after a flag, and a command's description wrapped as one
paragraph.

typer (0.29) prints every option's type in the rich help, ``--quiet <bool>`` included, though a flag
takes no value; and in the list of commands it keeps the line breaks of a docstring's first
paragraph, so a description wrapped in the source broke mid-sentence on the terminal ("exit 1 on a"
/ "problem."). :class:`Command` and :class:`Group` leave out a flag's type; :func:`described` gives
a command its docstring with each paragraph on one line, for the terminal to wrap.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from typer.core import TyperCommand, TyperGroup, TyperOption


class _Flag(TyperOption):
    """A flag (``--quiet``, ``--ladder/--no-ladder``): its help shows no value type."""

    def display_type_rich(self, ctx: Any) -> str | None:
        """No type: a flag takes no value."""
        return None


def _untyped_flags(params: list[Any]) -> list[Any]:
    for param in params:
        if type(param) is TyperOption and param.is_flag:
            param.__class__ = _Flag  # the same option, printed without "<bool>"
    return params


class Command(TyperCommand):
    """A command whose help shows no type after a flag."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The parameters, flags printed without a type."""
        return _untyped_flags(super().get_params(ctx))


class Group(TyperGroup):
    """A group (``initsens``, ``initsens data``) whose help shows no type after a flag."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The parameters, flags printed without a type."""
        return _untyped_flags(super().get_params(ctx))


def described(command: Callable[..., Any]) -> str:
    """``command``'s docstring with each paragraph on one line (the terminal wraps it, not the
    source).
    """
    paragraphs = inspect.cleandoc(command.__doc__ or "").split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)
