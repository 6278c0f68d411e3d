"""Judge many studies fast: each study's work is cached under a key of everything its answer depends
on, and the studies whose answer is not cached run side by side in worker processes.

The key (:func:`study_key`) hashes the study's Parquet files, its configuration, the judge's
parameters, initsens's source and the versions of the libraries whose numbers enter the answer; a
cache entry that cannot be read is recomputed (the docs' :doc:`The reproduction </reproduction>`
page, Running it).
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Protocol

from initsens.atomic import atomic_path

#: The cache's folder name, under the report's own folder.
CACHE_FOLDER = ".cache"
#: The libraries whose versions enter the key (they compute the numbers).
LIBRARIES = ("numpy", "scipy", "pandas", "statsmodels", "pyarrow", "matplotlib", "scikit-learn")


class Work(Protocol):
    """One study's share of the judge: picklable (it runs in worker processes), with a repr that
    names every parameter the answer depends on.
    """

    def __call__(self, study: Any) -> Any:
        """The study's result."""
        ...

    def is_current(self, result: Any) -> bool:
        """Whether what the result points to outside itself (e.g. a written sub-report) is still
        there.
        """
        ...


def code_fingerprint() -> str:
    """sha256 of initsens's source (every .py and .toml file of the package) and the libraries'
    versions.
    """
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256()
    package = Path(__file__).parents[1]  # initsens/
    for path in sorted(p for p in package.rglob("*") if p.suffix in (".py", ".toml")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    for library in LIBRARIES:
        try:
            digest.update(f"{library}={version(library)}".encode())
        except PackageNotFoundError:
            digest.update(f"{library}=none".encode())
    return digest.hexdigest()


def study_key(study: Any, work: Work, code: str) -> str:
    """The cache key of ``work`` on ``study``: the code, the study, the work's parameters, the
    study's results.
    """
    digest = hashlib.sha256(f"{code}\0{study!r}\0{work!r}".encode())
    folder = Path(study.folder)
    for path in sorted(folder.rglob("*.parquet")) if folder.is_dir() else []:
        digest.update(
            str(path.relative_to(folder)).encode()
            + b"\0"
            + hashlib.sha256(path.read_bytes()).digest()
        )
    return digest.hexdigest()


def _cached(path: Path, key: str, work: Work) -> Any | None:
    try:
        with open(path, "rb") as handle:
            stored_key, result = pickle.load(handle)
    except Exception:
        return None
    return result if stored_key == key and work.is_current(result) else None


def _store(path: Path, key: str, result: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_bytes(pickle.dumps((key, result), protocol=pickle.HIGHEST_PROTOCOL))


def judge_studies(
    studies: Sequence[Any],
    work: Work,
    cache_dir: Path,
    step: Callable[[str], None],
    workers: int | None = None,
) -> list[Any]:
    """``work(study)`` for every study, in order: from the cache where its key matches, else
    computed, in ``workers`` processes (default: one per core) when more than one study needs it,
    and cached.
    """
    code = code_fingerprint()
    keys = [study_key(study, work, code) for study in studies]
    paths = [cache_dir / f"{study.name}.pkl" for study in studies]
    results = [_cached(path, key, work) for path, key in zip(paths, keys)]
    todo = [i for i, result in enumerate(results) if result is None]
    step(
        f"{len(studies) - len(todo)} of {len(studies)} studies unchanged since they were last "
        "judged"
    )
    workers = min(workers or os.cpu_count() or 1, len(todo))
    if workers <= 1:
        for i in todo:
            step(f"{studies[i].name}: judging")
            results[i] = work(studies[i])
            _store(paths[i], keys[i], results[i])
        return results
    # the largest folders first, so the last study to finish is a small one
    order = sorted(
        todo,
        key=lambda i: -sum(p.stat().st_size for p in Path(studies[i].folder).rglob("*.parquet")),
    )
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(work, studies[i]): i for i in order}
        for done, future in enumerate(as_completed(futures), start=1):
            i = futures[future]
            results[i] = future.result()
            _store(paths[i], keys[i], results[i])
            step(f"{done} of {len(todo)} studies judged ({studies[i].name}; {workers} processes)")
    return results
