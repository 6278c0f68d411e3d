"""The progress bar's time left, from the work done, on a fake clock (no real time passes)."""

from __future__ import annotations

import pytest
import torch

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


#: Four models of 30 runs each in ensembles of 15, the slowest last: (group, cost per run, true seconds per run).
#: The true times follow the costs only roughly (B 12% slower than its cost says, D 25% slower), as real models do.
GROUPS = [("A", 1.0, 0.4), ("B", 1.0, 0.45), ("C", 2.0, 0.8), ("D", 3.0, 1.5)]


def _sweep(eta: Eta, clock: Clock, stop_after: int | None = None) -> float:
    """Run the sweep on the fake clock; return the true seconds left once ``stop_after`` runs are done."""
    done = 0
    for group, _, seconds in GROUPS:
        for _ in range(2):
            eta.chunk_start(15, group)
            clock.now += 15 * seconds
            for _ in range(15):
                eta.run_done()
            done += 15
            if done == stop_after:
                return sum(30 * s for _, _, s in GROUPS) - clock.now
    return 0.0


def test_eta_charges_each_model_at_its_own_rate_and_a_model_not_seen_yet_by_its_cost():
    """At 30 of 120 runs (model A done) the old estimate charged the 90 runs left at A's rate: 36 s for 82.5 s left
    (the issue's 0:00:31 for 54 s). Charged by cost per run, it is within 25%; once a model's first ensemble has ended
    its own rate is used, so the estimate of what is left in a model is exact where its ensembles take equal time."""
    clock = Clock()
    eta = Eta(120, clock)
    eta.plan({group: (30, cost) for group, cost, _ in GROUPS})
    truth = _sweep(eta, clock, stop_after=30)
    eta.chunk_start(15, "B")  # the next ensemble begins: 25% done
    assert truth == pytest.approx(30 * (0.45 + 0.8 + 1.5))
    assert abs(eta.seconds_left() - truth) <= 0.25 * truth
    assert eta.seconds_left() == pytest.approx(0.4 * (30 + 60 + 90))  # A's seconds per unit of cost, times the costs

    flat_clock = Clock()
    flat = Eta(120, flat_clock)  # the same sweep without the groups: every run at the last ensemble's rate
    _sweep(flat, flat_clock, stop_after=30)
    flat.chunk_start(15, "B")
    assert flat.seconds_left() == pytest.approx(36.0) and flat.seconds_left() < 0.5 * truth

    clock = Clock()
    eta = Eta(120, clock)
    eta.plan({group: (30, cost) for group, cost, _ in GROUPS})
    truth = _sweep(eta, clock, stop_after=105)  # D's first ensemble has ended: its own rate for its last
    eta.chunk_start(15, "D")
    assert eta.seconds_left() == pytest.approx(truth) == pytest.approx(15 * 1.5)


def test_the_display_charges_the_groups_the_sweep_announces():
    """RichObserver passes the sweep's ensembles and costs on: after VanillaVAE's ensemble, IWAE (three times the
    cost) is charged three times VanillaVAE's seconds per run."""
    from initsens.cli.display import RichObserver

    clock = Clock()
    observer = RichObserver(clock)

    def spec(model: str):
        class Spec:
            depth, normalization, initializer, seed = 1, "zscore", "default", 0

            class config:  # noqa: N801
                epochs = 50

        Spec.model = model
        return Spec()

    vanilla, iwae = [spec("VanillaVAE")] * 10, [spec("IWAE")] * 10
    with observer:
        observer.start(20, 20)
        observer.planned([vanilla, iwae], {("VanillaVAE", 1, "zscore"): 1.0, ("IWAE", 1, "zscore"): 3.0})
        observer.chunk_start(vanilla)
        clock.now = 100.0
        for s in vanilla:
            observer.run_done(s, None, None)
        observer.chunk_start(iwae)
        assert observer.eta.seconds_left() == pytest.approx(300.0)  # 10 runs x 10 s x 3


def test_run_cost_follows_the_parameters_and_the_decoders_draws():
    """The cost per run counts the networks' Linear parameters (checked against built models) and the decoder once per
    posterior sample (IWAE's K = 5: (1 + 5) / 2 = 3 times VanillaVAE's at the same widths)."""
    from initsens.models import build_model
    from initsens.training.config import SweepConfig
    from initsens.training.fit import n_parameters, run_cost

    config = SweepConfig(models=("VanillaVAE", "IWAE"), inits=("default",), depths=(1, 2), seeds=(0,),
                         hidden_dims=(64,), latent_dim=8)
    specs = {(s.model, s.depth): s for s in config.runs()}
    for (model, depth), spec in specs.items():
        net = build_model(model, 300, depth=depth, hidden_dims=(64,), latent_dim=8, initializer="default", seed=0)
        linear = sum(p.numel() for m in net.modules() if isinstance(m, torch.nn.Linear) for p in m.parameters())
        assert n_parameters(spec, 300) == pytest.approx(linear, rel=0.01), (model, depth)
    assert run_cost(specs[("IWAE", 1)], 300) == pytest.approx(3 * run_cost(specs[("VanillaVAE", 1)], 300))
    assert run_cost(specs[("VanillaVAE", 2)], 300) > run_cost(specs[("VanillaVAE", 1)], 300)


def test_a_sweep_announces_its_ensembles_and_their_costs(tmp_path):
    """The sweep tells its observer every ensemble before the first trains, with each group's cost per run."""
    import initsens
    from initsens.training.sweep import SweepObserver

    class Recorder(SweepObserver):
        def __init__(self) -> None:
            self.calls: list[tuple] = []

        def planned(self, chunks, costs) -> None:
            self.calls.append(("planned", [[s.model for s in c] for c in chunks], dict(costs)))

        def chunk_start(self, specs) -> None:
            self.calls.append(("chunk", specs[0].model))

    recorder = Recorder()
    initsens.train(out=tmp_path, models="VanillaVAE,IWAE", inits="default,uniform", depths="1", repeats=1, epochs=1,
                   top_genes=20, hidden_dims="8", latent_dim=2, observer=recorder)
    (first, *rest) = recorder.calls
    assert first[0] == "planned" and sorted(m for c in first[1] for m in c) == ["IWAE", "IWAE", "VanillaVAE",
                                                                                "VanillaVAE"]
    assert [c[1] for c in rest] == [c[0] for c in first[1]]  # the ensembles announced are those trained, in order
    costs = first[2]
    assert costs[("IWAE", 1, "zscore")] == pytest.approx(3 * costs[("VanillaVAE", 1, "zscore")])
