"""Where sweeps run: local processes by default, or a Dask or Ray client a user already has (docs/design.md, "Verifier").

`get_executor(workers)` returns an object with `map(fn, items) -> list`, order kept.
`workers`: None (all local cores), an int (1 = in this process), a Dask
`distributed.Client`, the `ray` module (initialized by the user), or any
`concurrent.futures.Executor`.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor

from sethlab.cpus import usable_cpus
from sethlab.errors import InvalidInstance


class SerialExecutor:
    """Runs every item in this process."""

    workers = 1

    def map(self, fn, items):
        return [fn(x) for x in items]


class LocalProcessExecutor:
    """A process pool on this machine (spawned workers: no fork of threads or torch state). The workers adopt
    the exact engine's kernels this process has chosen (`ops.kernel_choices`), so a call gives the same bits in a
    worker as here."""

    def __init__(self, workers: int):
        self.workers = workers

    def map(self, fn, items):
        from sethlab.attention.ops import adopt_kernel_choices, kernel_choices

        items = list(items)
        if not items:
            return []
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(self.workers, len(items)), mp_context=ctx,
                                 initializer=adopt_kernel_choices, initargs=(kernel_choices(),)) as pool:
            return list(pool.map(fn, items))


class WrappedExecutor:
    """A user's concurrent.futures Executor."""

    def __init__(self, executor: Executor):
        self.executor = executor
        self.workers = getattr(executor, "_max_workers", None)

    def map(self, fn, items):
        return list(self.executor.map(fn, items))


class DaskExecutor:
    """A dask.distributed Client: client.map, then client.gather."""

    def __init__(self, client):
        self.client = client
        self.workers = None

    def map(self, fn, items):
        return self.client.gather(self.client.map(fn, list(items), pure=False))


class RayExecutor:
    """The ray module: one remote task per item."""

    def __init__(self, ray):
        self.ray = ray
        self.workers = None

    def map(self, fn, items):
        remote = self.ray.remote(fn)
        return self.ray.get([remote.remote(x) for x in items])


def get_executor(workers=None):
    """An executor for `workers` (see the module docstring)."""
    if workers is None:
        n = usable_cpus()
        return SerialExecutor() if n == 1 else LocalProcessExecutor(n)
    if isinstance(workers, bool):
        raise InvalidInstance(f"workers: expected a count or an executor, got {workers!r}")
    if isinstance(workers, int):
        if workers < 1:
            raise InvalidInstance(f"workers: must be >= 1, got {workers}")
        return SerialExecutor() if workers == 1 else LocalProcessExecutor(workers)
    if isinstance(workers, Executor):
        return WrappedExecutor(workers)
    if hasattr(workers, "gather") and hasattr(workers, "map"):
        return DaskExecutor(workers)
    if hasattr(workers, "remote") and hasattr(workers, "get"):
        return RayExecutor(workers)
    if hasattr(workers, "map"):
        return workers
    raise InvalidInstance(f"workers: expected a count, an Executor, a Dask client or the ray module, got {type(workers).__name__}")
