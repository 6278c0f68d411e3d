"""Presets and the options that make up the original study's protocol, each checked on its own."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from initsens.data import load_dataset, prepare
from initsens.data.genes import gene_spread, top_variable_genes
from initsens.errors import InitsensError
from initsens.models import build_model
from initsens.models.base import VAE
from initsens.models.objectives import (
    kl_standard_normal,
    log_cosh,
    log_cosh_pytorch_vae,
    mmd_pytorch_vae,
    pytorch_vae_iwae_loss,
)
from initsens.training import SweepConfig, plan_sweep, run_sweep, train_ensemble, train_run
from initsens.training.clustering import adjusted_rand
from initsens.training.loop import MinibatchStream, batches, set_learning_rate
from initsens.training.presets import PRESETS

CPU = torch.device("cpu")
TINY = {"top_genes": 40, "hidden_dims": "16", "latent_dim": 3, "batch_size": 32}


@pytest.fixture(scope="module")
def data():
    return prepare(load_dataset("tcga5"), top_genes=40)


# -- presets ---------------------------------------------------------------------------------------


def test_initsens_preset_is_the_default_configuration():
    assert dataclasses.replace(SweepConfig.load("initsens"), preset=None) == SweepConfig()
    assert set(PRESETS.names()) == {"initsens", "eltager2023", "eltager2023-pancan"}


def test_pancan_preset_is_eltager2023_at_the_original_scale():
    """eltager2023-pancan extends eltager2023: every setting equal (per-model ones too) except the
    KL weight's split sizes, the step schedule and the imputation, whose derivation its notes cite.
    """
    base, pancan = SweepConfig.load("eltager2023"), SweepConfig.load("eltager2023-pancan")
    assert (
        dataclasses.replace(pancan, mn_sizes=(), epoch_steps=0, impute=None, preset="eltager2023")
        == base
    )
    assert pancan.mn_split(247, 62) == (8850, 2212) and pancan.epoch_steps == 8850 // 64
    assert (
        pancan.for_model("IWAE").latent_dim == 100
        and pancan.for_model("LogCoshVAE").lr_decay == 0.97
    )
    preset = PRESETS.get("eltager2023-pancan")
    assert "8,850" in preset.notes["mn_sizes"] and "138" in preset.notes["epoch_steps"]
    assert (
        preset.notes["inits"] == PRESETS.get("eltager2023").notes["inits"]
    )  # the base's notes carry over


def test_eltager2023_preset_values_and_per_model_settings():
    cfg = SweepConfig.load("eltager2023")
    assert cfg.preset == "eltager2023" and cfg.inits[0] == "kaiming_uniform"
    own = {m: cfg.for_model(m) for m in cfg.models}
    assert {m: (c.latent_dim, c.activation, c.lr, c.lr_decay) for m, c in own.items()} == {
        "VanillaVAE": (10, "relu", 1e-4, 0.95),
        "InfoVAE": (10, "relu", 1e-4, 0.95),
        "IWAE": (100, "tanh", 1e-4, 0.95),
        "LogCoshVAE": (200, "relu", 1e-4, 0.97),
    }
    iwae = cfg.hyperparameters_of("IWAE")
    assert (
        iwae["kl_weight"],
        iwae["recon_reduction"],
        iwae["iwae_objective"],
        cfg.select_epoch,
        cfg.fit_on,
        cfg.split,
        cfg.stratify,
        cfg.patience,
        cfg.min_delta,
        cfg.min_epochs,
        cfg.epochs,
    ) == ("mn", "mean", "pytorch-vae", "last", "all", "per-seed", False, 3, 1e-4, 5, 1000)
    specs = {s.model: s for s in cfg.runs()}
    assert specs["IWAE"].config.latent_dim == 100 and specs["VanillaVAE"].config.latent_dim == 10


def test_command_line_wins_over_preset_and_per_model_values():
    cfg = SweepConfig.load("eltager2023", {"latent_dim": "7", "patience": "4"})
    assert {cfg.for_model(m).latent_dim for m in cfg.models} == {7} and cfg.patience == 4
    assert cfg.for_model("LogCoshVAE").lr_decay == 0.97  # untouched per-model values stay


@pytest.mark.parametrize(
    "toml,message",
    [
        ("[model.BetaVAE]\nlr = 0.1\n", r"\[model.BetaVAE\]: unknown model"),
        ("[model.IWAE]\ntop_genes = 10\n", r"\[model.IWAE\] cannot set top_genes"),
        ("[model.IWAE]\nlatent_dim = 0\n", "--latent-dim must be >= 1"),
        ('kl_weight = "half"\n', "kl_weight must be a number >= 0 or 'mn' \\(got 'half'\\)"),
    ],
)
def test_bad_per_model_tables_are_one_line_errors(tmp_path, toml, message):
    path = tmp_path / "p.toml"
    path.write_text(toml)
    with pytest.raises(InitsensError, match=message) as info:
        SweepConfig.load(path)
    assert "\n" not in str(info.value)


def test_run_ids_include_per_model_settings_but_not_labels():
    base = SweepConfig.load("eltager2023", {"repeats": 1})
    other = SweepConfig.load("eltager2023", {"repeats": 1, "device": "cpu", "trainer": "reference"})
    assert [s.run_id("x") for s in base.runs()] == [s.run_id("x") for s in other.runs()]
    changed = SweepConfig.from_mapping(
        {
            **base.to_dict(),
            "model": {
                "IWAE": {"latent_dim": 99, "activation": "tanh"},
                "LogCoshVAE": {"latent_dim": 200, "lr_decay": 0.97},
            },
        }
    )
    ids = {(s.model, s.initializer, s.depth): s.run_id("x") for s in base.runs()}
    new = {(s.model, s.initializer, s.depth): s.run_id("x") for s in changed.runs()}
    assert all(new[k] != v for k, v in ids.items() if k[0] == "IWAE")
    assert all(new[k] == v for k, v in ids.items() if k[0] != "IWAE")


def test_init_scopes_are_a_factor():
    cfg = SweepConfig.from_mapping({"init_scopes": "hidden,all", "repeats": 1, "models": "IWAE"})
    assert len(cfg.runs()) == 2 * 5 * 2 and {s.init_scope for s in cfg.runs()} == {"hidden", "all"}
    assert SweepConfig.from_mapping({"init_scope": "all"}).init_scopes == ("all",)
    assert SweepConfig().init_scopes == ("hidden",)


# -- objectives as the original code computed them -------------------------------------------------


def _their_iwae(recons, x, mu, log_var, kld_weight):
    """models/iwae.py loss_function of meltager/vae_benchmark, transcribed ([B x S x D] layout)."""
    num_samples = recons.shape[1]
    x = x.repeat(num_samples, 1, 1).permute(1, 0, 2)
    log_p_x_z = ((recons - x) ** 2).flatten(2).mean(-1)
    kld_loss = -0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp(), dim=2)
    log_weight = log_p_x_z + kld_weight * kld_loss
    weight = F.softmax(log_weight, dim=-1)
    return torch.mean(torch.sum(weight * log_weight, dim=-1), dim=0)


def test_pytorch_vae_iwae_matches_a_transcription_of_their_formula():
    g = torch.Generator().manual_seed(0)
    B, S, G, D = 6, 5, 11, 3
    x, mu, log_var = (
        torch.randn(B, G, generator=g),
        torch.randn(B, D, generator=g),
        torch.randn(B, D, generator=g),
    )
    recons = torch.randn(B, S, G, generator=g)  # [B x S x G] as their decode returned
    expected = _their_iwae(
        recons,
        x,
        mu.repeat(S, 1, 1).permute(1, 0, 2),
        log_var.repeat(S, 1, 1).permute(1, 0, 2),
        0.25,
    )
    ours_recon = (
        (x.unsqueeze(0) - recons.permute(1, 0, 2)).pow(2).mean(-1)
    )  # (K, batch) as our layout
    got = pytorch_vae_iwae_loss(ours_recon, kl_standard_normal(mu, log_var), 0.25).mean(-1)
    torch.testing.assert_close(got, expected)


def test_pytorch_vae_mmd_matches_a_transcription_of_their_compute_mmd():
    g = torch.Generator().manual_seed(1)
    z, prior = torch.randn(7, 4, generator=g), torch.randn(7, 4, generator=g)

    def their_kernel(x1, x2, z_var=2.0, eps=1e-7):  # compute_kernel + compute_inv_mult_quad
        n, d = x1.size(0), x1.size(1)
        x1, x2 = x1.unsqueeze(-2).expand(n, n, d), x2.unsqueeze(-3).expand(n, n, d)
        c = 2 * d * z_var
        kernel = c / (eps + c + (x1 - x2).pow(2).sum(dim=-1))
        return kernel.sum() - kernel.diag().sum()

    mmd = (
        their_kernel(prior, prior).mean()
        + their_kernel(z, z).mean()
        - 2 * their_kernel(prior, z).mean()
    )
    torch.testing.assert_close(mmd_pytorch_vae(z, prior, "imq"), mmd / (7 * 6))


def test_pytorch_vae_log_cosh_overflows_where_the_stable_form_does_not():
    t = torch.tensor([-3.0, -0.5, 0.0, 0.7, 20.0])
    torch.testing.assert_close(log_cosh_pytorch_vae(t), log_cosh(t), atol=1e-6, rtol=1e-6)
    assert torch.isinf(
        log_cosh_pytorch_vae(torch.tensor([-50.0]))
    ).all()  # exp(100) overflows float32
    assert torch.isfinite(log_cosh(torch.tensor([-50.0]))).all()


def test_mean_reduction_and_mn_weight_give_their_vanilla_loss():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(8, 30, generator=g)
    model = build_model(
        "VanillaVAE",
        30,
        hidden_dims=[16],
        latent_dim=4,
        seed=0,
        hyperparameters={"kl_weight": "mn", "recon_reduction": "mean"},
    )
    with pytest.raises(InitsensError, match="kl_weight 'mn' needs the split size"):
        model(x, torch.Generator().manual_seed(5))
    model.use_split(247, 64)
    assert model.kl_factor() == pytest.approx(64 / 247)
    out = model(x, torch.Generator().manual_seed(5))
    mu, log_var = model.encode(x)
    z = mu + torch.exp(0.5 * log_var) * torch.randn(
        mu.shape, generator=torch.Generator().manual_seed(5)
    )
    kld = torch.mean(-0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp(), dim=1), dim=0)
    expected = F.mse_loss(model.decode(z), x) + 64 / 247 * kld  # vanilla_vae.py loss_function
    torch.testing.assert_close(out.loss, expected)


def test_trainer_weights_kl_by_batch_over_the_split_it_sees(data, monkeypatch):
    seen = []
    original = VAE.use_split

    def spy(self, n, batch_size):
        seen.append((self.training, n, batch_size))
        original(self, n, batch_size)

    monkeypatch.setattr(VAE, "use_split", spy)
    spec = SweepConfig.from_mapping(
        {
            **TINY,
            "models": "VanillaVAE",
            "inits": "default",
            "depths": "1",
            "seeds": "0",
            "epochs": 2,
            "kl_weight": "mn",
        }
    ).runs()[0]
    train_run(spec, data, CPU)
    assert seen == [(True, data.n_train, 32), (False, data.n_val, 32)] * 2


@pytest.mark.parametrize("trainer", ["reference", "ensemble"])
def test_mn_sizes_weight_kl_by_batch_over_the_reference_splits(data, monkeypatch, trainer):
    """--mn-sizes 8850,2212: M_N = batch / 8850 in training and batch / 2212 in validation, whatever
    the data's own split sizes, in both trainers; the KL term of the loss carries exactly that
    weight.
    """
    seen = []
    original = VAE.use_split

    def spy(self, n, batch_size):
        original(self, n, batch_size)
        seen.append((self.training, self.kl_factor()))

    monkeypatch.setattr(VAE, "use_split", spy)
    cfg = SweepConfig.from_mapping(
        {
            **TINY,
            "models": "VanillaVAE",
            "inits": "default,normal",
            "depths": "1",
            "seeds": "0",
            "epochs": 2,
            "kl_weight": "mn",
            "mn_sizes": "8850,2212",
            "trainer": trainer,
        }
    )
    specs = cfg.runs()
    if trainer == "ensemble":
        train_ensemble(specs, data, CPU)
    else:
        train_run(specs[0], data, CPU)
    assert seen == [(True, 32 / 8850), (False, 32 / 2212)] * 2
    model = build_model(
        "VanillaVAE",
        30,
        hidden_dims=[16],
        latent_dim=4,
        seed=0,
        hyperparameters={"kl_weight": "mn", "recon_reduction": "mean"},
    )
    model.use_split(*cfg.mn_split(247, 62)[:1], 64)
    x = torch.randn(8, 30, generator=torch.Generator().manual_seed(2))
    out = model(x, torch.Generator().manual_seed(5))
    torch.testing.assert_close(out.loss, out.recon_mse + 64 / 8850 * out.kl)


def test_mn_sizes_are_checked_and_leave_other_runs_ids_alone():
    with pytest.raises(InitsensError, match="--mn-sizes takes two sizes"):
        SweepConfig.from_mapping({"kl_weight": "mn", "mn_sizes": "8850"})
    with pytest.raises(InitsensError, match="no effect with --kl-weight 1.0"):
        SweepConfig.from_mapping({"mn_sizes": "8850,2212"})
    with pytest.raises(InitsensError, match="--epoch-steps must be >= 0"):
        SweepConfig.from_mapping({"epoch_steps": -1})
    # settings added later stay out of the identity at their defaults: recorded runs keep their ids
    plain = SweepConfig().runs()[0]
    assert "epoch_steps" not in plain.identity("x") and "mn_sizes" not in plain.identity("x")
    # the ids these runs had before the two settings existed (computed with the code of commit
    # 79ad0f4)
    assert plain.run_id("x") == "5589e5fa1cd721ae"
    assert SweepConfig.load("eltager2023").runs()[5].run_id("x") == "c2a156faef3a81da"
    stepped = SweepConfig(epoch_steps=138).runs()[0]
    assert stepped.identity("x")["epoch_steps"] == 138 and stepped.run_id("x") != plain.run_id("x")


def test_minibatch_stream_counts_epochs_in_steps():
    """epoch_steps 0: an epoch is one pass (the same draws as batches()); N: the next N minibatches
    of consecutive passes, each a fresh permutation, so every sample is seen once per pass.
    """
    one = MinibatchStream(247, 64, np.random.default_rng(3), drop_last=True)
    same = np.random.default_rng(3)
    for _ in range(3):
        np.testing.assert_array_equal(
            np.concatenate(one.epoch()), np.concatenate(batches(247, 64, same, True))
        )
    stream = MinibatchStream(247, 64, np.random.default_rng(3), drop_last=True, epoch_steps=7)
    epochs = [stream.epoch() for _ in range(3)]
    assert [len(e) for e in epochs] == [7, 7, 7] and all(len(b) == 64 for e in epochs for b in e)
    flat = [b for e in epochs for b in e]
    passes = np.random.default_rng(3)
    expected = [b for _ in range(7) for b in batches(247, 64, passes, True)][:21]
    for got, want in zip(flat, expected):
        np.testing.assert_array_equal(got, want)
    for first in range(0, 21, 3):  # every pass of 3 minibatches holds 192 distinct samples
        assert len(set(np.concatenate(flat[first : first + 3]))) == 192


@pytest.mark.parametrize("trainer", ["reference", "ensemble"])
def test_epoch_steps_set_the_steps_between_validations_and_the_schedules(
    data, monkeypatch, trainer
):
    """--epoch-steps 7: 7 optimizer steps between validations (a pass of tcga5's training split is 7
    steps at batch 32 here, 3 at the original batch 64), the learning rate decays once per 7 steps,
    and --min-epochs, --patience and --epochs count these epochs.
    """
    import initsens.training.fit as fit_module

    steps, rates, validations = [0], [], []
    original = fit_module.make_optimizer

    def counting(params, **adam):
        optimizer = original(params, **adam)
        optimizer.register_step_post_hook(
            lambda opt, *_: (
                steps.__setitem__(0, steps[0] + 1),
                rates.append(opt.param_groups[0]["lr"]),
            )
        )
        return optimizer

    monkeypatch.setattr(fit_module, "make_optimizer", counting)
    cfg = SweepConfig.from_mapping(
        {
            **TINY,
            "models": "VanillaVAE",
            "inits": "default",
            "depths": "1",
            "seeds": "0",
            "epochs": 6,
            "epoch_steps": 5,
            "lr": 0.01,
            "lr_decay": 0.5,
            "patience": 1,
            "min_delta": 1e12,
            "min_epochs": 4,
            "drop_last": True,
            "trainer": trainer,
        }
    )
    spec = cfg.runs()[0]
    on_epoch = lambda specs, epoch, best: validations.append((epoch, steps[0]))  # noqa: E731
    if trainer == "ensemble":
        result = train_ensemble([spec], data, CPU, on_epoch)[0]
    else:
        result = train_run(spec, data, CPU, on_epoch)
    assert validations == [
        (1, 5),
        (2, 10),
        (3, 15),
        (4, 20),
    ]  # min_delta 1e12: stops at --min-epochs 4
    assert (result.epochs_trained, result.stopped) == (4, "early")
    assert rates == pytest.approx([0.01 * 0.5 ** (i // 5) for i in range(20)])


# -- training options ------------------------------------------------------------------------------


def test_select_epoch_last_reports_the_final_epoch(data):
    spec = SweepConfig.from_mapping(
        {
            **TINY,
            "models": "VanillaVAE",
            "inits": "default",
            "depths": "1",
            "seeds": "0",
            "epochs": 6,
            "select_epoch": "last",
            "lr": 0.05,
        }
    ).runs()[0]
    result = train_run(spec, data, CPU)
    last = result.history[-1]
    assert result.selected_epoch == result.epochs_trained == 6 and result.val_loss == last.val_loss
    assert result.best_epoch == int(np.argmin([r.val_loss for r in result.history])) + 1


def test_min_epochs_and_how_runs_stop(data):
    base = {**TINY, "models": "VanillaVAE", "inits": "default", "depths": "1", "seeds": "0"}
    early = train_run(
        SweepConfig.from_mapping(
            {**base, "epochs": 20, "patience": 1, "min_delta": 1e12, "min_epochs": 5}
        ).runs()[0],
        data,
        CPU,
    )
    assert (early.epochs_trained, early.best_epoch, early.stopped) == (5, 1, "early")
    capped = train_run(
        SweepConfig.from_mapping({**base, "epochs": 3, "patience": 50}).runs()[0], data, CPU
    )
    assert (capped.epochs_trained, capped.stopped) == (3, "cap")


def test_learning_rate_decays_per_epoch():
    cfg = SweepConfig.from_mapping({"lr": 0.01, "lr_decay": 0.5})
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.01)
    set_learning_rate(opt, cfg, 3)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0025)


def test_drop_last_drops_a_short_last_batch():
    rng = np.random.default_rng(0)
    assert [len(b) for b in batches(247, 64, rng, drop_last=True)] == [64, 64, 64]
    assert [len(b) for b in batches(247, 64, rng)] == [64, 64, 64, 55]


def test_fit_on_all_changes_the_genes_and_unstratified_splits(data):
    dataset = load_dataset("tcga5")
    train = prepare(dataset, top_genes=200)
    every = prepare(dataset, top_genes=200, fit_on="all")
    assert set(train.gene_ids) != set(every.gene_ids)
    assert list(every.gene_ids) == list(dataset.gene_ids[top_variable_genes(dataset.X, 200)])
    X = np.concatenate([every.X_train, every.X_val])
    np.testing.assert_allclose(X.mean(0), 0, atol=1e-4)  # z-scored over all samples
    loose = prepare(dataset, top_genes=200, stratify=False, split_seed=3)
    assert loose.n_val == 62 and set(loose.val_ids) != set(
        prepare(dataset, top_genes=200, split_seed=3).val_ids
    )


def test_mean_absolute_deviation_is_pandas_old_mad():
    X = np.random.default_rng(4).gamma(2.0, size=(50, 6)).astype(np.float32)
    expected = (
        (pd.DataFrame(X) - pd.DataFrame(X).mean()).abs().mean().to_numpy()
    )  # DataFrame.mad() < 2.0
    np.testing.assert_allclose(gene_spread(X, "meanad"), expected, rtol=1e-6)


def test_leiden_ari_on_separated_clusters():
    pytest.importorskip("leidenalg")
    rng = np.random.default_rng(1)
    labels = np.repeat(["a", "b", "c"], 40)
    separated = np.repeat(np.eye(3) * 30, 40, axis=0) + rng.normal(size=(120, 3))
    assert adjusted_rand(separated, labels, 0, "leiden") == pytest.approx(1.0)
    assert abs(adjusted_rand(rng.normal(size=(120, 3)), labels, 0, "leiden")) < 0.1


def test_small_eltager2023_sweep_carries_the_preset_values(tmp_path):
    cfg = SweepConfig.load(
        "eltager2023", {"repeats": 2, "epochs": 2, "top_genes": 60, "hidden_dims": "32"}
    )
    summary = run_sweep(plan_sweep(cfg, tmp_path))
    runs = pd.read_parquet(tmp_path / "runs")
    assert summary.trained == len(runs) == 4 * 5 * 2 * 2
    by_model = runs.groupby("model")[["latent_dim", "activation", "learning_rate"]].first()
    assert by_model.loc["IWAE"].tolist() == [100, "tanh", 1e-4]
    assert (
        by_model.loc["LogCoshVAE", "latent_dim"] == 200
        and by_model.loc["VanillaVAE", "latent_dim"] == 10
    )
    assert set(runs.preset) == {"eltager2023"} and set(runs.split_seed) == {0, 1}
    assert set(runs.initializer) == {
        "kaiming_uniform",
        "normal",
        "uniform",
        "xavier_normal",
        "xavier_uniform",
    }
    ok = runs[runs.status == "ok"]
    assert (ok.selected_epoch == ok.epochs_trained).all() and set(ok.stopped) == {"cap"}
    settings = pd.json_normalize(runs.settings.map(__import__("json").loads))
    assert set(settings.kl_weight) == {"mn"} and set(settings.clustering) == {"leiden"}
    assert math.isfinite(ok.ari.iloc[0])
