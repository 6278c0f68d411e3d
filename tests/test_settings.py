"""The settings table (initsens.settings.Settings) is the one declaration every other view derives
from: the config, the `initsens train` options, the `initsens` preset, the per-model keys, the model
hyperparameters.
"""

from __future__ import annotations

from dataclasses import fields

import pytest
import torch

from initsens.models import MODELS, declared_hyperparameters
from initsens.settings import MODEL, Settings, flag_and_help, table
from initsens.training.config import SweepConfig
from initsens.training.presets import PRESETS


def test_every_row_is_complete_and_every_flag_is_unique():
    rows = [f for f in table() if f.metadata["cli"]]
    assert all(f.metadata["help"] and f.metadata["panel"] for f in rows)
    flags = [flag_and_help(f.name)[0].split("/")[0] for f in rows]
    assert len(flags) == len(set(flags))
    assert [f.name for f in fields(SweepConfig)] == [
        f.name for f in table()
    ]  # SweepConfig adds no field


def test_each_built_in_hyperparameter_is_declared_once_by_its_model_and_is_no_row_of_the_table():
    """``name: Annotated[type, "help"] = default`` once in src/initsens, on the constructor of the
    class that takes it (kl_weight and recon_reduction on VAE's, which the models' ``**shared`` pass
    on); the settings table names none.
    """
    from pathlib import Path

    import initsens

    source = "\n".join(path.read_text() for path in Path(initsens.__file__).parent.rglob("*.py"))
    declared = declared_hyperparameters(own=True)
    assert list(declared) == [
        "kl_weight",
        "recon_reduction",
        "iwae_k",
        "iwae_objective",
        "info_alpha",
        "info_lambda",
        "info_kernel",
        "info_recon_weight",
        "info_mmd",
        "logcosh_a",
        "logcosh_form",
    ]
    for name, h in declared.items():
        assert source.count(f"{name}: Annotated[") == 1 and h.help, name
    assert not set(declared) & {f.name for f in table()}
    assert {m: list(MODELS.get(m).hyperparameters()) for m in ("VanillaVAE", "LogCoshVAE")} == {
        "VanillaVAE": ["kl_weight", "recon_reduction"],
        "LogCoshVAE": ["logcosh_a", "logcosh_form", "kl_weight", "recon_reduction"],
    }


def test_train_has_one_option_per_built_in_hyperparameter_from_its_declaration():
    """The model panel closes with the models' hyperparameters: flag, help and shown default from
    the declaration, added when train is parsed or its help shown (building the CLI imports no
    model).
    """
    import typer

    from initsens.cli import app
    from initsens.cli.train import TrainCommand

    command = typer.main.get_command(app).commands["train"]
    assert isinstance(command, TrainCommand) and command.hyperparameters is None
    options = {p.name: p for p in command.get_params(typer.Context(command))}
    for name, h in declared_hyperparameters(own=True).items():
        option = options[name]
        assert (
            option.opts == ["--" + name.replace("_", "-")]
            and option.help == h.help
            and option.default is None
        )
        assert (
            option.show_default == f"{h.default} or the --config value"
            and option.rich_help_panel == MODEL
        )
    panel = [p.name for p in command.params if getattr(p, "rich_help_panel", None) == MODEL]
    assert panel[-len(declared_hyperparameters(own=True)) :] == list(
        declared_hyperparameters(own=True)
    )


def test_the_initsens_preset_is_the_table_s_defaults():
    assert PRESETS.get("initsens").values == {}
    assert SweepConfig.load("initsens") == SweepConfig(preset="initsens")


def test_train_has_one_option_per_setting_with_the_table_s_flag_help_and_panel():
    import typer

    from initsens.cli import app

    options = {p.name: p for p in typer.main.get_command(app).commands["train"].params}
    for f in table():
        if f.metadata["cli"]:
            flag, help = flag_and_help(f.name)
            option = options[f.name]
            assert option.opts[0] == flag.split("/")[0] and option.help == help
            assert (
                option.rich_help_panel == f.metadata["panel"] and option.default is None
            )  # presets may set it
    assert {"repeats", "init_scope", "out", "config", "dry_run"} <= set(options)


def test_reproduce_s_setting_options_take_flag_and_help_from_the_table():
    """reproduce's data and training overrides: the table's flag and help, no default of their own
    (the presets' values stand unless given).
    """
    import typer

    from initsens.cli import app

    options = {p.name: p for p in typer.main.get_command(app).commands["reproduce"].params}
    overrides = (
        "data",
        "labels",
        "label_column",
        "layer",
        "gene_column",
        "orientation",
        "impute",
        "drop_missing",
        "transform",
        "epochs",
        "top_genes",
        "hidden_dims",
        "latent_dim",
        "device",
        "ensemble_size",
        "denormals",
    )
    for name in (*overrides, "depths", "normalizations"):
        flag, help = flag_and_help(name)
        assert options[name].opts[0] == flag and options[name].help.startswith(help)
    assert all(options[name].default is None for name in overrides)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"top_genes": -1}, "--top-genes must be >= 0 (got -1)"),
        ({"init_scopes": ("hidden", "hidden")}, "--init-scopes repeats a value (hidden,hidden)"),
        ({"seeds": (0, 0)}, "--seeds has repeated values (0,0)"),
        ({"activation": "swish"}, "unknown --activation 'swish'; choose one of: leaky_relu"),
        ({"init_scopes": ("bias",)}, "unknown value 'bias' in --init-scopes; choose from: "),
    ],
)
def test_each_row_s_checks_run_on_construction(values, message):
    """A row's own checks and values run in Settings; SweepConfig adds the values of the registries
    rows name.
    """
    from initsens.errors import InitsensError

    with pytest.raises(InitsensError) as error:
        SweepConfig(**values)
    assert str(error.value).startswith(message)


def test_the_table_is_plain_data_naming_registries_by_kind():
    """No import path in a row: a row with choices holds its values, or the kind of registry
    SweepConfig checks.
    """
    import inspect

    import initsens.settings
    from initsens.errors import InitsensError
    from initsens.training.choices import REGISTRIES

    assert "importlib" not in inspect.getsource(initsens.settings)
    drawn = {f.metadata["choices"] for f in table() if isinstance(f.metadata["choices"], str)}
    assert drawn - set(REGISTRIES) == {"trainers"}  # above the configuration: checked by plan_sweep
    Settings(activation="swish")  # a registry's value: not the table's to check
    with pytest.raises(
        InitsensError, match="^unknown --split 'every'; choose one of: fixed, per-seed$"
    ):
        Settings(split="every")


def test_an_unknown_trainer_is_refused_when_the_sweep_is_planned(tmp_path):
    from initsens.errors import InitsensError
    from initsens.training import plan_sweep

    with pytest.raises(
        InitsensError, match="^unknown --trainer 'fast'; choose one of: ensemble, reference$"
    ):
        plan_sweep(SweepConfig(trainer="fast"), tmp_path, dry_run=True)


def test_weight_decay_reaches_adam_and_the_run_id_only_when_set(monkeypatch):
    """--weight-decay: one row of the table and the one line that hands it to Adam."""
    import initsens.training.fit as fit_module
    from initsens.data import load_dataset, prepare
    from initsens.errors import InitsensError
    from initsens.training import train_run

    seen = []
    original = fit_module.make_optimizer

    def recording(params, **adam):
        optimizer = original(params, **adam)
        seen.append(optimizer.param_groups[0]["weight_decay"])
        return optimizer

    monkeypatch.setattr(fit_module, "make_optimizer", recording)
    tiny = {
        "models": "VanillaVAE",
        "inits": "default",
        "depths": "1",
        "seeds": "0",
        "epochs": 1,
        "top_genes": 20,
        "hidden_dims": "8",
        "latent_dim": 2,
        "batch_size": 32,
    }
    plain, decayed = (
        SweepConfig.from_mapping({**tiny, **extra}, "test")
        for extra in ({}, {"weight_decay": "0.01"})
    )
    data = prepare(load_dataset("tcga5"), top_genes=20)
    for cfg in (plain, decayed):
        train_run(cfg.runs()[0], data, torch.device("cpu"))
    assert seen == [0.0, 0.01]
    (run,), (run_decayed,) = plain.runs(), decayed.runs()
    assert "weight_decay" not in run.identity("sha")  # at its default: old runs keep their ids
    assert run_decayed.identity("sha")["weight_decay"] == 0.01 and run.run_id(
        "sha"
    ) != run_decayed.run_id("sha")
    per_model = SweepConfig.from_mapping(
        {**tiny, "model": {"VanillaVAE": {"weight_decay": 0.1}}}, "test"
    )
    assert per_model.runs()[0].config.weight_decay == 0.1
    with pytest.raises(InitsensError, match=r"^--weight-decay must be >= 0 \(got -1.0\)$"):
        SweepConfig.from_mapping({"weight_decay": -1}, "test")
