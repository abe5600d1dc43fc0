"""Array backends (numpy, torch on any device) behind one small interface.

The exact and polynomial engines are written once against `Ops`; each backend
supplies matrix products, in-place elementwise passes and transfers (docs/design.md
"Backends"). numpy runs its elementwise passes on a small thread pool, since
numpy ufuncs are single-threaded and, for small d, the n² exponentials are
the bottleneck (docs/problems.md §2.2).

Threading rule (numpy): a pass over many row blocks runs the blocks on the pool, one
block per thread, with BLAS held at one thread (`map_blocks`); the blocks are sized
to stay in cache. Two threads each running single-threaded products and
exponentials on their own blocks beat one block at a time with BLAS threads: on 2
cores, 1.9-2.6x at nk = 1024-4096 (the thin products of the exact engine lose most
of BLAS's threading), and they do not fight for the cores under load. Products
outside such passes keep BLAS's own threads.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from sethlab.attention.blocks import EXACT_SUM_CHUNK, small_product_chunk, small_product_rows
from sethlab.cpus import usable_cpus
from sethlab.errors import BackendUnavailable, InvalidInstance

BACKENDS = ("numpy", "torch")
_DTYPES = {"float64": np.float64, "float32": np.float32}


_TORCH_DTYPES = {"torch.float64": "float64", "torch.float32": "float32"}


def dtype_name(dtype) -> str:
    """'float64' or 'float32' for a dtype given the way numpy reads it; None means float64.

    As in numpy, Python's float, "float", "double", "float64", "f8" and np.float64 are float64;
    float32 is asked for by a float32 name (np.float32, "float32", "f4", "single", torch.float32).
    Anything else (float16, long double, integers, unknown names) is an InvalidInstance.
    """
    if dtype is None:
        return "float64"
    if type(dtype).__module__ == "torch" or str(dtype).startswith("torch."):
        name = _TORCH_DTYPES.get(str(dtype))
        if name is None:
            raise InvalidInstance(f"dtype: must be float64 or float32, got {dtype!r}")
        return name
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        raise InvalidInstance(f"dtype: must be float64 or float32 (as numpy names them), got {dtype!r}") from None
    if dt == np.float64:
        return "float64"
    if dt == np.float32:
        return "float32"
    raise InvalidInstance(f"dtype: must be float64 or float32, got {dtype!r} ({dt.name})")


class NumpyOps:
    """numpy on the CPU; elementwise passes split over row chunks on `threads` threads."""

    name = "numpy"
    block_elements = 1 << 22  # rows of a b×nk block per pass (sethlab.attention.blocks)

    def __init__(self, dtype="float64", threads: int | None = None):
        self.dtype_name = dtype_name(dtype)
        self.dtype = _DTYPES[self.dtype_name]
        self.device = "cpu"
        self.threads = max(1, threads if threads is not None else min(usable_cpus(), 8))
        self._pool = _pool(self.threads) if self.threads > 1 else None
        self.kernels, self._exp = "numpy", _numpy_exp

    # transfers
    def asarray(self, a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a, dtype=self.dtype)

    def to_numpy(self, x) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    def empty(self, shape):
        return np.empty(shape, dtype=self.dtype)

    def zeros(self, shape):
        return np.zeros(shape, dtype=self.dtype)

    def ones(self, shape):
        return np.ones(shape, dtype=self.dtype)

    def hstack(self, parts):
        return np.hstack(parts)

    def vstack(self, parts):
        return np.vstack(parts)

    def matmul(self, a, b, out=None):
        """a @ b; a product written into a buffer (the engines' large ones) runs on torch's kernels where those
        were chosen (`prepare_exp`), others on numpy's."""
        if out is not None and self.kernels == "torch" and a.flags.writeable and b.flags.writeable:
            _torch_matmul(a, b, out)
            return out
        return np.matmul(a, b, out=out)

    def sum_all(self, x) -> float:
        return float(np.sum(x))

    def isfinite_all(self, x) -> bool:
        return bool(np.isfinite(x).all())

    def eps(self) -> float:
        return float(np.finfo(self.dtype).eps)

    def synchronize(self) -> None:
        pass

    @property
    def workers(self) -> int:
        """How many blocks `map_blocks` runs at once."""
        return self.threads

    def map_blocks(self, fn, blocks, consume, workers: int | None = None):
        """consume(fn(*task)) for each task (a block's (lo, hi), or any tuple) in order, the tasks spread over
        `workers` threads (default: the pool's) with BLAS at one thread.

        The calling thread is one of the workers: it and `workers` − 1 pool threads each take the next task
        as they become free (a core lost to another process slows only its share), and the caller consumes
        the results in task order between its own tasks. A pass thus wakes each pool thread once, not once a
        task (a wake-up costs milliseconds on a VM, about a whole call at n = 256). Only results that
        finished ahead of their turn are held. At most `workers` threads ever run tasks of the pass, so
        per-thread buffers stay within what the memory plan counted. Called from inside a task (nested), the
        tasks run in that thread, one after the other. `blocks` may be a generator: it is advanced by
        whichever worker is free, one at a time. The first exception (from a task or from `blocks`) stops the
        pass once the tasks in flight finish; the results before it are consumed, then it is raised.
        """
        w = self.threads if workers is None else max(1, min(workers, self.threads))
        if self._pool is None or w < 2 or _in_pool():
            for task in blocks:
                consume(fn(*task))
            return
        pool = _pool(w - 1)
        shared = _SharedPass(fn, blocks)
        with self.single_thread():
            helpers = [pool.submit(shared.work) for _ in range(w - 1)]
            try:
                shared.work(consume)
            finally:
                shared.stop()
                for f in helpers:  # a helper still queued (the pool busy with another pass) is not waited for
                    if not f.cancel():
                        f.exception()  # wait: no task may outlive the BLAS limit or its buffers
            shared.finish(consume)

    def sum_chunk(self, rows: int, cols: int) -> int:
        """Keys per product of a sum over the keys with `rows` × `cols` results: within OpenBLAS's small-product
        kernel (`blocks.small_product_chunk`) on numpy's kernels, EXACT_SUM_CHUNK on torch's."""
        return small_product_chunk(rows, cols) if self.kernels == "numpy" else EXACT_SUM_CHUNK

    def sub_rows(self, rows: int, nk: int, cols: int) -> int:
        """Rows per sub-block for a block's products over nk keys with `cols` columns (`blocks.small_product_rows`;
        the whole block on torch's kernels)."""
        return small_product_rows(rows, nk, cols) if self.kernels == "numpy" else rows

    def einsum(self, spec: str, *operands):
        return np.einsum(spec, *operands)

    def prepare_exp(self, scores: int) -> str:
        """Choose the kernels (exp and the large products) for a pass of `scores` scores (`kernel_choice`);
        returns their name."""
        self.kernels = kernel_choice(self.dtype_name, scores)
        self._exp = _torch_exp if self.kernels == "torch" else _numpy_exp
        if self.kernels == "torch":  # loaded now (an adopted choice too), so the passes hold its threads
            torch_from_numpy(np.zeros(1))
        return self.kernels

    def single_thread(self):
        """Context: numpy's BLAS (and torch's threads in this thread) at one thread, since small products lose more
        to BLAS's threads than they gain; on torch's kernels in float32, torch's products held at full precision
        (`_torch_precision_held`)."""
        torch = sys.modules.get("torch") if self.kernels == "torch" and self.dtype_name == "float32" else None
        if torch is None:
            return _single_threaded_blas()
        stack = contextlib.ExitStack()
        stack.enter_context(_single_threaded_blas())
        stack.enter_context(_torch_precision_held(torch))
        return stack

    # elementwise passes over a b×nk block, in place (parallel=False inside a `map_blocks` task)
    def _rows(self, fn, *arrays, parallel: bool = True):
        n = arrays[0].shape[0]
        if not parallel or self._pool is None or arrays[0].size < 1 << 16 or n < 2 or _in_pool():
            fn(*arrays)
            return
        k = min(self.threads, n)
        cuts = [n * i // k for i in range(k + 1)]
        futures = [
            self._pool.submit(_pool_task, fn, *(a[lo:hi] for a in arrays)) for lo, hi in zip(cuts, cuts[1:])
            if hi > lo
        ]
        for f in futures:
            f.result()

    def shifted_exp_(self, x, parallel: bool = True):
        """x ← exp(x − rowmax(x)) in place (the row-max subtraction of docs/problems.md §0)."""

        exp = self._exp

        def work(blk):
            m = blk.max(axis=1, keepdims=True)
            np.subtract(blk, m, out=blk)
            exp(blk)

        self._rows(work, x, parallel=parallel)
        return x

    def exp_(self, x, parallel: bool = True):
        """x ← exp(x) in place (scores that need no shift, docs/rounding.md "Exact engine")."""
        self._rows(self._exp, x, parallel=parallel)
        return x

    def shifted_exp_parts_(self, parts, parallel: bool = True):
        """Each part ← exp(part − m) in place, m the row maxima over all the parts (one block's scores, its keys
        split in groups)."""
        m = parts[0].max(axis=1, keepdims=True)
        for part in parts[1:]:
            np.maximum(m, part.max(axis=1, keepdims=True), out=m)
        exp = self._exp

        def work(blk, mx):
            np.subtract(blk, mx, out=blk)
            exp(blk)

        for part in parts:
            self._rows(work, part, m, parallel=parallel)
        return parts

    def mul_(self, x, y, parallel: bool = True):
        """x ← x ∘ y in place."""
        self._rows(lambda a, b: np.multiply(a, b, out=a), x, y, parallel=parallel)
        return x

    # --- polynomial-method engine (sethlab.attention.poly, docs/polynomial.md §3) ---
    def mul_into(self, x, y, out):
        """out ← x ∘ y (broadcasting), written into an existing array (monomial features, docs/polynomial.md §3.2)."""
        return np.multiply(x, y, out=out)

    def memory_available(self) -> int | None:
        """Bytes this device can still allocate (None: the caller reads host memory)."""
        return None

    def full_precision(self):
        """numpy's products are always in the working precision (docs/rounding.md, "Assumptions"); torch's kernels
        (`kernel_choice`) are held to it inside each pass (`single_thread`)."""
        return contextlib.nullcontext()


def _numpy_exp(blk) -> None:
    np.exp(blk, out=blk)


def _torch_exp(blk) -> None:
    t = torch_from_numpy(blk)
    _TORCH[0](t, out=t)


def _torch_matmul(a, b, out) -> None:
    out_t = torch_from_numpy(out)  # loads torch's functions on first use
    f = _TORCH[1]
    _TORCH[2](f(a), f(b), out=out_t)


_TORCH: list = []  # torch.exp, torch.from_numpy, torch.matmul: bound once (imported on first use)


def torch_from_numpy(a):
    if not _TORCH:
        import torch

        _TORCH.extend([torch.exp, torch.from_numpy, torch.matmul])
    return _TORCH[1](a)


# the first pass may import torch (about 1.5 s) to measure its kernels only from this many scores on
KERNELS_IMPORT_FROM = 1 << 22
# torch's kernels are taken when a representative block runs at least this much faster with them
TORCH_KERNELS_GAIN = 1.1
_KERNEL_CHOICE: dict = {}
_KERNEL_LOCK = threading.Lock()


def kernel_choice(dtype: str, scores: int) -> str:
    """"numpy" or "torch": whose exp and large products the numpy engine uses for `dtype` (docs/problems.md §2.2).

    SETHLAB_KERNELS=numpy|torch|auto (default auto; SETHLAB_EXP is its older name). auto decides once per
    process and dtype, at the first pass, and the choice then holds for every call (the bits must not
    change between calls): where torch is installed, and either already imported or that first pass has
    KERNELS_IMPORT_FROM scores or more, one representative block (`_block_seconds`) is timed on one thread
    with each and torch's kernels (MKL's products, torch's exp) are taken if at least TORCH_KERNELS_GAIN
    times faster. Both exps are within the 4 ulps the bounds assume (tests/attention/test_elementary_ulps.py),
    and the bounds hold for products summed in any order."""
    name = "SETHLAB_KERNELS" if "SETHLAB_KERNELS" in os.environ else "SETHLAB_EXP"
    want = os.environ.get(name, "auto").strip().lower() or "auto"
    if want not in ("auto", "numpy", "torch"):
        raise InvalidInstance(f"{name}: must be numpy, torch or auto, got {want!r}")
    if want == "numpy":
        return "numpy"
    if want == "torch":
        try:
            torch_from_numpy(np.zeros(1))
        except Exception as exc:
            raise BackendUnavailable(f"{name}: 'torch' needs PyTorch, which does not load here ({exc})") from None
        return "torch"
    with _KERNEL_LOCK:
        if dtype not in _KERNEL_CHOICE:
            times = {"choice": "numpy"}
            if "torch" in sys.modules or scores >= KERNELS_IMPORT_FROM:
                try:
                    torch_from_numpy(np.zeros(1))
                except Exception:  # not installed, or an install that does not load: numpy's kernels
                    pass
                else:
                    with _single_threaded_blas(), _torch_precision_held(sys.modules["torch"]):
                        times.update(numpy=_block_seconds("numpy", dtype), torch=_block_seconds("torch", dtype))
                    if times["numpy"] >= TORCH_KERNELS_GAIN * times["torch"]:
                        times["choice"] = "torch"
            _KERNEL_CHOICE[dtype] = times
        return _KERNEL_CHOICE[dtype]["choice"]


def kernel_choices() -> dict:
    """The kernels this process has chosen so far, per dtype (`kernel_choice`), for worker processes to adopt."""
    with _KERNEL_LOCK:
        return {dtype: dict(times) for dtype, times in _KERNEL_CHOICE.items()}


def adopt_kernel_choices(choices: dict) -> None:
    """Take another process's choices (`kernel_choices`), so this one gives the same bits for the same calls."""
    with _KERNEL_LOCK:
        for dtype, times in choices.items():
            _KERNEL_CHOICE.setdefault(dtype, dict(times))


def _block_seconds(kernels: str, dtype: str, rows: int = 256, nk: int = 2048, d: int = 24) -> float:
    """Seconds (best of 5) of one engine block with these kernels: the scores product, exp and the product over
    the keys, in chunks as the engine would take them. `kernel_choice` calls it with BLAS and this thread's
    torch held at one thread (`_single_threaded_blas`), as in a pass."""
    rng = np.random.default_rng(0)
    dt = _DTYPES[dtype]
    Q, Kt = rng.random((rows, d)).astype(dt) / d, rng.random((d, nk)).astype(dt)
    A = rng.random((nk, d + 1)).astype(dt)
    P, U, tmp = np.empty((rows, nk), dt), np.empty((rows, d + 1), dt), np.empty((rows, d + 1), dt)
    if kernels == "torch":
        exp, chunk = _torch_exp, EXACT_SUM_CHUNK

        def mm(a, b, out):
            _torch_matmul(a, b, out)
    else:
        exp, chunk, mm = _numpy_exp, small_product_chunk(rows, d + 1), np.matmul
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        mm(Q, Kt, out=P)
        exp(P)
        mm(P[:, :chunk], A[:chunk], out=U)
        for lo in range(chunk, nk, chunk):
            mm(P[:, lo : lo + chunk], A[lo : lo + chunk], out=tmp)
            U += tmp
        best = min(best, time.perf_counter() - t0)
    return best


_POOLS: dict[int, ThreadPoolExecutor] = {}
_BLAS: dict = {"libs": None, "holders": 0, "saved": None}
_BLAS_LOCK = threading.Lock()


@contextlib.contextmanager
def _single_threaded_blas():
    """Hold numpy's BLAS (and torch's threads, where torch is loaded) at one thread while any `map_blocks` pass
    runs (threadpoolctl), then restore them.

    Passes may run at once from several user threads: the first one in sets the limit and the last
    one out restores BLAS's own setting, so no interleaving leaves BLAS stuck at one thread. The BLAS
    libraries are found once; each pass then reads and sets their thread counts directly (a few
    microseconds, against about 20 for threadpoolctl's limit and restore, which a call at n = 256 felt).
    """
    with _BLAS_LOCK:
        if _BLAS["libs"] is None:
            from threadpoolctl import ThreadpoolController

            _BLAS["libs"] = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
        if _BLAS["holders"] == 0:
            saved = [(c, c.get_num_threads()) for c in _BLAS["libs"]]
            _BLAS["saved"] = [(c, n) for c, n in saved if n is not None and n != 1]
            for c, _ in _BLAS["saved"]:
                _as_blas_owner(lambda c=c: c.set_num_threads(1))
        _BLAS["holders"] += 1
    # torch's kernels (`kernel_choice`) run inside the passes too. Its thread count (OpenMP's, MKL's) belongs to
    # each thread: this one's is held at one and given back here; the pool's threads hold theirs (`_SharedPass`)
    mine = _torch_one_thread()
    try:
        yield
    finally:
        if mine not in (None, 1):
            sys.modules["torch"].set_num_threads(mine)
        with _BLAS_LOCK:
            _BLAS["holders"] -= 1
            if _BLAS["holders"] == 0:
                for c, n in _BLAS["saved"]:
                    _as_blas_owner(lambda c=c, n=n: c.set_num_threads(n))
                _BLAS["saved"] = None


def _torch_one_thread() -> int | None:
    """Set this thread's torch thread count to one, where torch is loaded; its count before (None: no torch)."""
    torch = sys.modules.get("torch")
    if torch is None or not hasattr(torch, "set_num_threads"):
        return None
    n = torch.get_num_threads()
    if n != 1:
        torch.set_num_threads(1)
    return n


def _as_blas_owner(change):
    """Run a threadpoolctl limit or restore from this thread, whichever thread set the last one.

    threadpoolctl (3.8 and later) lets only one "controlling" thread change a pthreads OpenBLAS and
    silently ignores the others; a limit made without its context manager never hands control back.
    A pass entered from another user thread would then run with BLAS's threads (found by a test of
    three user threads: products with 2 threads, other bits). Control is cleared before and after.
    """
    try:
        from threadpoolctl import OpenBLASController

        clear = OpenBLASController.clear_controlling_thread
    except (ImportError, AttributeError):  # older threadpoolctl: every thread may set the limit
        return change()
    clear(force=True)
    try:
        return change()
    finally:
        clear(force=True)


_TASK = threading.local()


def _in_pool() -> bool:
    """True inside a task of sethlab's pools: work submitted from there would wait on its own pool."""
    return getattr(_TASK, "active", False)


def _pool_task(fn, *args):
    _TASK.active = True
    try:
        return fn(*args)
    finally:
        _TASK.active = False


class _SharedPass:
    """The tasks of one `map_blocks` pass, taken one at a time by whichever worker is free; results are kept
    by task index until the caller consumes them in order."""

    def __init__(self, fn, tasks):
        self.fn, self.tasks = fn, enumerate(tasks)
        self.cond = threading.Condition()
        self.results: dict = {}
        self.taken = 0  # tasks handed out
        self.consumed = 0
        self.failed_at = None  # index of the first failure (a task's, or the iterator's at `taken`)
        self.error = None
        self.stopped = False

    def _take(self):
        with self.cond:
            if self.stopped or self.error is not None:
                return None
            try:
                i, task = next(self.tasks)
            except StopIteration:
                self.stopped = True
                return None
            except BaseException as exc:
                self._fail(self.taken, exc)
                return None
            self.taken += 1
            return i, task

    def _fail(self, i: int, exc: BaseException) -> None:
        if self.failed_at is None or i < self.failed_at:
            self.failed_at, self.error = i, exc
        self.cond.notify_all()

    def work(self, consume=None) -> None:
        """Run tasks until none is left; the caller passes `consume` and takes the ready results in order."""
        active = getattr(_TASK, "active", False)
        _TASK.active = True
        if consume is None:  # a pool thread: sethlab's own, its torch count stays at one
            _torch_one_thread()
        try:
            while (item := self._take()) is not None:
                i, task = item
                try:
                    result = self.fn(*task)
                except BaseException as exc:
                    with self.cond:
                        self._fail(i, exc)
                    return
                with self.cond:
                    self.results[i] = result
                    self.cond.notify_all()
                if consume is not None:
                    self._consume_ready(consume)
        finally:
            _TASK.active = active

    def _consume_ready(self, consume) -> None:
        while self.consumed in self.results:
            with self.cond:
                result = self.results.pop(self.consumed)
            self.consumed += 1
            consume(result)

    def stop(self) -> None:
        with self.cond:
            self.stopped = True

    def finish(self, consume) -> None:
        """After every worker is done: consume the rest in order, up to the first failure, then raise it."""
        end = self.taken if self.failed_at is None else self.failed_at
        while self.consumed < end:
            if self.consumed not in self.results:
                break
            self._consume_ready(consume)
        if self.error is not None:
            raise self.error


def _pool(threads: int) -> ThreadPoolExecutor:
    if threads not in _POOLS:
        _POOLS[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sethlab")
    return _POOLS[threads]


def _import_torch():
    try:
        import torch
    except ImportError:
        raise BackendUnavailable(
            "backend: 'torch' needs PyTorch, which is not installed (pip install 'sethlab[torch]')"
        ) from None
    return torch


class TorchOps:
    """torch on any device; torch's own kernels parallelize the elementwise passes."""

    name = "torch"
    block_elements = 1 << 23  # torch's own threads favour larger blocks (measured, n = 16384)

    def __init__(self, dtype="float64", device=None):
        torch = _import_torch()
        self.torch = torch
        self.dtype_name = dtype_name(dtype)
        self.dtype = getattr(torch, self.dtype_name)
        try:
            dev = torch.device(device if device is not None else "cpu")
        except (RuntimeError, TypeError) as exc:
            raise InvalidInstance(f"device: {device!r} is not a torch device ({exc})") from None
        if dev.type == "cuda":
            if not torch.cuda.is_available():
                raise BackendUnavailable(f"device: {device!r} requested but CUDA is not available here")
            if dev.index is not None and dev.index >= torch.cuda.device_count():
                raise BackendUnavailable(
                    f"device: {device!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist"
                )
        elif dev.type == "mps":
            if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
                raise BackendUnavailable(f"device: {device!r} requested but MPS is not available here")
            if self.dtype_name == "float64":
                raise BackendUnavailable("dtype: MPS has no float64; pass dtype='float32'")
        elif dev.type != "cpu":
            raise BackendUnavailable(f"device: {device!r} is not supported (use 'cpu', 'cuda' or 'cuda:N')")
        self.device = dev

    def asarray(self, a):
        a = np.ascontiguousarray(a)
        if not a.flags.writeable:  # torch refuses to alias read-only memory
            a = a.copy()
        return self.torch.as_tensor(a, dtype=self.dtype, device=self.device)

    def to_numpy(self, x) -> np.ndarray:
        return x.detach().to("cpu", self.torch.float64).numpy()

    def empty(self, shape):
        return self.torch.empty(shape, dtype=self.dtype, device=self.device)

    def zeros(self, shape):
        return self.torch.zeros(shape, dtype=self.dtype, device=self.device)

    def ones(self, shape):
        return self.torch.ones(shape, dtype=self.dtype, device=self.device)

    def hstack(self, parts):
        return self.torch.hstack(parts)

    def vstack(self, parts):
        return self.torch.vstack(parts)

    def matmul(self, a, b, out=None):
        return self.torch.matmul(a, b, out=out)

    def sum_all(self, x) -> float:
        return float(self.torch.sum(x))

    def isfinite_all(self, x) -> bool:
        return bool(self.torch.isfinite(x).all())

    def eps(self) -> float:
        return float(self.torch.finfo(self.dtype).eps)

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)

    @property
    def workers(self) -> int:
        """torch threads inside each operation; blocks run one after the other."""
        return 1

    def map_blocks(self, fn, blocks, consume, workers: int | None = None):
        """consume(fn(*task)) for each block (or task tuple), in order (torch parallelizes inside each operation)."""
        for task in blocks:
            consume(fn(*task))

    def sum_chunk(self, rows: int, cols: int) -> int:
        """Keys per product of a sum over the keys: torch's kernels have no small-product path to aim at."""
        return EXACT_SUM_CHUNK

    def sub_rows(self, rows: int, nk: int, cols: int) -> int:
        """Rows per sub-block: the whole block (torch's own threads want large operations)."""
        return rows

    def einsum(self, spec: str, *operands):
        return self.torch.einsum(spec, *operands)

    def prepare_exp(self, scores: int) -> str:
        """torch's own exp."""
        return "torch"

    def single_thread(self):
        """torch keeps its own threading."""
        return contextlib.nullcontext()

    def shifted_exp_(self, x, parallel: bool = True):
        x.sub_(x.amax(dim=1, keepdim=True))
        return x.exp_()

    def exp_(self, x, parallel: bool = True):
        return x.exp_()

    def shifted_exp_parts_(self, parts, parallel: bool = True):
        m = parts[0].amax(dim=1, keepdim=True)
        for part in parts[1:]:
            m = self.torch.maximum(m, part.amax(dim=1, keepdim=True))
        for part in parts:
            part.sub_(m).exp_()
        return parts

    def mul_(self, x, y, parallel: bool = True):
        return x.mul_(y)

    # --- polynomial-method engine (sethlab.attention.poly, docs/polynomial.md §3) ---
    def mul_into(self, x, y, out):
        """out ← x ∘ y (broadcasting), written into an existing tensor (monomial features, docs/polynomial.md §3.2)."""
        return self.torch.mul(x, y, out=out)

    def memory_available(self) -> int | None:
        """Free bytes on a CUDA device; None on the CPU (the caller reads host memory)."""
        if self.device.type == "cuda":
            return int(self.torch.cuda.mem_get_info(self.device)[0])
        return None

    def full_precision(self):
        """float32 products in float32 (no TF32, no bfloat16) inside sethlab's calls, as the bounds assume
        (`_torch_precision_held`)."""
        return _torch_precision_held(self.torch)


_PRECISION: dict = {"holders": 0, "saved": None}
_PRECISION_LOCK = threading.Lock()
# torch's newer per-backend settings (torch >= 2.9); "ieee" is full float32 there
_FP32_SETTINGS = ("mkldnn.matmul", "cuda.matmul")


def _fp32_settings(torch) -> list:
    """The objects holding torch's newer per-backend float32 precision, where this torch has them."""
    out = []
    for path in _FP32_SETTINGS:
        obj = torch.backends
        for part in path.split("."):
            obj = getattr(obj, part, None)
        if obj is not None and hasattr(obj, "fp32_precision"):
            out.append(obj)
    return out


@contextlib.contextmanager
def _torch_precision_held(torch):
    """float32 products at full precision while any sethlab call needs it, then the caller's setting restored
    (docs/rounding.md, "Assumptions").

    The setting is one per process: the first call in saves and sets it, the last one out restores it, so
    concurrent calls never see another's restore. torch's newer per-backend settings are used where they
    exist (a user who set them makes the legacy getter raise), else `set_float32_matmul_precision`."""
    with _PRECISION_LOCK:
        if _PRECISION["holders"] == 0:
            settings = _fp32_settings(torch)
            if settings:
                saved = [(obj, obj.fp32_precision) for obj in settings]
                for obj, value in saved:
                    if value != "ieee":
                        obj.fp32_precision = "ieee"
            else:
                saved = torch.get_float32_matmul_precision()
                if saved != "highest":
                    torch.set_float32_matmul_precision("highest")
            _PRECISION["saved"] = saved
        _PRECISION["holders"] += 1
    try:
        yield
    finally:
        with _PRECISION_LOCK:
            _PRECISION["holders"] -= 1
            if _PRECISION["holders"] == 0:
                saved = _PRECISION["saved"]
                if isinstance(saved, list):
                    for obj, value in saved:
                        if obj.fp32_precision != value:
                            obj.fp32_precision = value
                elif saved != "highest":
                    torch.set_float32_matmul_precision(saved)
                _PRECISION["saved"] = None


def torch_precision_is_full(torch) -> bool:
    """Whether torch's float32 products are at full precision now (the setting `_torch_precision_held` holds)."""
    settings = _fp32_settings(torch)
    if settings:
        return all(obj.fp32_precision == "ieee" for obj in settings)
    return torch.get_float32_matmul_precision() == "highest"


def get_ops(backend: str = "numpy", device=None, dtype=None):
    """The `Ops` for a backend name, device and dtype; bad names raise InvalidInstance."""
    if backend == "numpy":
        if device not in (None, "cpu"):
            raise InvalidInstance(f"device: {device!r} needs backend='torch' (numpy runs on the CPU only)")
        return NumpyOps(dtype)
    if backend == "torch":
        return TorchOps(dtype, device)
    raise InvalidInstance(f"backend: must be one of {', '.join(BACKENDS)}, got {backend!r}")


class Timer:
    """Wall-clock seconds of a block, synchronizing the device at both ends."""

    def __init__(self, ops):
        self.ops = ops
        self.seconds = 0.0

    def __enter__(self):
        self.ops.synchronize()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.ops.synchronize()
        self.seconds = time.perf_counter() - self._t0
        return False
