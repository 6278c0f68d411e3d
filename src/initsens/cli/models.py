"""``initsens models``: what can be swept, with each model's objective and hyperparameters."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def list_models() -> None:
    """List the registered models, initializers and normalizations."""
    from initsens.data import NORMALIZERS
    from initsens.models import INITIALIZERS, MODELS

    console = Console()
    models = Table(title="Models (yours: README, Your own model)")
    for column in ("model", "objective", "hyperparameters (default)", "from"):
        models.add_column(column)
    for name, cls in MODELS.items():
        params = ", ".join(f"{key}={h.default}" for key, h in cls.hyperparameters().items())
        models.add_row(
            name,
            cls.summary or (cls.__doc__ or "").strip().split("\n")[0],
            params,
            MODELS.source(name) or "initsens",
        )
    console.print(models)
    extras = Table(
        title="Metrics of a model's own (the metrics table; initsens analyze --metric val_<name>)"
    )
    for column in ("model", "metric", "meaning"):
        extras.add_column(column)
    for name, cls in MODELS.items():
        for metric, meaning in cls.extra_metrics.items():
            extras.add_row(name, f"val_{metric}", meaning)
    console.print(extras)
    inits = Table(title="Initializers (weights of Linear layers; biases keep PyTorch's default)")
    for column in ("initializer", "law", "from"):
        inits.add_column(column)
    for name, fn in INITIALIZERS.items():
        inits.add_row(name, (fn.__doc__ or "").strip(), INITIALIZERS.source(name) or "initsens")
    console.print(inits)
    norms = Table(title="Normalizations (fitted on the training split)")
    norms.add_column("normalization")
    norms.add_column("what it does")
    for name, normalizer in NORMALIZERS.items():
        norms.add_row(name, normalizer.description)
    console.print(norms)
