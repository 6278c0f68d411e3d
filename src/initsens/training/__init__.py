"""Training: the sweep configuration, per-run random streams, trainers and the Parquet results
store.

Typical use::

    from initsens.training import SweepConfig, plan_sweep, run_sweep
    summary = run_sweep(plan_sweep(SweepConfig(seeds=(0, 1, 2)), out="results"))
"""

from initsens.results.schema import EPOCHS_SCHEMA, RUNS_SCHEMA, SCHEMA_VERSION
from initsens.results.store import ResultsStore
from initsens.training.config import RunSpec, SweepConfig
from initsens.training.fit import train_ensemble, train_run
from initsens.training.record import RunResult
from initsens.training.seeds import RunSeeds
from initsens.training.sweep import SweepPlan, SweepSummary, plan_sweep, run_sweep

__all__ = [
    "EPOCHS_SCHEMA",
    "RUNS_SCHEMA",
    "SCHEMA_VERSION",
    "ResultsStore",
    "RunResult",
    "RunSeeds",
    "RunSpec",
    "SweepConfig",
    "SweepPlan",
    "SweepSummary",
    "plan_sweep",
    "run_sweep",
    "train_ensemble",
    "train_run",
]
