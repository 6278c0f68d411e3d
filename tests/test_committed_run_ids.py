"""Every committed run keeps its id: each study under results/reproduction (protocols, ablations,
ladder rungs) is planned as ``initsens reproduce`` plans it, and the ids of its runs, on the dataset
its folder recorded, are the ids its folder holds. A change to the settings, the models'
hyperparameters or how an identity is built that moves an id fails here, before a folder would train
its runs again.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from conftest import REPO

from initsens.reproduction.studies import LADDER, Ablation, Study, plan_studies
from initsens.results import ResultsStore
from initsens.training.presets import PRESETS

ROOT = REPO / "results" / "reproduction"


def _committed(folder: Path) -> tuple[set[str], set[str]]:
    """The run ids and dataset hashes a results folder records."""
    runs = ResultsStore(folder).read_runs(columns=["run_id", "dataset_sha256"]).to_pandas()
    return set(runs["run_id"]), set(runs["dataset_sha256"])


def _studies() -> list[Study]:
    """The committed studies: the protocols, ablations and rungs that have a folder, planned as
    reproduce plans them.
    """
    protocols = [name for name in PRESETS.names() if (ROOT / name / "runs").is_dir()]
    ablations = []
    for folder in sorted((ROOT / "ablations").iterdir()):
        base, *changes = folder.name.split("+")
        ablations.append(
            Ablation(base, tuple((k, v) for k, _, v in (c.partition("=") for c in changes)))
        )
        assert ablations[-1].name == folder.name
    studies = plan_studies(protocols, {}, ROOT, ablations)
    assert {r.name for r in LADDER} <= {s.name for s in studies} and len(protocols) >= 3
    return [s for s in studies if (s.folder / "runs").is_dir()]


STUDIES = _studies()


@pytest.fixture(scope="module")
def folders() -> dict[Path, tuple[set[str], set[str]]]:
    return {folder: _committed(folder) for folder in {s.folder for s in STUDIES}}


@pytest.mark.parametrize("study", STUDIES, ids=lambda s: s.name)
def test_a_committed_study_plans_the_ids_its_folder_holds_phase_by_phase(study, folders):
    """Phases train in order: each phase with runs in the folder is complete, but the last one
    started.
    """
    recorded, shas = folders[study.folder]
    assert len(shas) == 1, shas
    (sha,) = shas
    counts = [
        (phase.label, sum(spec.recorded_id(sha, recorded) in recorded for spec in runs), len(runs))
        for phase, runs in study.phase_runs()
    ]
    started = [count for count in counts if count[1]]
    assert started, (
        f"{study.name}: none of its {sum(n for *_, n in counts)} planned ids is in {study.folder}"
    )
    assert all(found == planned for _, found, planned in started[:-1]), counts
    if len(counts) == 1:
        assert started[-1][1] == started[-1][2], counts


def test_every_committed_run_is_a_planned_run_of_a_study_of_its_folder(folders):
    """No run left without its study: the ids of a folder are all among the ids its studies plan."""
    planned: dict[Path, set[str]] = defaultdict(set)
    for study in STUDIES:
        recorded, (sha,) = folders[study.folder]
        planned[study.folder] |= {spec.recorded_id(sha, recorded) for spec in study.config.runs()}
    for folder, (recorded, _) in folders.items():
        assert recorded <= planned[folder], (folder, len(recorded - planned[folder]))
