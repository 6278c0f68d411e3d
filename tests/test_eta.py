"""The progress bar's time left, from the work done, on a fake clock (no real time passes)."""

from __future__ import annotations

import pytest
import torch

from initsens.training.eta import Eta


class Spec:
    """What the display reads of a run: its factors, its ensemble's key and its epochs."""

    normalization, initializer, seed = "zscore", "default", 0

    class config:
        epochs = 50

    def __init__(self, model: str, depth: int) -> None:
        self.model, self.depth = model, depth

    def group_key(self) -> tuple:
        return (self.model, self.depth, self.normalization)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_eta_waits_for_the_first_ensemble_then_charges_the_runs_left_at_its_rate():
    """120 runs in ensembles of 15, each ensemble 80 s (the issue's 10-minute sweep): nothing to go
    on during the first ensemble (the old bar showed 'ETA 0:00:01' throughout); after it, within a
    factor of 2 of the truth at every epoch checked, and exact where ensembles take equal time.
    """
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
    """Two VanillaVAE ensembles of 60 s, then two IWAE ensembles of 150 s (2.5x slower): while the
    first IWAE ensemble runs the estimate is low (the rate is VanillaVAE's) but never below one
    run's time; after it, the estimate of the last one is right (the latest ensemble's rate, not the
    average over both models).
    """
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

        spec = Spec("VanillaVAE", 1)
        observer.chunk_start([spec] * 10)
        clock.now = 100.0
        for _ in range(10):
            observer.run_done(spec, None, None)
        observer.chunk_start([spec] * 10)
        clock.now = 130.0
        observer.epoch([spec] * 10, 3, 1.0)
        assert observer.progress.tasks[0].fields["eta"] == "ETA 0:01:10"


#: Four architecture groups of 30 runs each in ensembles of 15, the slowest last: (group, its model,
#: its size in parameters relative to A's at depth 1, true seconds per run). Speed follows size only
#: roughly (up to 10% off), as it does between real models; "Big" is a model of four times the
#: parameters (e.g. --model-set Big.hidden_dims=2048).
GROUPS = [
    (("A", 1), "A", 1.0, 0.40),
    (("A", 2), "A", 1.1, 0.46),
    (("B", 1), "B", 1.0, 0.42),
    (("Big", 1), "Big", 4.0, 1.75),
]


def _sweep(eta: Eta, clock: Clock, stop_after: int) -> float:
    """Run the sweep on the fake clock until ``stop_after`` runs are done; the true seconds left
    then.
    """
    done = 0
    for group, _, _, seconds in GROUPS:
        for _ in range(2):
            if done == stop_after:
                return sum(30 * s for *_, s in GROUPS) - clock.now
            eta.chunk_start(15, group)
            clock.now += 15 * seconds
            for _ in range(15):
                eta.run_done()
            done += 15
    return 0.0


def _planned(clock: Clock) -> Eta:
    eta = Eta(120, clock)
    eta.plan(
        {group: (30, size) for group, _, size, _ in GROUPS},
        {group: model for group, model, _, _ in GROUPS},
    )
    return eta


def test_eta_charges_each_group_at_its_rate_and_a_group_not_seen_yet_by_its_size():
    """At 30 of 120 runs (A at depth 1 done) the old estimate charged the 90 runs left at A's rate:
    36 s for 78.9 s left (the issue's 0:00:31 for 54 s). Charged by size, it is within 25% (7%
    here); once a group's first ensemble has ended its own rate is used, so what is left of a group
    is exact where its ensembles take equal time.
    """
    clock = Clock()
    eta = _planned(clock)
    truth = _sweep(eta, clock, stop_after=30)
    eta.chunk_start(15, ("A", 2))  # the next ensemble begins: 25% done
    assert truth == pytest.approx(30 * (0.46 + 0.42 + 1.75))
    assert eta.seconds_left() == pytest.approx(
        30 * 0.4 * (1.1 + 1.0 + 4.0)
    )  # A's seconds per unit of size
    assert abs(eta.seconds_left() - truth) <= 0.25 * truth

    flat_clock = Clock()
    flat = Eta(
        120, flat_clock
    )  # the same sweep without the groups: every run at the last ensemble's rate
    _sweep(flat, flat_clock, stop_after=30)
    flat.chunk_start(15, ("A", 2))
    assert flat.seconds_left() == pytest.approx(36.0) and flat.seconds_left() < 0.5 * truth

    clock = Clock()
    eta = _planned(clock)
    truth = _sweep(
        eta, clock, stop_after=105
    )  # Big's first ensemble has ended: its own rate for its last
    eta.chunk_start(15, ("Big", 1))
    assert eta.seconds_left() == pytest.approx(truth) == pytest.approx(15 * 1.75)


def test_a_models_other_depth_is_charged_at_that_models_rate_per_parameter():
    """N (fast) then M at depth 1 (twice N's seconds per parameter): M at depth 2 is charged at M's
    rate per parameter, not at the mean of N's and M's.
    """
    clock = Clock()
    eta = Eta(30, clock)
    eta.plan({"N1": (10, 1.0), "M1": (10, 1.0), "M2": (10, 1.5)}, {"N1": "N", "M1": "M", "M2": "M"})
    for group, seconds in (("N1", 10.0), ("M1", 20.0)):
        eta.chunk_start(10, group)
        clock.now += 10 * seconds
        for _ in range(10):
            eta.run_done()
    eta.chunk_start(10, "M2")
    assert eta.seconds_left() == pytest.approx(10 * 20.0 * 1.5)  # not 10 * 15 * 1.5


def test_the_display_charges_the_groups_the_sweep_announces():
    """RichObserver passes the sweep's ensembles and sizes on, each group's model as its family:
    IWAE at depth 2 (twice the parameters) is charged at IWAE's depth-1 rate per parameter, not
    VanillaVAE's.
    """
    from initsens.cli.display import RichObserver

    clock = Clock()
    observer = RichObserver(clock)

    v1, i1, i2 = [Spec("VanillaVAE", 1)] * 10, [Spec("IWAE", 1)] * 10, [Spec("IWAE", 2)] * 10
    with observer:
        observer.start(30, 30)
        observer.planned(
            [v1, i1, i2],
            {
                ("VanillaVAE", 1, "zscore"): 1.0,
                ("IWAE", 1, "zscore"): 1.0,
                ("IWAE", 2, "zscore"): 2.0,
            },
        )
        for chunk, end in ((v1, 100.0), (i1, 250.0)):
            observer.chunk_start(chunk)
            clock.now = end
            for s in chunk:
                observer.run_done(s, None, None)
        observer.chunk_start(i2)
        assert observer.eta.seconds_left() == pytest.approx(10 * 15.0 * 2)


def test_the_size_of_a_run_is_its_networks_parameters():
    """The size the estimate scales by: the Linear parameters of encoder and decoder (checked
    against built models, within 1%), the same for every model at the same widths.
    """
    from initsens.models import build_model
    from initsens.training.config import SweepConfig
    from initsens.training.fit import n_parameters

    config = SweepConfig(
        models=("VanillaVAE", "IWAE"),
        inits=("default",),
        depths=(1, 2),
        seeds=(0,),
        hidden_dims=(64,),
        latent_dim=8,
    )
    specs = {(s.model, s.depth): s for s in config.runs()}
    for (model, depth), spec in specs.items():
        net = build_model(
            model, 300, depth=depth, hidden_dims=(64,), latent_dim=8, initializer="default", seed=0
        )
        linear = sum(
            p.numel()
            for m in net.modules()
            if isinstance(m, torch.nn.Linear)
            for p in m.parameters()
        )
        assert n_parameters(spec, 300) == pytest.approx(linear, rel=0.01), (model, depth)


def test_a_sweep_announces_its_ensembles_and_their_sizes(tmp_path):
    """The sweep tells its observer every ensemble before the first trains, with each group's
    size.
    """
    import initsens
    from initsens.training.fit import n_parameters
    from initsens.training.sweep import SweepObserver

    class Recorder(SweepObserver):
        def __init__(self) -> None:
            self.calls: list[tuple] = []

        def planned(self, chunks, sizes) -> None:
            self.calls.append(
                (
                    "planned",
                    [[s.model for s in c] for c in chunks],
                    dict(sizes),
                    {c[0].group_key(): c[0] for c in chunks},
                )
            )

        def chunk_start(self, specs) -> None:
            self.calls.append(("chunk", specs[0].model))

    recorder = Recorder()
    initsens.train(
        out=tmp_path,
        models="VanillaVAE,IWAE",
        inits="default,uniform",
        depths="1",
        repeats=1,
        epochs=1,
        top_genes=20,
        hidden_dims="8",
        latent_dim=2,
        observer=recorder,
    )
    (first, *rest) = recorder.calls
    assert first[0] == "planned" and sorted(m for c in first[1] for m in c) == [
        "IWAE",
        "IWAE",
        "VanillaVAE",
        "VanillaVAE",
    ]
    assert [c[1] for c in rest] == [
        c[0] for c in first[1]
    ]  # the ensembles announced are those trained, in order
    assert first[2] == {key: n_parameters(spec, 20) for key, spec in first[3].items()}
