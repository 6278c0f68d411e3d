"""What ``initsens reproduce`` trains: the protocols, their ablations and the scale ladder, each a
named configuration with its results folder.

The protocols (with both readings of "the default", :data:`DEFAULT_READINGS`), the original code at
the original data's scale trained in :data:`PHASES` (:data:`ORIGINAL_SCALE`), ablations, and the
:data:`LADDER`, fixed before any rung was trained. Why each exists: the docs'
:doc:`The reproduction </reproduction>` page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from initsens.errors import InitsensError

#: The two readings of the poster's "Default PyTorch implementation": what the code ran, what the
#: poster defines.
DEFAULT_READINGS = ("kaiming_uniform", "default")
#: Where the ladder's rungs come from.
LADDER_BASE = "eltager2023"
#: The original data's training split (Pan-Cancer, ~11,060 labelled samples at 80/20) and its steps
#: per epoch.
PANCAN_TRAIN, PANCAN_EPOCH_STEPS = 8850, 138
#: The original code's protocol at the original data's scale (KL weight for N_train = 8,850, epochs
#: of 138 steps).
ORIGINAL_SCALE = "eltager2023-pancan"
#: The reproduction's grid, the poster's (its presets train z-score alone): what every study trains
#: unless a setting passed to :func:`plan_studies` or the study itself (a rung, an ablation) says
#: otherwise.
GRID: dict[str, Any] = {"repeats": 10, "depths": "1,2", "normalizations": "zscore,minmax"}


@dataclass(frozen=True)
class Phase:
    """A part of a study's grid, trained before the next one and judged once it and every phase
    before it are complete: the normalizations it holds (None: all of the study's) and whether it
    holds the study's own reading of "the default" or the other one (:data:`DEFAULT_READINGS`).
    ``waits`` names what cannot be judged before the phase is complete (a claim, or the
    ``other default`` check).
    """

    label: str
    normalizations: tuple[str, ...] | None = None
    other_default: bool | None = None  # None: both readings
    waits: tuple[str, ...] = ()

    def holds(self, normalization: str, initializer: str, own: str) -> bool:
        """Whether a run of the study (its normalization and initializer) belongs to this phase."""
        other = initializer in DEFAULT_READINGS and initializer != own
        return (self.normalizations is None or normalization in self.normalizations) and (
            self.other_default is None or other == self.other_default
        )


#: One phase: the whole grid at once (every study but :data:`ORIGINAL_SCALE`).
WHOLE = (Phase("all runs"),)
#: The order :data:`ORIGINAL_SCALE` trains its grid in, fixed before its first new run was trained
#: (issue #25; the report names the commit): z-score first (P1, P2, P3, E1 and E2 become judgeable),
#: then min-max (P4), then nn.Linear's reading of "the default" on both (the ``other default``
#: check), where the budget allows.
PHASES: dict[str, tuple[Phase, ...]] = {
    ORIGINAL_SCALE: (
        Phase("z-score", ("zscore",), False),
        Phase("min-max", ("minmax",), False, ("P4",)),
        Phase("the other default", None, True, ("other default",)),
    )
}
#: The commit that fixed :data:`PHASES` (the grid of :data:`ORIGINAL_SCALE` and its order) before
#: its first new run.
SCALE_FIXED_AT = "93b5e17"
#: Where the ladder's rung (c) keeps its runs: the folder of :data:`ORIGINAL_SCALE`, which holds
#: them too.
SHARED_FOLDERS = {"kl-8850+steps-138": ORIGINAL_SCALE}
#: Studies whose every run keeps subnormal floats, whatever ``--denormals`` says:
#: :data:`ORIGINAL_SCALE`'s grid was fixed with them kept (then the default) and flushing bought
#: nothing under it (README, Speed), so its runs share one arithmetic.
KEEPS_SUBNORMALS = (ORIGINAL_SCALE, *SHARED_FOLDERS)


@dataclass(frozen=True)
class Ablation:
    """One protocol with a few settings changed: ``eltager2023:clustering=kmeans`` (``models=A,B``
    restricts the models trained). Its folder name and label say what changed.
    """

    base: str
    changes: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, spec: str) -> Ablation:
        """An ablation from ``PRESET:KEY=VALUE;...`` (``models=`` restricts the models); one-line
        errors.
        """
        base, _, rest = spec.partition(":")
        pairs = [item.split("=", 1) for item in rest.split(";") if item.strip()]
        if not base or not pairs or any(len(p) != 2 or not p[0].strip() for p in pairs):
            raise InitsensError(
                f"--ablation {spec!r}: write PRESET:KEY=VALUE[;KEY=VALUE], "
                "e.g. eltager2023:clustering=kmeans"
            )
        return cls(base.strip(), tuple((k.strip(), v.strip()) for k, v in pairs))

    @property
    def name(self) -> str:
        """The ablation's folder name, e.g. ``eltager2023+clustering=kmeans``."""
        return self.base + "+" + "+".join(f"{k}={v}" for k, v in self.changes)

    def overrides(self) -> dict[str, str]:
        """The settings this study changes."""
        return dict(self.changes)


@dataclass(frozen=True)
class Rung:
    """One rung of the ladder: the base protocol with ``changes``; ``n_train`` is the training size
    its KL weight M_N = batch / n_train assumes (tcga5's own 247 when the rung does not move it).
    """

    name: str
    label: str
    changes: tuple[tuple[str, str], ...]
    n_train: int
    epoch_steps: int = 0

    @property
    def dose(self) -> bool:
        """Part of the dose-response: the KL weight moved alone."""
        return not self.epoch_steps

    def overrides(self) -> dict[str, str]:
        """The settings this study changes."""
        return dict(self.changes)


def _kl(n_train: int) -> tuple[tuple[str, str], ...]:
    return (("mn_sizes", f"{n_train},{n_train // 4}"),) if n_train != 247 else ()


_PAPER_CELLS = (("models", "VanillaVAE,IWAE"), ("depths", "1"))
_STEPS = (("epoch_steps", str(PANCAN_EPOCH_STEPS)),)
#: The ladder, in the order of the report's table (every rung on z-scored data).
LADDER: tuple[Rung, ...] = (
    Rung("kl-247", "KL weight at tcga5's own size (the protocol as it is)", _kl(247), 247),
    Rung("kl-1000", "KL weight at N_train = 1,000", _kl(1000), 1000),
    Rung("kl-3000", "KL weight at N_train = 3,000", _kl(3000), 3000),
    Rung(
        "kl-8850",
        "(a) KL weight at the original size, N_train = 8,850",
        _kl(PANCAN_TRAIN),
        PANCAN_TRAIN,
    ),
    Rung(
        "steps-138",
        "(b) step schedule: epochs of 138 optimizer steps",
        _PAPER_CELLS + _STEPS,
        247,
        PANCAN_EPOCH_STEPS,
    ),
    Rung(
        "kl-8850+steps-138",
        "(c) both: the original size's KL weight and step schedule",
        _kl(PANCAN_TRAIN) + _PAPER_CELLS + _STEPS,
        PANCAN_TRAIN,
        PANCAN_EPOCH_STEPS,
    ),
)


@dataclass(frozen=True)
class Study:
    """One configuration ``initsens reproduce`` trains and judges: ``kind`` is protocol, ablation or
    rung; ``default`` is the reading of "the default" its preset trains (the claims are judged on
    it; the other reading, where trained too, is a check).
    """

    name: str
    kind: str
    config: Any  # SweepConfig
    folder: Path
    default: str = "default"
    ablation: Ablation | None = None
    rung: Rung | None = None
    phases: tuple[Phase, ...] = WHOLE

    def phase_runs(self) -> list[tuple[Phase, list]]:
        """Each phase with its runs (:class:`~initsens.training.RunSpec`), in training order; empty
        phases (e.g. min-max when only z-score is asked for) left out.
        """
        specs = self.config.runs()
        out = [
            (p, [s for s in specs if p.holds(s.normalization, s.initializer, self.default)])
            for p in self.phases
        ]
        return [(p, runs) for p, runs in out if runs]

    def phase_config(self, runs: Sequence[Any]) -> Any:
        """The study's configuration cut to one phase's ``runs`` (from :meth:`phase_runs`; they keep
        their ids: grid lists are not identity).
        """
        norms = tuple(dict.fromkeys(s.normalization for s in runs))
        inits = tuple(dict.fromkeys(s.initializer for s in runs))
        return replace(self.config, normalizations=norms, inits=inits)


def plan_studies(
    protocols: Sequence[str],
    overrides: dict[str, Any],
    out: Path,
    ablations: Sequence[Ablation] = (),
    ladder: bool = True,
    both_defaults: bool = True,
) -> list[Study]:
    """Every configuration of a reproduction with its folder under ``out``, on :data:`GRID` where
    ``overrides`` do not change it, each checked (a one-line error for a bad preset or setting)
    before anything is trained or created.
    """
    from initsens.training.config import SweepConfig
    from initsens.training.presets import PRESETS

    for name in [*protocols, *(a.base for a in ablations), *([LADDER_BASE] if ladder else [])]:
        PRESETS.get(name)

    def study(
        name: str,
        kind: str,
        preset: str,
        changes: dict[str, Any],
        folder: Path,
        extend: bool,
        **extra: Any,
    ) -> Study:
        changes = {**changes, "denormals": "keep"} if name in KEEPS_SUBNORMALS else changes
        settings = {**GRID, **overrides, **changes}
        cfg = SweepConfig.load(preset, settings)
        default_reading = next((i for i in cfg.inits if i in DEFAULT_READINGS), "default")
        if extend and "inits" not in settings:
            more = tuple(i for i in DEFAULT_READINGS if i not in cfg.inits)
            cfg = SweepConfig.load(preset, {**settings, "inits": ",".join(cfg.inits + more)})
        return Study(
            name, kind, cfg, folder, default_reading, phases=PHASES.get(name, WHOLE), **extra
        )

    studies = [study(name, "protocol", name, {}, out / name, both_defaults) for name in protocols]
    studies += [
        study(
            a.name, "ablation", a.base, a.overrides(), out / "ablations" / a.name, False, ablation=a
        )
        for a in ablations
    ]
    if ladder:
        studies += [
            study(
                r.name,
                "rung",
                LADDER_BASE,
                {"normalizations": "zscore", **r.overrides()},
                out / SHARED_FOLDERS[r.name]
                if r.name in SHARED_FOLDERS
                else out / "ladder" / r.name,
                False,
                rung=r,
            )
            for r in LADDER
        ]
    return studies
