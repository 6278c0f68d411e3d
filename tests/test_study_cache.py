"""The judge's per-study cache and worker processes (``initsens.reproduction.cache``): a study is
computed again exactly when something its answer depends on changed, and the processes give what one
process gives.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from initsens.reproduction.cache import judge_studies


@dataclass(frozen=True)
class ToyStudy:
    name: str
    folder: Path


@dataclass(frozen=True)
class ToyWork:
    """Sums the ``x`` column of a study's Parquet files, times ``scale``; counts its calls in a file
    (it may run in another process).
    """

    scale: float
    log: Path

    def __call__(self, study: ToyStudy) -> float:
        with open(self.log, "a") as handle:
            handle.write(study.name + "\n")
        return self.scale * sum(
            pd.read_parquet(p)["x"].sum() for p in sorted(study.folder.glob("*.parquet"))
        )

    def is_current(self, result: float) -> bool:
        return result >= 0  # a negative total stands for an output that has gone


def calls(log: Path) -> list[str]:
    return sorted(log.read_text().split()) if log.exists() else []


def make_studies(root: Path) -> list[ToyStudy]:
    studies = []
    for i, name in enumerate(("a", "b", "c")):
        (root / name).mkdir(parents=True)
        pd.DataFrame({"x": [i, i + 1.0]}).to_parquet(root / name / "part-0.parquet")
        studies.append(ToyStudy(name, root / name))
    return studies


def test_a_study_is_judged_again_only_when_its_results_or_the_work_change(tmp_path):
    studies, log, cache = make_studies(tmp_path / "results"), tmp_path / "log", tmp_path / "cache"
    work, steps = ToyWork(2.0, log), []
    assert judge_studies(studies, work, cache, steps.append, workers=1) == [2.0, 6.0, 10.0]
    assert (
        calls(log) == ["a", "b", "c"]
        and steps[0] == "0 of 3 studies unchanged since they were last judged"
    )
    log.unlink()
    assert (
        judge_studies(studies, work, cache, steps.append, workers=1) == [2.0, 6.0, 10.0]
        and calls(log) == []
    )
    pd.DataFrame({"x": [10.0]}).to_parquet(
        studies[1].folder / "part-1.parquet"
    )  # a new batch of runs for b
    assert judge_studies(studies, work, cache, steps.append, workers=1) == [
        2.0,
        26.0,
        10.0,
    ] and calls(log) == ["b"]
    log.unlink()
    assert judge_studies(studies, ToyWork(1.0, log), cache, steps.append, workers=1) == [
        1.0,
        13.0,
        5.0,
    ]
    assert calls(log) == ["a", "b", "c"]  # other parameters: every study again
    log.unlink()
    (cache / "a.pkl").write_bytes(b"cut sh")  # a cache file that cannot be read
    (cache / "c.pkl").write_bytes(
        pickle.dumps((pickle.loads((cache / "c.pkl").read_bytes())[0], -1.0))
    )
    assert judge_studies(studies, ToyWork(1.0, log), cache, steps.append, workers=1) == [
        1.0,
        13.0,
        5.0,
    ]
    assert calls(log) == ["a", "c"]  # recomputed: unreadable, and an answer whose outputs have gone


def test_worker_processes_give_what_one_process_gives(tmp_path):
    studies, log = make_studies(tmp_path / "results"), tmp_path / "log"
    steps: list[str] = []
    together = judge_studies(
        studies, ToyWork(3.0, log), tmp_path / "cache-2", steps.append, workers=2
    )
    assert together == judge_studies(
        studies, ToyWork(3.0, log), tmp_path / "cache-1", lambda _: None, workers=1
    )
    assert calls(log) == ["a", "a", "b", "b", "c", "c"]
    assert steps[-1].startswith("3 of 3 studies judged") and "2 processes" in steps[-1]
