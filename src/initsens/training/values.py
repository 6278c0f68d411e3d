"""How a value from a TOML file, a preset or the command line becomes a setting's value: read by the
setting's declared type (a list as 'a,b' or an array, 'all' for every choice of a factor), a model
or initializer of the user's resolved by import path, a model's hyperparameter by the type its model
declares; every failure a one-line error naming where the value came from.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

from initsens.errors import InitsensError
from initsens.models import Hyperparameter
from initsens.models.plugins import resolve
from initsens.settings import expands_all, row
from initsens.settings import kind as setting_kind
from initsens.training.choices import choices_of


def model_tables(items: Sequence[str]) -> dict[str, dict[str, str]]:
    """``MODEL.KEY=VALUE`` strings (``--model-set``) as per-model tables, as ``[model.MODEL]`` in
    TOML would hold them.

    >>> model_tables(["BetaVAE.beta=2", "IWAE.lr=0.01", "BetaVAE.epochs=5"])
    {'BetaVAE': {'beta': '2', 'epochs': '5'}, 'IWAE': {'lr': '0.01'}}
    """
    tables: dict[str, dict[str, str]] = {}
    for item in items:
        target, equals, value = item.partition("=")
        model, dot, key = target.strip().rpartition(".")
        if not (equals and dot and model and key):
            raise InitsensError(
                f"--model-set {item!r}: write MODEL.KEY=VALUE, e.g. IWAE.iwae_k=10 or "
                "BetaVAE.beta=2"
            )
        tables.setdefault(model, {})[key] = value.strip()
    return tables


def as_list(value: Any) -> list:
    """A list from 'a,b' (trimmed, empty items dropped), a list or tuple, or one value."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def convert_bool(value: Any) -> bool:
    """A bool from True/False or true/false, yes/no, 1/0 (any case)."""
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
        return value.lower() in ("true", "yes", "1")
    if isinstance(value, bool):
        return value
    raise ValueError(value)


def to_int(value: Any, key: str, source: str) -> int:
    """A whole number (``3`` or ``3.0``, not ``3.5`` or a bool), or a one-line error naming ``key``
    and ``source``.
    """
    try:
        number = float(value)
        if isinstance(value, bool) or not number.is_integer():
            raise ValueError
        return int(number)
    except (TypeError, ValueError):
        raise InitsensError(f"{source}: {key} = {value!r} is not a whole number") from None


def convert_hyperparameter(declared: Hyperparameter, value: Any, source: str) -> Any:
    """A model hyperparameter's value, read by its declared type (as it is where the type is not one
    of bool, int, float, str or their unions), or a one-line error.
    """
    if not readable(declared.kind):
        return value
    try:
        return read(declared.kind, value, declared.name, source)
    except (TypeError, ValueError, InitsensError):
        raise InitsensError(
            f"{source}: {declared.name} = {value!r} is not a valid "
            f"{getattr(declared.kind, '__name__', declared.kind)}"
        ) from None


#: The swept factors whose values may be the user's own (import path or object), and their kind.
PLUGGABLE = {"models": "model", "inits": "initializer"}


def to_float(value: Any) -> float:
    """A finite-or-infinite number, not a bool or NaN."""
    number = float(value)
    if isinstance(value, bool) or math.isnan(number):
        raise ValueError(value)
    return number


def readable(kind: Any) -> bool:
    """Whether :func:`read` reads values of type ``kind``."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return all(readable(member) for member in typing.get_args(kind))
    return kind in (bool, int, float, str, type(None))


def read(kind: Any, value: Any, key: str, source: str) -> Any:
    """One value of type ``kind`` (bool, int, float or str; a union tries its members in order, so
    ``float | str`` reads a number where it can, and ``str | None`` keeps None).
    """
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(kind):
            return None
        for member in (m for m in typing.get_args(kind) if m is not type(None)):
            try:
                return read(member, value, key, source)
            except (TypeError, ValueError, InitsensError):
                continue
        raise ValueError(value)
    readers: dict[Any, Callable[[Any], Any]] = {
        bool: convert_bool,
        int: lambda v: to_int(v, key, source),
        float: to_float,
        str: str,
    }
    return readers[kind](value)


def convert(key: str, value: Any, source: str) -> Any:
    """A TOML or command-line value as the field ``key`` holds it, or a one-line error."""
    setting, kind = row(key), setting_kind(key)
    if (
        key in PLUGGABLE
    ):  # a model or initializer of the user's, by import path or as the object: its name
        value = [resolve(PLUGGABLE[key], item) for item in as_list(value)]
    try:
        if (
            typing.get_origin(kind) is tuple
        ):  # a list: 'a,b', a TOML array, or 'all' for every choice
            items = as_list(value)
            allowed = (
                choices_of(setting) if items == ["all"] and setting.metadata["choices"] else []
            )
            if allowed and expands_all(setting, allowed):
                return tuple(allowed)
            return tuple(read(typing.get_args(kind)[0], item, key, source) for item in items)
        return read(kind, value, key, source)
    except (TypeError, ValueError):
        raise InitsensError(f"{source}: {key} = {value!r} is not a valid {setting.type}") from None
