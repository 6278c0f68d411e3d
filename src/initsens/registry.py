"""A tiny name -> object registry, shared by models, initializers, normalizers and datasets.

Adding a new entry is one decorated definition in its own small module; lookups of unknown names
fail with a one-line error that lists the valid choices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from initsens.errors import InitsensError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind (e.g. "model"), kept in registration order."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._sources: dict[str, str] = {}
        #: Called once, before the first lookup or listing (e.g. to load installed plugins).
        self.loader: Callable[[], None] | None = None

    def _load(self) -> None:
        loader, self.loader = self.loader, None
        if loader is not None:
            loader()

    def add(self, name: str, obj: T, source: str) -> None:
        """Record an entry from outside the package (``source``: its import path or plugin); adding
        the same object again does nothing, another object under a taken name is a one-line error.
        """
        if name in self._entries:
            if self._entries[name] is obj:
                return
            taken = self._sources.get(name) or f"initsens's own {self.kind}"
            raise InitsensError(
                f"{source}: the {self.kind} name {name!r} is taken (by {taken}); rename yours"
            )
        self._entries[name] = obj
        self._sources[name] = source

    def source(self, name: str) -> str:
        """Where an entry came from: '' for initsens's own, else its import path or plugin."""
        return self._sources.get(name, "")

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that records ``obj`` under ``name``; duplicate names are a programming
        error.
        """

        def decorator(obj: T) -> T:
            if name in self._entries:
                raise RuntimeError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        """The entry called ``name``, or a one-line error listing the valid names."""
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            raise InitsensError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(self._entries)}"
            ) from None

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        self._load()
        return list(self._entries)

    def items(self) -> Iterator[tuple[str, T]]:
        """(name, entry) pairs, in registration order."""
        self._load()
        return iter(self._entries.items())

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)
