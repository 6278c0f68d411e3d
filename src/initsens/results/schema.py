"""The results tables, defined once: every column of ``runs``, ``epochs`` and ``metrics`` with its
Arrow type and meaning.

The Parquet store writes these schemas (descriptions in each field's metadata), the README's schema
tables are checked against them by a test, and the status words come from
:mod:`initsens.training.record`. Bump :data:`SCHEMA_VERSION` when a column is added, removed,
renamed or changes meaning.
"""

from __future__ import annotations

import pyarrow as pa

#: 2: init_scope, activation, precision, preset, settings, transform, stopped, selected_epoch added.
#: 3: the ``metrics`` table (metrics of a model's own, e.g. InfoVAE's MMD) added; runs and epochs
#: unchanged. 4: ``denormals`` added to runs (flushing subnormals became the CPU default and left
#: the run id).
SCHEMA_VERSION = 4

#: Per-epoch validation quantities (columns ``val_<name>``): the model's own objective, then the
#: metrics with one definition for every model (:data:`COMMON_VALIDATION`), which compare models on
#: one scale.
METRICS = ("loss", "recon_mse", "kl", "nelbo")
COMMON_VALIDATION = METRICS[1:]
VALIDATION_COLUMNS = tuple(f"val_{name}" for name in METRICS)

#: ``status``: finished (ok), produced a non-finite loss (diverged) or crashed (failed).
OK, DIVERGED, FAILED = "ok", "diverged", "failed"
STATUSES = (OK, DIVERGED, FAILED)
#: Runs with these statuses are finished: a resumed sweep does not train them again.
FINISHED = (OK, DIVERGED)
#: ``stopped``: how training ended; ``cap`` means at --epochs while still improving (not converged).
EARLY, CAP = "early", "cap"
STOPPED = (EARLY, CAP, DIVERGED, FAILED)

_STRING, _INT, _FLOAT = pa.string(), pa.int32(), pa.float64()

#: (name, type, description) of every column of ``runs/part-*.parquet``, one row per run.
RUN_COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    (
        "run_id",
        _STRING,
        "first 16 hex digits of the sha256 of the run's identity (data content hash, factors, "
        "every setting that changes its numbers, its model's own hyperparameters)",
    ),
    ("model", _STRING, "VAE model (factor)"),
    ("initializer", _STRING, "weight initializer (factor)"),
    ("depth", _INT, "hidden layers (factor)"),
    ("normalization", _STRING, "data normalization (factor)"),
    ("init_scope", _STRING, "which Linear weights the initializer drew: hidden or all (factor)"),
    ("seed", _INT, "the run's seed (its five random streams)"),
    ("split_seed", _INT, "seed of the train/validation split"),
    ("latent_dim", _INT, "latent dimensions"),
    ("hidden_dims", _STRING, "hidden widths, e.g. 512-256"),
    ("activation", _STRING, "activation of the hidden layers"),
    ("learning_rate", _FLOAT, "Adam's initial learning rate"),
    ("batch_size", _INT, "minibatch size"),
    ("max_epochs", _INT, "the epoch cap (--epochs)"),
    (
        "precision",
        _STRING,
        "arithmetic of the forward passes: fp32, bf16 (autocast) or tf32 (CUDA)",
    ),
    (
        "denormals",
        _STRING,
        "subnormal floats while the run trained: flush (to zero, on the CPU) or keep (IEEE; "
        "every GPU run)",
    ),
    ("preset", _STRING, "the preset the settings came from (e.g. eltager2023), empty when none"),
    (
        "settings",
        _STRING,
        "JSON object of the run's identity: every setting that changes its numbers",
    ),
    ("dataset", _STRING, "dataset name or path"),
    ("dataset_sha256", _STRING, "content hash of the dataset's values, ids and labels"),
    (
        "transform",
        _STRING,
        "per-sample transform applied before gene selection (none, log2p1, log2cpm)",
    ),
    ("n_genes", _INT, "genes kept"),
    ("n_train", _INT, "training samples"),
    ("n_val", _INT, "validation samples"),
    ("status", _STRING, "ok, diverged (non-finite loss) or failed (crashed)"),
    (
        "stopped",
        _STRING,
        "how training ended: early (early stopping), cap (reached max_epochs still improving: "
        "not converged), diverged or failed",
    ),
    ("epochs_trained", _INT, "epochs run"),
    ("best_epoch", _INT, "epoch with the lowest validation loss (0 if none)"),
    (
        "selected_epoch",
        _INT,
        "epoch whose numbers are reported: the best, or the last under --select-epoch last "
        "(0 if none)",
    ),
    ("val_loss", _FLOAT, "the model's own objective at the selected epoch, per validation sample"),
    (
        "val_recon_mse",
        _FLOAT,
        "validation reconstruction MSE per gene (same definition for every model)",
    ),
    ("val_kl", _FLOAT, "validation KL(q(z|x) || N(0, I)) per sample"),
    (
        "val_nelbo",
        _FLOAT,
        "validation beta=1 negative ELBO per sample, unit-variance Gaussian decoder (same for "
        "every model: use it to compare models)",
    ),
    ("train_loss", _FLOAT, "mean training objective in the selected epoch"),
    (
        "ari",
        _FLOAT,
        "adjusted Rand index of the clustering (--clustering) of the selected epoch's embedding vs "
        "cancer type (NaN without labels)",
    ),
    (
        "wall_seconds",
        _FLOAT,
        "seconds from the start of the run (or of its ensemble) to its last epoch",
    ),
    ("device", _STRING, "torch device the run trained on"),
    ("initsens_version", _STRING, "initsens version"),
    ("torch_version", _STRING, "torch version"),
    (
        "schema_version",
        _INT,
        f"version of this table's layout ({SCHEMA_VERSION}; a newer initsens writing to the "
        "folder upgrades older parts in place)",
    ),
    ("finished_at", pa.timestamp("us", tz="UTC"), "when the row was written (UTC)"),
)

#: (name, type, description) of every column of ``epochs/part-*.parquet``, one row per run and
#: epoch.
EPOCH_COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("run_id", _STRING, "the run (joins runs.run_id)"),
    ("epoch", _INT, "epoch (1-based)"),
    ("train_loss", _FLOAT, "mean training objective over the epoch's minibatches"),
    ("val_loss", _FLOAT, "the model's own objective on the validation split after the epoch"),
    ("val_recon_mse", _FLOAT, "validation reconstruction MSE per gene"),
    ("val_kl", _FLOAT, "validation KL per sample"),
    ("val_nelbo", _FLOAT, "validation beta=1 negative ELBO per sample"),
)


#: (name, type, description) of every column of ``metrics/part-*.parquet``, one row per run, epoch
#: and metric of a model's own (``VAE.extra_metrics``); absent when no model of the sweep has one.
METRIC_COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("run_id", _STRING, "the run (joins runs.run_id)"),
    ("epoch", _INT, "epoch (1-based; joins epochs.epoch)"),
    (
        "metric",
        _STRING,
        "val_<name> of the model's own metric on the validation split (e.g. val_mmd for InfoVAE, "
        "val_ess for IWAE); `initsens models` lists them",
    ),
    ("value", _FLOAT, "its value after the epoch"),
)


def arrow_schema(columns: tuple[tuple[str, pa.DataType, str], ...]) -> pa.Schema:
    """The Arrow schema of ``columns``, each field carrying its description in its metadata."""
    return pa.schema(
        [pa.field(name, kind, metadata={"description": text}) for name, kind, text in columns],
        metadata={"schema_version": str(SCHEMA_VERSION), "producer": "initsens train"},
    )


RUNS_SCHEMA = arrow_schema(RUN_COLUMNS)
EPOCHS_SCHEMA = arrow_schema(EPOCH_COLUMNS)
METRICS_SCHEMA = arrow_schema(METRIC_COLUMNS)
