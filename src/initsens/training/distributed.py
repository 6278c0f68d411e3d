"""One sweep over many workers with Dask distributed: a local cluster (``--workers N``) or an
existing one (``--scheduler ADDRESS`` or ``--scheduler-file PATH``, as dask-jobqueue and dask-mpi
write).

A chunk is cut exactly as in-process, so a run's numbers do not depend on the workers; the client
alone writes the Parquet parts (see the docs' :doc:`Run on a cluster </guide/cluster>` page). From
Python: ``initsens.train(..., cluster=Cluster(workers=2))``; or, step by step::

    with connect(workers=2) as client:
        summary = run_sweep_distributed(plan_sweep(config, "results", local_device=False), client)
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from initsens.errors import InitsensError

if TYPE_CHECKING:
    from initsens.training.config import RunSpec
    from initsens.training.sweep import SweepObserver, SweepPlan, SweepSummary

INSTALL = 'pip install "initsens[dask]"'
#: Seconds to wait for a scheduler to answer and for a first worker to join.
CONNECT_TIMEOUT = 20.0


@dataclass(frozen=True)
class Cluster:
    """Where a sweep trains: in this process (nothing set), on a new local Dask cluster of
    ``workers`` processes, or on a running one (``scheduler`` address or ``scheduler_file``);
    ``timeout``: seconds to wait for the scheduler and a first worker.
    """

    workers: int | None = None
    threads_per_worker: int | None = None
    scheduler: str | None = None
    scheduler_file: str | Path | None = None
    timeout: float = CONNECT_TIMEOUT

    def __post_init__(self) -> None:
        if self.threads_per_worker is not None and self.workers is None:
            raise InitsensError("--threads-per-worker applies to --workers (a local cluster)")

    @property
    def remote(self) -> bool:
        """Whether the sweep trains on Dask (a local cluster or a running scheduler)."""
        return any(v is not None for v in (self.workers, self.scheduler, self.scheduler_file))


def train_plan(
    plan: SweepPlan,
    observer: SweepObserver | None = None,
    cluster: Cluster = Cluster(),
    on_connect: Callable[[str], None] | None = None,
) -> SweepSummary:
    """Train a planned sweep in this process, or on the Dask cluster ``cluster`` names
    (``on_connect`` is told how many workers answered, and where).
    """
    from initsens.training.sweep import run_sweep

    if not cluster.remote:
        return run_sweep(plan, observer)
    with connect(
        cluster.workers,
        cluster.threads_per_worker,
        cluster.scheduler,
        cluster.scheduler_file,
        cluster.timeout,
    ) as client:
        if on_connect is not None:
            on_connect(
                f"Dask: {len(client.scheduler_info()['workers'])} worker(s) at "
                f"{client.scheduler.address}"
            )
        return run_sweep_distributed(plan, client, observer)


def _distributed():
    try:
        import distributed
    except ImportError:
        raise InitsensError(f"--workers and --scheduler need Dask distributed: {INSTALL}") from None
    return distributed


@contextlib.contextmanager
def connect(
    workers: int | None = None,
    threads_per_worker: int | None = None,
    scheduler: str | None = None,
    scheduler_file: str | Path | None = None,
    timeout: float = CONNECT_TIMEOUT,
) -> Iterator[Any]:
    """A Dask client, closed on exit: on a new LocalCluster of ``workers`` processes (closed too),
    or on an existing scheduler. Every failure to reach a cluster with at least one worker is a
    one-line error within ``timeout`` seconds.
    """
    distributed = _distributed()
    given = [v is not None for v in (workers, scheduler, scheduler_file)]
    if sum(given) != 1:
        raise InitsensError("give one of --workers, --scheduler or --scheduler-file")
    if workers is not None:
        if workers < 1:
            raise InitsensError(f"--workers must be >= 1 (got {workers})")
        threads = threads_per_worker or max(1, (os.cpu_count() or 1) // workers)
        from initsens.training.memory import worker_environment

        # For the cluster's whole life, so that a worker the nanny restarts (after a crash) gets it
        # too: the workers train in threads and need one malloc arena (see training.memory). The
        # preload imports the training code while the workers start, not inside the first chunk.
        with (
            worker_environment(),
            distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=threads,
                processes=True,
                dashboard_address=None,
                preload=[__name__],
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            yield client
        return
    if scheduler_file is not None:
        path = Path(scheduler_file)
        try:
            address = json.loads(path.read_text())["address"]
        except FileNotFoundError:
            raise InitsensError(
                f"{path}: no such scheduler file (dask-jobqueue or dask-mpi writes it)"
            ) from None
        except (json.JSONDecodeError, KeyError, TypeError):
            raise InitsensError(
                f"{path}: not a Dask scheduler file (JSON with an 'address')"
            ) from None
    else:
        address = scheduler
    try:
        client = distributed.Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InitsensError(
            f"cannot reach the Dask scheduler at {address} within {timeout:.0f} s "
            f"({type(exc).__name__}); is it running?"
        ) from None
    with client:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (TimeoutError, OSError):
            raise InitsensError(
                f"the Dask cluster at {address} has no workers (waited {timeout:.0f} s); "
                "start some with dask worker"
            ) from None
        yield client


def dask_setup(worker=None) -> None:
    """Dask's preload hook (``dask worker --preload initsens.training.distributed``): import the
    training code, the clustering backends and what torch imports lazily on a first optimizer
    (torch._dynamo, ~0.8 s) once, when a worker starts, instead of inside its first chunk.
    """
    import importlib.util

    import torch

    import initsens.training.sweep  # noqa: F401 (the models, the trainers)

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    if importlib.util.find_spec("sklearn") is not None:
        import sklearn.cluster
        import sklearn.metrics  # noqa: F401


#: Per worker process: the prepared splits of the datasets it has seen (dataset sha256 -> cache).
_CACHES: dict[str, Any] = {}


def train_remote(
    chunk: Sequence[RunSpec],
    dataset,
    device_name: str,
    plugins: Sequence[tuple[str, str, str]] = (),
):
    """On a worker: register the sweep's models and initializers from outside initsens (``plugins``,
    by import path), prepare the chunk's splits (cached per worker), train it, return (results, data
    infos, error, device).
    """
    from initsens.models.plugins import register_paths
    from initsens.training.device import resolve_device
    from initsens.training.sweep import PreparedCache, train_chunk

    register_paths(plugins)
    cache = _CACHES.setdefault(dataset.sha256, PreparedCache(dataset, chunk[0].config))
    data = [cache(spec) for spec in chunk]
    device = resolve_device(device_name)
    results, error = train_chunk(chunk, data, device)
    return results, [d.info() for d in data], error, str(device)


def _device_kind(name: str) -> str:
    from initsens.training.device import resolve_device

    return resolve_device(name).type


def _free_gpu_bytes() -> int:
    import torch

    return int(torch.cuda.mem_get_info()[0])


def run_sweep_distributed(
    plan: SweepPlan, client, observer: SweepObserver | None = None
) -> SweepSummary:
    """Train the plan's chunks on the cluster's workers, writing each chunk's results as it
    completes.
    """
    import time

    import torch

    from initsens.models.plugins import import_paths
    from initsens.training.sweep import (
        SweepObserver,
        SweepSummary,
        chunks,
        ensemble_budget,
        record_chunk,
    )

    distributed = _distributed()
    observer = observer or SweepObserver()
    summary = SweepSummary(plan.store.root, total=plan.total, skipped=plan.total - len(plan.todo))
    observer.start(plan.total, len(plan.todo))
    start = time.perf_counter()
    budget = None
    if plan.todo:  # the workers' devices decide the chunk size, as the one device does in-process
        kinds = set(client.run(_device_kind, plan.config.device).values())
        if kinds == {"cuda"}:
            budget = min(client.run(_free_gpu_bytes).values()) // 4
        else:
            budget = ensemble_budget(torch.device("cpu"))
    work = chunks(plan, budget)
    plugins = import_paths(plan.config.models, plan.config.inits)
    futures = {}
    try:
        dataset = client.scatter(plan.dataset, broadcast=True) if work else None
        for chunk in work:
            future = client.submit(
                train_remote, chunk, dataset, plan.config.device, plugins, pure=False
            )
            futures[future] = chunk
            observer.chunk_start(chunk)
        for future in distributed.as_completed(futures):
            results, infos, error, device = future.result()
            record_chunk(
                plan,
                summary,
                observer,
                chunk=futures[future],
                data=infos,
                results=results,
                error=error,
                device=device,
            )
            futures[future] = []  # recorded
    except KeyboardInterrupt:
        summary.interrupted, summary.lost = True, sum(len(chunk) for chunk in futures.values())
        client.cancel(list(futures))
    finally:
        plan.store.release()  # the client is the folder's only writer; workers never write
    summary.wall_seconds = time.perf_counter() - start
    return summary
