"""Time left in a sweep, from the work it has done.

Runs finish an ensemble at a time (its members train together), so a bar that counts runs sees nothing for minutes
and then a jump; a rate taken from those jumps (what a generic progress bar does) is meaningless until several
ensembles have ended. :class:`Eta` takes the seconds per run of the last ensemble that ended (the grid trains one
architecture group after another, so the latest ensemble is the best guide to the next) and charges the runs still
to do at that rate, less the time the ensemble in progress has already run. Right after a switch to a slower
model the estimate is low until that model's first ensemble ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Eta:
    """Seconds left in a sweep of ``todo`` runs; ``clock`` (seconds) is replaceable for tests."""

    def __init__(self, todo: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.start(todo)

    def start(self, todo: int) -> None:
        """A sweep of ``todo`` runs begins (one display may follow several sweeps)."""
        self.todo, self.done = todo, 0
        self.seconds, self.runs = 0.0, 0  # of the last ensemble that ended
        self.chunk_started: float | None = None
        self.chunk_size = self.chunk_done = 0

    def chunk_start(self, size: int) -> None:
        """An ensemble of ``size`` runs begins."""
        self.chunk_started, self.chunk_size, self.chunk_done = self.clock(), size, 0

    def run_done(self) -> None:
        """A run is saved; the ensemble's time is counted when its last run is."""
        self.done += 1
        self.chunk_done += 1
        if self.chunk_started is not None and self.chunk_done >= self.chunk_size:
            self.seconds, self.runs = self.clock() - self.chunk_started, self.chunk_size
            self.chunk_started = None

    def seconds_left(self) -> float | None:
        """The estimate, or None before any ensemble has ended (nothing to go on yet)."""
        if not self.runs:
            return None
        running = self.clock() - self.chunk_started if self.chunk_started is not None else 0.0
        per_run = self.seconds / self.runs
        left = per_run * (self.todo - self.done) - running
        # an ensemble running longer than its share says little about the rest: keep a floor of one run's time
        return max(left, per_run if self.done < self.todo else 0.0)

    def shown(self) -> str:
        """``ETA 0:12:34``, or what it is waiting for."""
        left = self.seconds_left()
        if left is None:
            return "ETA after the first ensemble"
        minutes, seconds = divmod(int(round(left)), 60)
        hours, minutes = divmod(minutes, 60)
        return f"ETA {hours}:{minutes:02d}:{seconds:02d}"
