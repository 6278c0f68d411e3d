"""Time left in a sweep, from the work it has done.

Runs finish an ensemble at a time, so :class:`Eta` charges the runs still to do group by group (one
architecture) at rates measured on finished ensembles, scaled by size
(:func:`~initsens.training.fit.n_parameters`) for groups not seen yet (the docs'
:doc:`Train a sweep </guide/train>` page).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping


class Eta:
    """Seconds left in a sweep of ``todo`` runs; ``clock`` (seconds) is replaceable for tests."""

    def __init__(self, todo: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.start(todo)

    def start(self, todo: int) -> None:
        """A sweep of ``todo`` runs begins (one display may follow several sweeps)."""
        self.todo, self.done = todo, 0
        self.left: dict[Hashable, int] = {
            None: todo
        }  # runs to do per group (None: every run, without a plan)
        self.cost: dict[Hashable, float] = {
            None: 1.0
        }  # a group's cost per run, relative to the others'
        self.family: dict[
            Hashable, Hashable
        ] = {}  # a group's model: its groups share a rate per unit of cost
        self.rate: dict[
            Hashable, float
        ] = {}  # seconds per run of each group's last ensemble that ended
        self.group: Hashable = None
        self.chunk_started: float | None = None
        self.chunk_size = self.chunk_done = 0

    def plan(
        self,
        groups: Mapping[Hashable, tuple[int, float]],
        families: Mapping[Hashable, Hashable] | None = None,
    ) -> None:
        """The runs to do per group, each group's cost per run (any unit: only ratios count) and its
        family (its model: a group not seen yet is charged at its family's rate per unit of cost
        when one of its groups is seen).
        """
        self.left = {group: runs for group, (runs, _) in groups.items()}
        self.cost = {group: cost for group, (_, cost) in groups.items()}
        self.family = dict(families or {})

    def chunk_start(self, size: int, group: Hashable = None) -> None:
        """An ensemble of ``size`` runs of ``group`` begins."""
        self.group = group if group in self.left else None
        self.chunk_started, self.chunk_size, self.chunk_done = self.clock(), size, 0

    def run_done(self) -> None:
        """A run is saved; the ensemble's time is counted when its last run is."""
        self.done += 1
        self.chunk_done += 1
        if self.left.get(self.group, 0) > 0:
            self.left[self.group] -= 1
        if self.chunk_started is not None and self.chunk_done >= self.chunk_size:
            self.rate[self.group] = (self.clock() - self.chunk_started) / self.chunk_size
            self.chunk_started = None

    def per_run(self, group: Hashable) -> float:
        """Seconds one run of ``group`` is expected to take: its own last rate, else the seconds per
        unit of cost of its family's groups seen so far (else of every group seen), times its cost.
        """
        if group in self.rate:
            return self.rate[group]
        family = self.family.get(group, group)
        seen = [g for g in self.rate if self.cost.get(g, 1.0) > 0]
        same = [g for g in seen if self.family.get(g, g) == family] or seen
        if not same:
            return 0.0
        return (
            sum(self.rate[g] / self.cost.get(g, 1.0) for g in same)
            / len(same)
            * self.cost.get(group, 1.0)
        )

    def seconds_left(self) -> float | None:
        """The estimate, or None before any ensemble has ended (nothing to go on yet)."""
        if not self.rate:
            return None
        running = self.clock() - self.chunk_started if self.chunk_started is not None else 0.0
        left = (
            sum(runs * self.per_run(group) for group, runs in self.left.items() if runs > 0)
            - running
        )
        # an ensemble running longer than its share says little about the rest: keep a floor of one
        # run's time
        return max(left, self.per_run(self.group) if self.done < self.todo else 0.0)

    def shown(self) -> str:
        """``ETA 0:12:34``, or what it is waiting for."""
        left = self.seconds_left()
        if left is None:
            return "ETA after the first ensemble"
        minutes, seconds = divmod(int(round(left)), 60)
        hours, minutes = divmod(minutes, 60)
        return f"ETA {hours}:{minutes:02d}:{seconds:02d}"
