"""A user's own model and initializer (tests/plugins/toyplugin), measured like the built-in ones: by
import path on the command line, as objects in Python, as an installed plugin (entry points);
one-line errors for broken ones.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import PLUGINS, run_cli

import initsens
from initsens.errors import InitsensError
from initsens.models import plugins
from initsens.training import SweepConfig

TINY = {"depths": 1, "repeats": 2, "epochs": 2, "top_genes": 20, "hidden_dims": 8, "latent_dim": 2}
TINY_CLI = (
    "--depths",
    "1",
    "--repeats",
    "2",
    "--epochs",
    "2",
    "--top-genes",
    "20",
    "--hidden-dims",
    "8",
    "--latent-dim",
    "2",
)


def test_your_model_and_initializer_train_beside_the_built_ins_from_python(toyplugin, tmp_path):
    from toyplugin.inits import orthogonal
    from toyplugin.vae import BetaVAE

    runs = initsens.train(
        models=[BetaVAE, "VanillaVAE"], inits=[orthogonal, "default"], out=tmp_path, **TINY
    )
    assert set(zip(runs["model"], runs["initializer"])) == {
        (m, i) for m in ("BetaVAE", "VanillaVAE") for i in ("orthogonal", "default")
    }
    assert (runs["status"] == "ok").all()
    settings = json.loads(runs.loc[runs["model"] == "BetaVAE", "settings"].iloc[0])
    assert settings["model_source"] == "toyplugin.vae:BetaVAE" and settings[
        "model_hyperparameters"
    ] == {"beta": 4.0}
    vanilla = json.loads(
        runs.loc[
            (runs["model"] == "VanillaVAE") & (runs["initializer"] == "default"), "settings"
        ].iloc[0]
    )
    assert (
        "model_source" not in vanilla and "initializer_source" not in vanilla
    )  # built-in ids as before
    again = initsens.train(
        models=[BetaVAE, "VanillaVAE"], inits=[orthogonal, "default"], out=tmp_path, **TINY
    )
    pd.testing.assert_frame_equal(again, runs)  # resumed: same ids, nothing trained again
    beta2 = initsens.train(
        models=[BetaVAE], inits=[orthogonal], out=tmp_path, model={"BetaVAE": {"beta": 2}}, **TINY
    )
    assert set(beta2["run_id"]).isdisjoint(
        runs["run_id"]
    )  # its own hyperparameter is part of the run id
    analysis = initsens.analyze(tmp_path)
    assert set(analysis.tables["oneway_anova"]["model"]) == {"BetaVAE", "VanillaVAE"}


def test_a_model_that_cannot_be_stacked_trains_one_run_at_a_time(toyplugin, tmp_path):
    config = SweepConfig.from_mapping(
        {"models": "toyplugin.vae:FlatVAE,toyplugin.vae:BetaVAE", "inits": "default", **TINY}
    )
    assert not plugins.stackable("FlatVAE") and plugins.stackable("BetaVAE")
    plan = initsens.training.plan_sweep(config, tmp_path)
    assert [n for n in plan.notes if "trains one run at a time" in n] == [
        "FlatVAE trains one run at a time: its objective does not run on a stacked batch (a "
        "leading member axis)"
    ]
    from initsens.training.sweep import chunks

    assert sorted(len(c) for c in chunks(plan) if c[0].model == "FlatVAE") == [1, 1]
    summary = initsens.training.run_sweep(plan)
    assert summary.trained == 4 and set(summary.counts) == {
        (m, "default", "ok") for m in ("FlatVAE", "BetaVAE")
    }


def test_by_import_path_on_the_command_line_then_analyzed(tmp_path):
    out = tmp_path / "results"
    trained = run_cli(
        "train",
        "--models",
        "toyplugin.vae:BetaVAE,IWAE",
        "--inits",
        "toyplugin.inits:orthogonal,xavier_uniform",
        "--model-set",
        "BetaVAE.beta=2",
        *TINY_CLI,
        "--out",
        str(out),
        "--quiet",
        pythonpath=str(PLUGINS),
    )
    assert trained.returncode == 0, trained.stderr
    runs = pd.read_parquet(out / "runs")
    assert set(runs["model"]) == {"BetaVAE", "IWAE"} and set(runs["initializer"]) == {
        "orthogonal",
        "xavier_uniform",
    }
    beta = {json.loads(s).get("model_hyperparameters", {}).get("beta") for s in runs["settings"]}
    assert beta == {2.0, None}
    analyzed = run_cli(
        "analyze",
        str(out),
        "--report",
        str(tmp_path / "summary.md"),
        "--n-boot",
        "20",
        "--n-boot-icc",
        "10",
        "--quiet",
    )
    assert analyzed.returncode == 0, analyzed.stderr
    assert "BetaVAE" in (tmp_path / "summary.md").read_text()


def test_an_installed_plugin_is_found_listed_and_trained_by_name(tmp_path):
    """A distribution's entry points (groups initsens.models and initsens.initializers), as pip
    would install them: `initsens models` lists them with where they come from, and
    `--models BetaVAE` needs no import path.
    """
    site = tmp_path / "site"
    info = site / "toyplugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toyplugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[initsens.models]\nBetaVAE = toyplugin.vae:BetaVAE\n\n"
        "[initsens.initializers]\northogonal = toyplugin.inits:orthogonal\n"
    )
    path = f"{site}:{PLUGINS}"
    listed = run_cli("models", pythonpath=path)
    assert listed.returncode == 0, listed.stderr
    line = next(row for row in listed.stdout.splitlines() if "BetaVAE" in row)
    assert "beta=4.0" in line and "toyplugin.vae:BetaVAE (plugin toyplugin)" in line
    assert "toyplugin.inits:orthogonal (plugin toyplugin)" in listed.stdout
    trained = run_cli(
        "train",
        "--models",
        "BetaVAE",
        "--inits",
        "orthogonal",
        *TINY_CLI,
        "--out",
        str(tmp_path / "results"),
        "--quiet",
        pythonpath=path,
    )
    assert trained.returncode == 0, trained.stderr
    assert set(pd.read_parquet(tmp_path / "results" / "runs")["model"]) == {"BetaVAE"}


@pytest.mark.parametrize(
    ("models", "inits", "message"),
    [
        (
            "toyplugin.bad:NotAModel",
            "default",
            "toyplugin.bad:NotAModel is not an initsens model: a model subclasses "
            "initsens.models.VAE and defines objective() (README: Your own model)",
        ),
        (
            "toyplugin.bad:LossOnly",
            "default",
            "model toyplugin.bad:LossOnly: objective() must return Objective(loss, "
            "x_hat[, extra_metrics]); it returned Tensor",
        ),
        (
            "toyplugin.bad:IWAE",
            "default",
            "toyplugin.bad:IWAE: the model name 'IWAE' is taken (by initsens's own model); "
            "rename yours",
        ),
        (
            "IWAE",
            "toyplugin.bad:raises",
            "initializer toyplugin.bad:raises fails on a 6 x 4 weight: ValueError: no "
            "weights today",
        ),
        (
            "IWAE",
            "toyplugin.bad:leaves_nan",
            "initializer toyplugin.bad:leaves_nan leaves NaN or infinite values in a "
            "6 x 4 weight; it must fill every entry in place",
        ),
        (
            "toyplugin.nothere:X",
            "default",
            "cannot import 'toyplugin.nothere' for model 'toyplugin.nothere:X': "
            "ModuleNotFoundError: No module named 'toyplugin.nothere'",
        ),
        (
            "toyplugin.vae:Nope",
            "default",
            "module 'toyplugin.vae' has no 'Nope' (from model 'toyplugin.vae:Nope')",
        ),
    ],
)
def test_a_broken_plugin_is_one_line_and_nothing_is_written(
    toyplugin, tmp_path, models, inits, message
):
    with pytest.raises(InitsensError) as error:
        initsens.train(models=models, inits=inits, out=tmp_path / "results", **TINY)
    assert str(error.value) == message
    assert not (tmp_path / "results").exists()


def test_a_broken_plugin_on_the_command_line_is_one_line(tmp_path):
    result = run_cli(
        "train",
        "--models",
        "toyplugin.bad:LossOnly",
        *TINY_CLI,
        "--out",
        str(tmp_path / "results"),
        pythonpath=str(PLUGINS),
    )
    assert result.returncode != 0 and result.stderr.strip().splitlines() == [
        "error: model toyplugin.bad:LossOnly: objective() must return Objective(loss, x_hat[, "
        "extra_metrics]); it returned Tensor"
    ]
    assert not (tmp_path / "results").exists()


def test_the_readme_example_runs_as_written(tmp_path):
    """The documentation's "Your own model and initializer" (docs/guide/own-model.md): its myvae.py
    and its two commands, in a fresh folder, as a user would.
    """
    import re
    import shlex

    from conftest import REPO

    section = (REPO / "docs" / "guide" / "own-model.md").read_text()
    (tmp_path / "myvae.py").write_text(
        re.search(r"```python myvae.py\n(.*?)```", section, flags=re.S).group(1)
    )
    commands = re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1).strip().splitlines()
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "initsens"
        result = run_cli(*words[1:], cwd=tmp_path, timeout=600)
        assert result.returncode == 0, result.stderr
    runs = pd.read_parquet(tmp_path / "results" / "mine" / "runs")
    assert len(runs) == 2 * 3 * 3 and (runs["status"] == "ok").all()
    assert {
        json.loads(s).get("model_hyperparameters", {}).get("beta") for s in runs["settings"]
    } == {2.0, None}
    report = (tmp_path / "reports" / "mine.md").read_text()
    assert "BetaVAE" in report and "orthogonal" in report


@pytest.mark.parametrize("scope", ["hidden", "all"])
def test_every_layer_of_a_model_of_yours_is_drawn_from_the_run_seed(toyplugin, scope):
    """Convolutions are initialized like Linear layers (their fan-in counts the kernel); parameters
    no initializer knows keep PyTorch's own initialization, drawn from the run's seed: same seed,
    same model; no uninitialized memory.
    """
    import torch

    from initsens.models import build_model
    from initsens.models.plugins import resolve

    name = resolve("model", "toyplugin.vae:ConvVAE")
    first, again, other = (
        build_model(name, 30, initializer="normal", init_scope=scope, seed=s) for s in (7, 7, 8)
    )
    for (key, a), b in zip(first.state_dict().items(), again.state_dict().values()):
        assert torch.isfinite(a.float()).all() and torch.equal(a, b), key
    weights = dict(first.named_parameters())
    conv = weights["smooth.weight"]
    if scope == "all":  # N(0, 1) over the convolution too
        assert not torch.equal(conv, dict(other.named_parameters())["smooth.weight"])
    else:  # the default law: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = 1 channel x 3 taps
        assert conv.abs().max() <= 1 / 3**0.5
    assert torch.equal(
        weights["scale"], torch.ones(30)
    )  # its own parameter, as its constructor set it
    assert torch.isfinite(first(torch.randn(4, 30)).loss)


def test_a_model_with_parameters_outside_its_encoder_and_decoder_is_never_stacked(
    toyplugin, tmp_path
):
    """Stacking would share ConvVAE's convolution and scale between the members: it trains one run
    at a time.
    """
    config = SweepConfig.from_mapping(
        {"models": "toyplugin.vae:ConvVAE", "inits": "default", **TINY}
    )
    assert plugins.unstackable_reason("ConvVAE") == (
        "it holds parameters outside the standard encoder and decoder, "
        "which the members would share"
    )
    summary = initsens.training.run_sweep(initsens.training.plan_sweep(config, tmp_path))
    assert summary.trained == 2 and set(summary.counts) == {("ConvVAE", "default", "ok")}


def test_a_toml_config_sets_your_model_s_hyperparameters(toyplugin, tmp_path):
    (tmp_path / "mine.toml").write_text(
        'models = ["toyplugin.vae:BetaVAE", "IWAE"]\n'
        'inits = "toyplugin.inits:orthogonal"\n\n'
        "[model.BetaVAE]\nbeta = 0.5\nlr = 0.01\n"
    )
    config = SweepConfig.load(tmp_path / "mine.toml", {"repeats": 1})
    beta = next(spec for spec in config.runs() if spec.model == "BetaVAE")
    assert (
        beta.build_model(10).beta == 0.5
        and beta.config.lr == 0.01
        and beta.initializer == "orthogonal"
    )
    assert json.loads(json.dumps(beta.identity("x")))["model_hyperparameters"] == {"beta": 0.5}
    command_line = SweepConfig.load(tmp_path / "mine.toml", {"model": {"BetaVAE": {"beta": "3"}}})
    assert (
        next(s for s in command_line.runs() if s.model == "BetaVAE").build_model(10).beta == 3.0
    )  # wins


def test_the_memory_budget_asks_the_model_how_many_samples_it_decodes(toyplugin):
    """An ensemble's size comes from each member's memory, whose activations grow with the samples
    decoded per input: the model's own ``draws`` (IWAE: K), so a model of yours that decodes several
    is budgeted for them.
    """
    from toyplugin.vae import BetaVAE

    from initsens.models import register_model
    from initsens.training.fit import member_bytes

    @register_model
    class ThreeDraws(BetaVAE):
        @classmethod
        def draws(cls, hyperparameters):
            return 3

    config = SweepConfig.from_mapping(
        {
            "models": [BetaVAE, "ThreeDraws", "IWAE"],
            "depths": 1,
            "repeats": 1,
            "inits": "default",
            "iwae_k": 7,
        }
    )
    size = {spec.model: member_bytes(spec, 5000, 62) for spec in config.runs()}
    width, batch, n_val = 5000 + 512, 64, 62
    per_draw = (
        4 * (20 * batch + 6 * n_val) * width
    )  # the activations of one decoded sample per input
    assert (
        size["ThreeDraws"] - size["BetaVAE"] == 2 * per_draw
        and size["IWAE"] - size["BetaVAE"] == 6 * per_draw
    )


def test_a_model_of_yours_declares_its_hyperparameters_as_initsens_s_own_models_do(toyplugin):
    """One mechanism: keyword-only constructor arguments (help in ``Annotated``), ``**shared``
    passing VAE's own on. A top-level key sets every model that declares it; a model of yours keeps
    its own under model_hyperparameters.
    """
    from initsens.models import Hyperparameter
    from initsens.models.plugins import resolve

    name = resolve("model", "toyplugin.vae:TemperedVAE")
    declared = initsens.models.MODELS.get(name).hyperparameters()
    assert list(declared) == ["temperature", "kl_weight", "recon_reduction"]
    assert declared["temperature"] == Hyperparameter(
        "temperature", float, 2.0, "Divides the KL term."
    )
    config = SweepConfig.from_mapping(
        {
            "models": "TemperedVAE,IWAE",
            "inits": "default",
            "depths": 1,
            "repeats": 1,
            "temperature": "3",
            "kl_weight": 0.5,
        }
    )
    tempered, iwae = (
        next(s for s in config.runs() if s.model == m) for m in ("TemperedVAE", "IWAE")
    )
    identity = tempered.identity("x")
    assert (
        identity["model_hyperparameters"] == {"temperature": 3.0} and identity["kl_weight"] == 0.5
    )
    assert "temperature" not in iwae.identity("x") and iwae.identity("x")["kl_weight"] == 0.5
    model = tempered.build_model(10)
    assert (model.temperature, model.kl_weight) == (3.0, 0.5)
    assert ("temperature", 3.0, {}) in config.settings()
    with pytest.raises(
        InitsensError, match=r"^configuration: temperature = 'hot' is not a valid float$"
    ):
        SweepConfig.from_mapping({"models": "TemperedVAE", "temperature": "hot"})
