"""The numpy engine's kernels and product sizes (docs/problems.md §2.2, "Kernels"): OpenBLAS-sized chunks and
sub-blocks, torch's kernels inside the pool, the calling thread as one of the workers, and the X = λI query side."""

import threading

import numpy as np
import pytest

import sethlab.attention as sa
from sethlab import InvalidInstance
from sethlab.attention import exact
from sethlab.attention.blocks import (
    EXACT_SUM_CHUNK,
    MIN_SMALL_CHUNK,
    SMALL_PRODUCT,
    small_product_chunk,
    small_product_rows,
)
from sethlab.attention.ops import NumpyOps
from sethlab.generators.ov import no_pair_ov
from sethlab.reductions.attention_to_gradient import gradient_instance
from sethlab.reductions.ov_to_attention import OVToAttention

from support.longdouble import gradient_ld, max_diff, requires_long_double


@pytest.mark.parametrize("rows, cols", [(1, 1), (128, 17), (256, 21), (128, 65), (256, 200), (5000, 3), (1, 10**7)])
def test_small_product_chunk_keeps_each_product_within_the_small_kernel(rows, cols):
    c = small_product_chunk(rows, cols)
    assert 1 <= c <= EXACT_SUM_CHUNK
    if c < EXACT_SUM_CHUNK:  # a cut below the cap: within the kernel, and never under the floor
        assert rows * cols * c <= SMALL_PRODUCT and c >= MIN_SMALL_CHUNK
    else:  # the cap: either it fits, or a fitting chunk would be too short to pay
        assert rows * cols * c <= SMALL_PRODUCT or SMALL_PRODUCT // (rows * cols) < MIN_SMALL_CHUNK or \
            SMALL_PRODUCT // (rows * cols) >= EXACT_SUM_CHUNK


@pytest.mark.parametrize("rows, nk, cols", [(1024, 257, 17), (256, 257, 17), (228, 257, 17), (256, 1025, 21),
                                            (4096, 100, 5), (7, 3, 2), (300, 10**6, 1)])
def test_small_product_rows_cuts_evenly_within_the_kernel(rows, nk, cols):
    r = small_product_rows(rows, nk, cols)
    assert 1 <= r <= rows
    if r < rows:
        assert r * nk * cols <= SMALL_PRODUCT and r >= MIN_SMALL_CHUNK
        parts = -(-rows // r)
        assert parts * r - rows < parts  # even: the last sub-block is short by less than one row a part
    assert small_product_rows(1024, 257, 17) == 205  # 5 sub-blocks of a stacked n = 256 block


def ov_image(n=256, seed=1):
    d0 = round(2 * np.log2(n))
    return OVToAttention(quantity="frobenius").apply(no_pair_ov(n, d0, seed=seed)).target


@requires_long_double
@pytest.mark.parametrize("kernels", ["numpy", "torch"])
def test_stacked_grouped_calls_on_either_kernels_are_within_their_bounds(monkeypatch, kernels):
    """n = 256 OV image: calls stacked 4 or more to a block; on numpy's kernels in sub-blocks with short chunks."""
    if kernels == "torch":
        pytest.importorskip("torch")
    monkeypatch.setenv("SETHLAB_KERNELS", kernels)
    target = ov_image()
    insts = [gradient_instance(target, lam) for lam in (0.05, 0.4, 0.9, 1.0, 1.3, -0.7, 0.0, 2.0)]
    engine = exact.ExactGradient(insts[0], NumpyOps(threads=2))
    assert engine.kernels == kernels and engine.stack > 1 and engine.groups == 2
    if kernels == "numpy":
        assert engine.keys.sub < engine.keys.b  # sub-blocks of rows
    else:
        assert engine.keys.sub == engine.keys.b and engine.keys.chunk == EXACT_SUM_CHUNK
    for inst, (g, loss, info) in zip(insts, engine.many(insts)):
        ref, ref_loss, ref_bound = gradient_ld(inst)
        assert max_diff(g, ref) <= info["error_bound"] + ref_bound
        assert abs(loss - float(ref_loss)) <= info["loss_error_bound"] * 1.001


@requires_long_double
def test_numpy_kernels_chunk_the_sums_and_the_bound_counts_those_chunks(monkeypatch):
    """nk = 3000 keys in 256-row blocks: products over the keys in chunks of 1e6 / (256 * 21), not 2048."""
    monkeypatch.setenv("SETHLAB_KERNELS", "numpy")
    rng = np.random.default_rng(3)
    nq, nk, d = 600, 3000, 20
    inst = sa.GradientInstance(rng.normal(size=(nq, d)), rng.normal(size=(nk, d)), rng.normal(size=(nk, 2)),
                               rng.normal(size=(nq, 2)), np.eye(d) * 0.3, np.eye(2))
    engine = exact.ExactGradient(inst, NumpyOps(threads=2))
    assert engine.groups == 0 and engine.keys.chunk == SMALL_PRODUCT // (engine.b * d) < EXACT_SUM_CHUNK
    g, _, info = engine(inst)
    ref, _, ref_bound = gradient_ld(inst)
    assert max_diff(g, ref) <= info["error_bound"] + ref_bound
    from sethlab.attention.rounding import exact_gradient_bound

    # the stated bound is the one for the engine's chunk (shorter chunks: fewer roundings than 2048's)
    assert info["error_bound"] == exact_gradient_bound(inst, "float64", engine.keys.chunk, rows_block=engine.b)[0]
    assert info["error_bound"] <= exact_gradient_bound(inst, "float64", EXACT_SUM_CHUNK, rows_block=engine.b)[0]


@pytest.mark.parametrize("lam", [0.0, -0.0, 1.0, -2.5, 1e-300, 3e300, 0.1])
def test_the_lambda_identity_query_side_is_the_stored_a1x_over_d(lam):
    rng = np.random.default_rng(5)
    A1 = rng.normal(size=(40, 7)) * np.array([1, 1e-310, 1e300, 1, 3, -2, 0.0])
    base = sa.GradientInstance(A1 * (1e-305 if abs(lam) > 1e10 else 1), rng.normal(size=(9, 7)), rng.normal(size=(9, 1)),
                               rng.normal(size=(40, 1)), np.eye(7), np.eye(1))
    inst = base.at(lam * np.eye(7))
    assert inst.X_scalar == lam
    g = exact._GradientPass(inst, NumpyOps(threads=1), 8)
    # equal as numbers (the product's zero terms may flip the sign of an exact zero, nothing else)
    np.testing.assert_array_equal(g.queries(inst), inst.A1X / inst.d)


def test_a_failing_task_generator_stops_the_pass_after_the_results_before_it():
    ops = NumpyOps(threads=2)
    seen = []

    def tasks():
        for i in range(6):
            if i == 4:
                raise KeyError("task 4")
            yield i, i + 1

    with pytest.raises(KeyError, match="task 4"):
        ops.map_blocks(lambda lo, hi: lo, tasks(), seen.append)
    assert seen == [0, 1, 2, 3]


def test_the_calling_thread_takes_tasks_and_the_results_come_in_order():
    ops = NumpyOps(threads=2)
    names, seen = [], []
    gate = threading.Event()

    def fn(i):
        names.append(threading.current_thread().name)
        if i == 0:
            gate.wait(5)  # the first task is slow: the other thread must take the rest meanwhile
        elif i == 5:
            gate.set()
        return i

    ops.map_blocks(fn, [(i,) for i in range(12)], seen.append)
    assert seen == list(range(12))
    assert threading.current_thread().name in names and len(set(names)) == 2


def test_a_pass_of_stacked_calls_gives_each_thread_at_least_two_stacks(monkeypatch):
    monkeypatch.setenv("SETHLAB_KERNELS", "numpy")
    target = ov_image()
    insts = [gradient_instance(target, 0.1 * k) for k in range(1, 13)]
    engine = exact.ExactGradient(insts[0], NumpyOps(threads=2))
    assert engine.stack == 4
    seen = []
    real = exact._run_tasks
    monkeypatch.setattr(exact, "_run_tasks", lambda ops, fn, tasks, workers, consume: real(
        ops, fn, [seen.append(t) or t for t in tasks], workers, consume))
    results = engine.many(insts)
    assert len(results) == 12 and [t[1] - t[0] for t in seen] == [3, 3, 3, 3]  # 12 calls: 4 stacks of 3
    alone = [exact.ExactGradient(i, NumpyOps(threads=1))(i) for i in insts]
    for (g, _, info), (g1, _, info1) in zip(results, alone):  # stacked or alone: within both bounds
        assert np.abs(g - g1).max() <= info["error_bound"] + info1["error_bound"]


def test_at_a_number_is_lambda_times_the_identity():
    rng = np.random.default_rng(2)
    base = sa.GradientInstance(rng.normal(size=(6, 3)), rng.normal(size=(5, 3)), rng.normal(size=(5, 2)),
                               rng.normal(size=(6, 2)), np.eye(3), np.eye(2))
    for lam in (0.25, -3, np.float32(1.5), np.int64(2), 0.0):
        a, b = base.at(lam), base.at(float(lam) * np.eye(3))
        assert a.X_scalar == b.X_scalar == float(lam)
        np.testing.assert_array_equal(a.X, b.X)
        assert not a.X.flags.writeable
        np.testing.assert_array_equal(sa.loss_gradient(a).grad, sa.loss_gradient(b).grad)
    for bad in (float("nan"), float("inf"), -np.inf):
        with pytest.raises(InvalidInstance, match="X: the scalar"):
            base.at(bad)
    with pytest.raises(InvalidInstance, match="X: must be a 2-D matrix"):
        base.at(True)  # a bool is not a number here
    with pytest.raises(InvalidInstance, match="X: must be 3x3"):
        base.at(np.eye(2))


def test_worker_processes_adopt_the_kernel_choice(monkeypatch):
    from sethlab.attention import ops

    monkeypatch.setattr(ops, "_KERNEL_CHOICE", {"float64": {"choice": "torch"}})
    choices = ops.kernel_choices()
    assert choices == {"float64": {"choice": "torch"}} and choices["float64"] is not ops._KERNEL_CHOICE["float64"]
    monkeypatch.setattr(ops, "_KERNEL_CHOICE", {"float32": {"choice": "numpy"}})
    ops.adopt_kernel_choices(choices)
    assert ops._KERNEL_CHOICE == {"float32": {"choice": "numpy"}, "float64": {"choice": "torch"}}
    ops.adopt_kernel_choices({"float64": {"choice": "numpy"}})  # a choice made here is kept
    assert ops._KERNEL_CHOICE["float64"]["choice"] == "torch"


def test_stacked_query_sides_are_the_single_ones_one_above_the_other():
    target = ov_image(64)
    g = exact._GradientPass(gradient_instance(target, 1.0), NumpyOps(threads=1), 8)
    lams = [0.3, -1.7, 0.0, 1e-300, 2.5]
    insts = [gradient_instance(target, lam) for lam in lams]
    want = np.vstack([g.queries(inst) for inst in insts])
    np.testing.assert_array_equal(g.stacked_queries(insts), want)
    mixed = insts[:2] + [insts[2].at(np.diag(np.r_[np.ones(insts[2].d - 1), 2.0]))]  # not λI: the general path
    np.testing.assert_array_equal(g.stacked_queries(mixed), np.vstack([g.queries(inst) for inst in mixed]))


def test_at_an_integer_beyond_float64_is_refused():
    base = gradient_instance(ov_image(64), 1.0)
    for big in (10**400, -(10**400)):
        with pytest.raises(InvalidInstance, match="X: the scalar"):
            base.at(big)


def float32_instance(seed=0, n=600):
    rng = np.random.default_rng(seed)
    return sa.AttentionInstance(rng.normal(size=(n, 16)) * 3, rng.normal(size=(n, 16)) * 3, rng.normal(size=(n, 4)))


def test_concurrent_float32_calls_keep_full_precision_and_restore_the_callers_setting(monkeypatch):
    """A review found one call's restore lowering the precision under another call still running."""
    torch = pytest.importorskip("torch")
    from sethlab.attention import ops

    monkeypatch.setenv("SETHLAB_KERNELS", "torch")
    real, seen = torch.matmul, []

    def spy(*args, **kwargs):
        if args[0].dtype == torch.float32:
            seen.append(ops.torch_precision_is_full(torch))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "matmul", spy)
    monkeypatch.setattr(ops, "_TORCH", [])
    inst = float32_instance()
    ref = sa.attention(inst, dtype="float64").output
    torch.set_float32_matmul_precision("medium")
    errors = []

    def run(backend):
        for _ in range(6):
            res = sa.attention(inst, backend=backend, dtype="float32")
            if not np.abs(res.output - ref).max() <= res.error_bound:
                errors.append(backend)

    try:
        threads = [threading.Thread(target=run, args=(b,)) for b in ("numpy", "torch", "numpy")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert torch.get_float32_matmul_precision() == "medium"
    finally:
        torch.set_float32_matmul_precision("highest")
    assert errors == [] and seen and all(seen)


@pytest.mark.parametrize("kernels", ["numpy", "torch"])
def test_torchs_newer_precision_setting_is_held_and_given_back(monkeypatch, kernels):
    """With torch's per-backend setting in use its legacy getter raises; a numpy call must not trip on it."""
    torch = pytest.importorskip("torch")
    from sethlab.attention import ops

    if not ops._fp32_settings(torch):
        pytest.skip("this torch has no per-backend float32 precision setting")
    monkeypatch.setenv("SETHLAB_KERNELS", kernels)
    inst = float32_instance(1, n=300)
    ref = sa.attention(inst, dtype="float64").output
    setting = torch.backends.mkldnn.matmul
    before = setting.fp32_precision
    setting.fp32_precision = "bf16"
    try:
        for backend in ("numpy", "torch"):
            res = sa.attention(inst, backend=backend, dtype="float32")
            assert np.abs(res.output - ref).max() <= res.error_bound
            assert setting.fp32_precision == "bf16"
    finally:
        setting.fp32_precision = before
        torch.set_float32_matmul_precision("highest")


def test_a_callers_torch_thread_count_is_given_back_under_concurrent_calls(monkeypatch):
    """torch's thread count belongs to each thread: the review found a user's thread left at one."""
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("SETHLAB_KERNELS", "torch")
    torch.set_num_threads(2)
    target = ov_image()
    insts = [gradient_instance(target, 0.1 * k) for k in range(1, 9)]
    from sethlab.attention.api import PreparedGradient

    prepared = PreparedGradient(insts[0])
    stop = threading.Event()

    def other():
        while not stop.is_set():
            sa.loss_gradient(gradient_instance(target, 0.3))

    t = threading.Thread(target=other)
    t.start()
    try:
        for _ in range(10):
            list(prepared.many(insts))
    finally:
        stop.set()
        t.join()
    assert torch.get_num_threads() == 2
