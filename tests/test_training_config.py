"""Sweep configuration: defaults, list parsing, TOML, validation and deterministic run ids."""

from __future__ import annotations

import pytest

from initsens.errors import InitsensError
from initsens.training import RunSeeds, SweepConfig


def test_default_grid_is_the_study():
    cfg = SweepConfig()
    runs = cfg.runs()
    assert len(runs) == 4 * 5 * 2 * 1 * 10
    assert [r.model for r in runs[:: 5 * 2 * 10]] == ["VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE"]
    assert len({r.run_id("x") for r in runs}) == len(runs)


def test_lists_all_repeats_and_seeds():
    cfg = SweepConfig.from_mapping(
        {
            "models": "all",
            "inits": "default, xavier_normal",
            "depths": "1,3",
            "repeats": 3,
            "hidden_dims": "256,64",
        }
    )
    assert cfg.models == ("VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE")
    assert (
        cfg.inits == ("default", "xavier_normal")
        and cfg.depths == (1, 3)
        and cfg.seeds == (0, 1, 2)
    )
    spec = [r for r in cfg.runs() if r.depth == 3][0]
    assert spec.hidden_dims() == [256, 64, 32]
    assert SweepConfig.from_mapping({"seeds": "4,7"}).seeds == (4, 7)
    with pytest.raises(InitsensError, match="give repeats or seeds, not both"):
        SweepConfig.from_mapping({"seeds": "1", "repeats": 2})


@pytest.mark.parametrize(
    "values,message",
    [
        (
            {"models": "VAE"},
            "unknown value 'VAE' in --models; choose from: VanillaVAE, IWAE, InfoVAE, LogCoshVAE",
        ),
        ({"inits": "he"}, "unknown value 'he' in --inits; choose from: default, normal, uniform"),
        (
            {"normalizations": "rank"},
            "unknown value 'rank' in --normalizations; choose from: zscore, minmax",
        ),
        ({"repeats": 0}, "--repeats must be >= 1"),
        ({"depths": "0,1"}, "--depths must be >= 1"),
        ({"epochs": "ten"}, "epochs = 'ten' is not a valid int"),
        ({"batch_size": 1}, "--batch-size must be >= 2"),
        ({"device": "tpu"}, "unknown --device 'tpu'; choose one of: auto, cpu, cuda"),
        ({"split": "random"}, "unknown --split 'random'; choose one of: fixed, per-seed"),
        (
            {"learning_rate": 0.1},
            "unknown key\\(s\\) learning_rate; valid keys: activation, batch_size",
        ),
    ],
)
def test_bad_values_are_one_line_errors(values, message):
    with pytest.raises(InitsensError, match=message) as info:
        SweepConfig.from_mapping(values)
    assert "\n" not in str(info.value)


def test_toml_with_command_line_overrides(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text('models = ["IWAE"]\ndepths = [1, 2, 3]\nrepeats = 4\nlr = 0.01\niwae_k = 10\n')
    cfg = SweepConfig.load(path, {"depths": "2", "seeds": "5"})
    assert cfg.models == ("IWAE",) and cfg.depths == (2,) and cfg.seeds == (5,)
    assert cfg.lr == 0.01 and cfg.hyperparameters_of("IWAE")["iwae_k"] == 10
    path.write_text("epochz = 3\n")
    with pytest.raises(InitsensError, match="sweep.toml: unknown key\\(s\\) epochz"):
        SweepConfig.load(path)
    path.write_text("epochs = \n")
    with pytest.raises(InitsensError, match="sweep.toml: not valid TOML"):
        SweepConfig.load(path)
    with pytest.raises(
        InitsensError, match="nope.toml: no such config file and no preset of that name"
    ):
        SweepConfig.load(tmp_path / "nope.toml")


def test_run_id_depends_on_what_determines_the_result():
    base = SweepConfig.from_mapping({"repeats": 1, "models": "VanillaVAE,IWAE", "inits": "default"})

    def ids(cfg, sha="abc"):
        return {(r.model, r.depth): r.run_id(sha) for r in cfg.runs()}

    assert ids(base) == ids(
        SweepConfig.from_mapping(
            {"repeats": 1, "models": "VanillaVAE,IWAE", "inits": "default", "device": "cpu"}
        )
    )
    assert ids(base) != ids(base, sha="def")  # other data
    lr = ids(
        SweepConfig.from_mapping(
            {"repeats": 1, "models": "VanillaVAE,IWAE", "inits": "default", "lr": 0.01}
        )
    )
    assert all(lr[k] != v for k, v in ids(base).items())
    k10 = ids(
        SweepConfig.from_mapping(
            {"repeats": 1, "models": "VanillaVAE,IWAE", "inits": "default", "iwae_k": 10}
        )
    )
    assert k10[("VanillaVAE", 1)] == ids(base)[("VanillaVAE", 1)]  # not VanillaVAE's hyperparameter
    assert k10[("IWAE", 1)] != ids(base)[("IWAE", 1)]
    assert len(base.runs()[0].run_id("abc")) == 16


def test_per_seed_split():
    cfg = SweepConfig.from_mapping(
        {"seeds": "3,4", "split": "per-seed", "models": "IWAE", "inits": "default", "depths": "1"}
    )
    assert [r.split_seed for r in cfg.runs()] == [3, 4]
    assert [r.split_seed for r in SweepConfig.from_mapping({"seeds": "3,4"}).runs()[:2]] == [0, 0]


def test_seed_streams_are_distinct_and_reproducible():
    a, b = RunSeeds.from_seed(0), RunSeeds.from_seed(1)
    assert a == RunSeeds.from_seed(0) and a != b
    assert len({a.init, a.order, a.noise, a.val_noise}) == 4
    assert all(0 <= s < 2**63 for s in (a.init, a.order, a.noise, a.val_noise))


def test_runs_share_an_ensemble_key_unless_they_differ_in_a_factor_the_table_does_not_stack():
    """The stacking key comes from the table: two runs differing in one factor share it exactly when
    that factor is ``stacked`` (initializer, init scope, seed), and not for model, depth or
    normalization.
    """
    from dataclasses import replace

    from initsens.settings import FACTORS

    base = SweepConfig.from_mapping(
        {"models": "VanillaVAE", "inits": "default", "depths": "1", "seeds": "0"}
    ).runs()[0]
    other = {
        "model": "IWAE",
        "initializer": "uniform",
        "depth": 2,
        "normalization": "minmax",
        "init_scope": "all",
        "seed": 1,
    }
    assert base.group_key() == ("VanillaVAE", 1, "zscore")
    for _, factor in FACTORS:
        moved = replace(base, **{factor.column: other[factor.column]})
        assert (moved.group_key() == base.group_key()) == factor.stacked, factor.column


def test_a_toy_factor_that_changes_the_hidden_width_trains_its_levels_in_separate_ensembles(
    monkeypatch, tmp_path
):
    """A factor declared as a new one would be (a Factor row, not marked ``stacked``) and a run
    field that sets the first hidden width: its levels land in separate chunks, while initializers
    and seeds still stack.
    """
    from dataclasses import dataclass, replace

    import initsens.training.config as config_module
    from initsens.models import hidden_dims_for
    from initsens.settings import FACTORS, Factor, ensemble_keys
    from initsens.training import RunSpec, plan_sweep
    from initsens.training.sweep import chunks

    @dataclass(frozen=True)
    class WideRun(RunSpec):
        width: int = 512

        def hidden_dims(self) -> list[int]:
            return hidden_dims_for(self.depth, (self.width,))

    monkeypatch.setattr(
        config_module,
        "ENSEMBLE_KEYS",
        ensemble_keys((*FACTORS, ("widths", Factor("width", 6, about="first hidden width")))),
    )
    cfg = SweepConfig.from_mapping(
        {
            "models": "VanillaVAE",
            "inits": "default,uniform",
            "depths": "1",
            "repeats": 2,
            "top_genes": 20,
            "hidden_dims": "8",
            "latent_dim": 2,
        }
    )
    plan = plan_sweep(cfg, tmp_path / "out", dry_run=True)
    wide = [
        WideRun(**{f: getattr(spec, f) for f in spec.__dataclass_fields__}, width=width)
        for width in (8, 16)
        for spec in plan.todo
    ]
    ensembles = chunks(replace(plan, todo=wide))
    assert [sorted({(s.width, s.initializer, s.seed) for s in chunk}) for chunk in ensembles] == [
        [(width, init, seed) for init in ("default", "uniform") for seed in (0, 1)]
        for width in (8, 16)
    ]
