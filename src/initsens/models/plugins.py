"""Your own models and initializers, measured like the built-in ones: by import path
(``mypkg.vae:MyVAE``), from Python (a class or function, or :func:`register_model` /
:func:`register_initializer`) or as installed plugins (entry points in the groups
``initsens.models`` and ``initsens.initializers``, loaded on first use).

Each is tried on a tiny network when it is registered, so a broken one is one line naming it. The
contract: the docs' :doc:`Your own model and initializer </guide/own-model>` page.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import Any

import torch

from initsens.errors import InitsensError
from initsens.models.base import MODELS, VAE, Objective
from initsens.models.initializers import INITIALIZERS, Initializer, initialize

#: The entry-point groups installed plugins register under: group -> kind.
GROUPS = {"initsens.models": "model", "initsens.initializers": "initializer"}
#: Models that cannot train as a stacked ensemble, and why: they train one run at a time.
_UNSTACKABLE: dict[str, str] = {}
#: (kind, name) -> the import path of every entry registered from outside initsens (for other
#: processes).
_PATHS: dict[tuple[str, str], str] = {}


def _import(path: str, kind: str) -> Any:
    """The object at ``module:attribute``, or a one-line error."""
    module, _, attribute = path.partition(":")
    if not module or not attribute:
        raise InitsensError(
            f"{path!r} is not a {kind} import path; write module:name, e.g. mypkg.vae:MyVAE"
        )
    if importlib.util.find_spec(module.split(".")[0]) is None and os.getcwd() not in sys.path:
        sys.path.append(
            os.getcwd()
        )  # a module file in the current folder, as `python -m` would find it
    try:
        found = importlib.import_module(module)
    except Exception as exc:
        raise InitsensError(
            f"cannot import {module!r} for {kind} {path!r}: {type(exc).__name__}: {exc}"
        ) from None
    try:
        for part in attribute.split("."):
            found = getattr(found, part)
    except AttributeError:
        raise InitsensError(
            f"module {module!r} has no {attribute!r} (from {kind} {path!r})"
        ) from None
    return found


def _origin(obj: Any) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


def _try_model(cls: type[VAE], source: str) -> str:
    """Build ``cls`` on 8 genes and run one batch, plain and stacked; a one-line error when the
    plain pass breaks the contract. Returns why it cannot be stacked ('' when it can).
    """
    generator = torch.Generator().manual_seed(0)
    try:
        model = cls(8, [4], 2, "leaky_relu")
        initialize(model, "default", seed=0)
        x = torch.randn(3, 8, generator=generator)
        mu, logvar = model.encode(x)
        out = model.objective(x, mu, logvar, generator)
    except InitsensError:
        raise
    except Exception as exc:
        raise InitsensError(
            f"model {source} fails on a test batch: {type(exc).__name__}: {exc}"
        ) from None
    if (
        not isinstance(out, tuple)
        or len(out) not in (2, 3)
        or not all(isinstance(t, torch.Tensor) for t in out[:2])
    ):
        raise InitsensError(
            f"model {source}: objective() must return Objective(loss, x_hat[, extra_metrics]); "
            f"it returned {type(out).__name__}"
        )
    loss, x_hat = Objective(*out)[:2]
    if loss.dim() != 0 or tuple(x_hat.shape) != tuple(x.shape):
        raise InitsensError(
            f"model {source}: objective() must return the batch-mean loss (a 0-d tensor) and x_hat "
            f"shaped like x {tuple(x.shape)}; got loss {tuple(loss.shape)}, x_hat "
            f"{tuple(x_hat.shape)}"
        )
    if not torch.isfinite(loss):
        raise InitsensError(
            f"model {source}: objective() gives a non-finite loss ({loss.item()}) on a test batch"
        )
    from initsens.models.stacked import stack_models

    try:
        stacked = stack_models([model, model])
    except ValueError:
        return (
            "it holds parameters outside the standard encoder and decoder, which the members "
            "would share"
        )
    try:
        xs = x.expand(2, *x.shape)
        mu, logvar = stacked.encode(xs)
        loss = Objective(*stacked.objective(xs, mu, logvar, [generator, generator])).loss
        if tuple(loss.shape) == (2,):
            return ""
    except Exception:
        pass
    return "its objective does not run on a stacked batch (a leading member axis)"


def register_model(
    cls: type[VAE] | None = None, *, name: str | None = None, source: str | None = None
) -> Any:
    """Register a model class under ``name`` (default: the class's name) after trying it on a test
    batch; usable as a decorator. Returns the class.
    """

    def add(model: type[VAE]) -> type[VAE]:
        where = source or (_origin(model) if isinstance(model, type) else repr(model))
        if not (isinstance(model, type) and issubclass(model, VAE)):
            raise InitsensError(
                f"{where} is not an initsens model: a model subclasses initsens.models.VAE and "
                "defines objective() (README: Your own model)"
            )
        key = name or model.__name__
        if key in MODELS:  # the same class again, or a one-line error for a name already taken
            MODELS.add(key, model, where)
            return model
        alone = _try_model(model, where)
        MODELS.add(key, model, where)
        _PATHS["model", key] = _origin(model)
        if alone:
            _UNSTACKABLE[key] = alone
        return model

    return add if cls is None else add(cls)


def register_initializer(
    fn: Initializer | None = None, *, name: str | None = None, source: str | None = None
) -> Any:
    """Register an initializer ``f(weight, generator)`` under ``name`` (default: the function's
    name) after trying it on a 6 x 4 weight; usable as a decorator. Returns the function.
    """

    def add(law: Initializer) -> Initializer:
        where = source or (_origin(law) if hasattr(law, "__qualname__") else repr(law))
        if not callable(law):
            raise InitsensError(
                f"{where} is not an initializer: write f(weight, generator) -> None"
            )
        key = name or law.__name__
        if (
            key in INITIALIZERS
        ):  # the same function again, or a one-line error for a name already taken
            INITIALIZERS.add(key, law, where)
            return law
        weight = torch.full((6, 4), math.nan)
        try:
            law(weight, torch.Generator().manual_seed(0))
        except Exception as exc:
            raise InitsensError(
                f"initializer {where} fails on a 6 x 4 weight: {type(exc).__name__}: {exc}"
            ) from None
        if not torch.isfinite(weight).all():
            raise InitsensError(
                f"initializer {where} leaves NaN or infinite values in a 6 x 4 weight; it must "
                "fill every entry in place"
            )
        INITIALIZERS.add(key, law, where)
        _PATHS["initializer", key] = _origin(law)
        return law

    return add if fn is None else add(fn)


REGISTER: dict[str, Callable[..., Any]] = {
    "model": register_model,
    "initializer": register_initializer,
}


def resolve(kind: str, item: Any) -> str:
    """The registered name of a model or initializer given as a name, an import path
    (``module:name``) or the object itself (registered on the way).
    """
    registry = MODELS if kind == "model" else INITIALIZERS
    if isinstance(item, str):
        if ":" not in item:
            return item  # a name: checked with the other settings
        obj = _import(item, kind)
        REGISTER[kind](obj, source=item)
        return next(name for name, entry in registry.items() if entry is obj)
    REGISTER[kind](item)
    return next(name for name, entry in registry.items() if entry is item)


def import_paths(models: Sequence[str], inits: Sequence[str]) -> tuple[tuple[str, str, str], ...]:
    """(kind, name, import path) of the plugins among ``models`` and ``inits``: what another process
    (a Dask worker) needs to register them under the same names (:func:`register_paths`).
    """
    wanted = [("model", m) for m in models] + [("initializer", i) for i in inits]
    return tuple(
        (kind, name, _PATHS[kind, name]) for kind, name in wanted if (kind, name) in _PATHS
    )


def register_paths(paths: Sequence[tuple[str, str, str]]) -> None:
    """Register what :func:`import_paths` listed, in this process, where not registered yet."""
    for kind, name, path in paths:
        if name not in (MODELS if kind == "model" else INITIALIZERS):
            REGISTER[kind](_import(path, kind), name=name, source=path)


def unstackable_reason(model: str) -> str:
    """Why the model's runs cannot share a stacked ensemble ('' when they can)."""
    return _UNSTACKABLE.get(model, "")


def stackable(model: str) -> bool:
    """Whether the model's runs can train together as a stacked ensemble."""
    return model not in _UNSTACKABLE


def load_entry_points() -> None:
    """Register every installed plugin (entry points of :data:`GROUPS`) under its entry point's
    name.
    """
    for group, kind in GROUPS.items():
        for point in entry_points(group=group):
            REGISTER[kind](
                _import(point.value, kind),
                name=point.name,
                source=f"{point.value} (plugin {point.dist.name if point.dist else '?'})",
            )


def _load_once() -> None:
    MODELS.loader = INITIALIZERS.loader = None
    load_entry_points()


MODELS.loader = INITIALIZERS.loader = _load_once
