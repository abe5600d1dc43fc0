"""Measured machine rates and the compact ratio set of `sethlab bench` (docs/design.md "Conventions": ratios, never bare seconds).

The helpers (`best_time`, `numpy_rates`, `torch_rates`, `machine`, `floor_seconds`)
are shared with the standalone scripts in bench/ (through bench/_measure.py),
so there is one way to measure a rate. `run_bench` measures, in one run and in
this process, the ratios a reader needs to judge the engines:

- exact loss gradient against torch autograd (when torch is installed) and
  against the physical floor of docs/problems.md §2.2 (GEMM flops at the measured GEMM
  rate plus n² exponentials at the measured `exp` rate);
- the polynomial method against exact on a bounded instance (docs/polynomial.md §3:
  d = 4, entries in [−1, 1], so R <= 1), forward and gradient, with the
  measured error next to the certified bound.

The bench/ scripts go further (fresh processes per call, peak memory, larger n).
"""

from __future__ import annotations

import math
import platform
import time

import numpy as np

from sethlab.cpus import usable_cpus


def best_time(fn, repeat: int = 3) -> float:
    """Smallest wall time of `repeat` calls of fn()."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def numpy_rates(n: int = 2048, exp_elems: int = 1 << 22) -> dict:
    """Measured float64 GEMM rate (flop/s, square n) and np.exp rate (exps/s) of numpy here."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(n, n))
    b = rng.normal(size=(n, n))
    out = np.empty((n, n))
    gemm = 2 * n**3 / best_time(lambda: np.matmul(a, b, out=out))
    x = rng.uniform(-30, 0, size=exp_elems)
    y = np.empty_like(x)
    exp = exp_elems / best_time(lambda: np.exp(x, out=y))
    return {"gemm_flops_per_s": gemm, "exp_per_s": exp}


def torch_rates(n: int = 2048, exp_elems: int = 1 << 22, device: str = "cpu", dtype: str = "float64") -> dict:
    """The same rates for torch on `device` (its own thread pool for exp)."""
    import torch

    dt = getattr(torch, dtype)
    sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    a = torch.randn(n, n, dtype=dt, device=device)
    b = torch.randn(n, n, dtype=dt, device=device)
    out = torch.empty(n, n, dtype=dt, device=device)

    def mm():
        torch.matmul(a, b, out=out)
        sync()

    mm()
    gemm = 2 * n**3 / best_time(mm)
    x = torch.rand(exp_elems, dtype=dt, device=device) * -30
    y = torch.empty_like(x)

    def ex():
        torch.exp(x, out=y)
        sync()

    ex()
    exp = exp_elems / best_time(ex)
    return {"gemm_flops_per_s": gemm, "exp_per_s": exp}


def floor_seconds(n: int, d: int, dv: int, rates: dict, nk: int | None = None) -> float:
    """docs/problems.md §2.2: 2(2d + 2dv)·n·nk flops at the GEMM rate plus n·nk exponentials at the exp rate
    (nk = n unless given)."""
    scores = n * (n if nk is None else nk)
    return 2 * (2 * d + 2 * dv) * scores / rates["gemm_flops_per_s"] + scores / rates["exp_per_s"]


def have_torch() -> bool:
    """Whether the optional torch extra is importable."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def machine() -> dict:
    """What the figures were measured on."""
    info = {"python": platform.python_version(), "numpy": np.__version__, "cpus": usable_cpus()}
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["cuda_device"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    info["platform"] = platform.platform()
    return info


def gaussian_gradient_instance(n: int, d: int, seed: int = 0):
    """Scores of order 1: A1, A2, A3, E Gaussian, X = N(0,1)/√d, Y = I (the instance of bench/gradient.py)."""
    import sethlab.attention as sa

    rng = np.random.default_rng(seed)
    return sa.GradientInstance(
        rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=(n, d)),
        rng.normal(size=(d, d)) / np.sqrt(d), np.eye(d),
    )


def bounded_gradient_instance(n: int, d: int = 4, seed: int = 0):
    """A bounded instance (docs/polynomial.md §3): every input uniform in [−1, 1], X = I, so R <= 1 and B = 1."""
    import sethlab.attention as sa

    rng = np.random.default_rng(seed)
    M = [rng.uniform(-1, 1, size=(n, d)) for _ in range(4)]
    return sa.GradientInstance(*M, np.eye(d), np.eye(d))


def _timed(fn, repeat: int):
    """(output of the last call, smallest wall time of `repeat` calls)."""
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def exact_gradient_ratios(n: int, d: int = 64, repeat: int = 2, rates: dict | None = None) -> dict:
    """Exact gradient (numpy) against the docs/problems.md §2.2 floor and against torch autograd (if installed)."""
    import sethlab.attention as sa

    rates = rates or numpy_rates()
    sa.loss_gradient(gaussian_gradient_instance(256, d, seed=1))  # warm-up: BLAS start-up is not measured
    inst = gaussian_gradient_instance(n, d)
    _ = inst.A1X, inst.h
    res, t_ours = _timed(lambda: sa.loss_gradient(inst), repeat)
    floor = floor_seconds(n, d, d, rates)
    row = {"n": n, "d": d, "seconds": t_ours, "floor_seconds": floor, "vs_floor": t_ours / floor}
    if have_torch():
        from sethlab.attention.reference import loss_gradient_autograd

        loss_gradient_autograd(gaussian_gradient_instance(256, d, seed=1))
        (g_ref, _), t_ref = _timed(lambda: loss_gradient_autograd(inst), repeat)
        row.update(autograd_seconds=t_ref, speedup_vs_autograd=t_ref / t_ours,
                   max_rel_diff_vs_autograd=float(np.abs(g_ref - res.grad).max() / np.abs(g_ref).max()))
    return row


def poly_vs_exact(n: int, d: int = 4, eps: float = 1e-6, repeat: int = 2) -> dict:
    """Poly against exact on the bounded instance, forward and gradient: time ratio, flop ratio, error vs bound."""
    import sethlab.attention as sa

    warm = bounded_gradient_instance(256, d, seed=1)
    sa.loss_gradient(warm, method="poly", eps=eps)
    sa.attention(warm.forward_instance(), method="poly", eps=eps)
    grad_inst = bounded_gradient_instance(n, d)
    fwd_inst = grad_inst.forward_instance()
    rows = []
    for problem, inst, call, value in (
        ("forward", fwd_inst, sa.attention, lambda r: r.output),
        ("gradient", grad_inst, sa.loss_gradient, lambda r: r.grad),
    ):
        ex, t_ex = _timed(lambda: call(inst), repeat)
        po, t_po = _timed(lambda: call(inst, method="poly", eps=eps), repeat)
        p = sa.plan(inst, method="poly", eps=eps)
        err = float(np.abs(value(ex) - value(po)).max())
        rows.append({
            "problem": problem, "n": n, "d": d, "eps": eps, "degree": p.degree, "rank": p.rank,
            "exact_seconds": t_ex, "poly_seconds": t_po, "speedup": t_ex / t_po, "flop_ratio": p.flop_ratio,
            "measured_error": err, "error_bound": po.error_bound, "within_bound": err <= po.error_bound,
        })
    return {"rows": rows}


BENCH_STEPS = 3  # progress units of run_bench


def run_bench(quick: bool = False, progress=None) -> dict:
    """The compact ratio set of `sethlab bench`; `quick` uses small sizes (seconds, for smoke runs)."""
    tick = (lambda label: (progress.set_label(label), progress.advance())) if progress else (lambda label: None)
    rates = numpy_rates(n=512 if quick else 2048, exp_elems=1 << (19 if quick else 22))
    tick("exact gradient")
    grad = exact_gradient_ratios(n=512 if quick else 4096, d=64, repeat=1 if quick else 2, rates=rates)
    tick("poly vs exact")
    poly = poly_vs_exact(n=1024 if quick else 16384, repeat=1 if quick else 2)
    tick("done")
    return {"quick": quick, "machine": machine(), "rates": {"numpy": rates},
            "exact_gradient": grad, "poly_vs_exact": poly["rows"]}
