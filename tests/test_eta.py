"""The progress bar's time left, from the work done, on a fake clock (no real time passes)."""

from __future__ import annotations

from initsens.training.eta import Eta


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_eta_waits_for_the_first_ensemble_then_charges_the_runs_left_at_its_rate():
    """120 runs in ensembles of 15, each ensemble 80 s (the issue's 10-minute sweep): nothing to go on during the
    first ensemble (the old bar showed 'ETA 0:00:01' throughout); after it, within a factor of 2 of the truth at
    every epoch checked, and exact where ensembles take equal time."""
    clock = Clock()
    eta = Eta(120, clock)
    truth = 8 * 80.0
    for chunk in range(8):
        eta.chunk_start(15)
        for step in range(8):  # epochs within the ensemble
            clock.now = chunk * 80 + step * 10
            left = eta.seconds_left()
            if chunk == 0:
                assert left is None and eta.shown() == "ETA after the first ensemble"
            else:
                actual = truth - clock.now
                assert actual / 2 <= left <= 2 * actual and left == actual
        clock.now = (chunk + 1) * 80
        for _ in range(15):
            eta.run_done()
    assert eta.seconds_left() == 0.0 and eta.shown() == "ETA 0:00:00"


def test_eta_follows_a_slower_model_within_a_factor_of_two_once_it_has_started():
    """Two VanillaVAE ensembles of 60 s, then two IWAE ensembles of 150 s (2.5x slower): while the first IWAE
    ensemble runs the estimate is low (the rate is VanillaVAE's) but never below one run's time; after it, the
    estimate of the last one is right (the latest ensemble's rate, not the average over both models)."""
    clock = Clock()
    eta = Eta(40, clock)
    durations, start = [60, 60, 150, 150], 0.0
    for i, seconds in enumerate(durations):
        eta.chunk_start(10)
        clock.now = start + seconds / 2
        if i == 3:
            assert eta.seconds_left() == seconds / 2
        if i == 2:
            assert eta.seconds_left() >= 6.0  # one VanillaVAE run's share of its ensemble
        start += seconds
        clock.now = start
        for _ in range(10):
            eta.run_done()
    assert eta.shown() == "ETA 0:00:00"


def test_the_display_shows_the_estimate():
    from initsens.cli.display import RichObserver

    clock = Clock()
    observer = RichObserver(clock)
    with observer:
        observer.start(20, 20)

        class Spec:
            model, depth, normalization, initializer, seed = "VanillaVAE", 1, "zscore", "default", 0

            class config:  # noqa: N801
                epochs = 50

        observer.chunk_start([Spec()] * 10)
        clock.now = 100.0
        for _ in range(10):
            observer.run_done(Spec(), None, None)
        observer.chunk_start([Spec()] * 10)
        clock.now = 130.0
        observer.epoch([Spec()] * 10, 3, 1.0)
        assert observer.progress.tasks[0].fields["eta"] == "ETA 0:01:10"
