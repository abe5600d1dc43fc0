"""sethlab's own attention as methods of sethlab.approx: `exact` (the streaming engine) and `poly`
(the certified polynomial method), both through sethlab.attention.attention (docs/approx.md)."""

from __future__ import annotations

from sethlab.approx._common import as_instance, budget, checked, positive_float
from sethlab.errors import InvalidInstance

# an exponential costs about as much as this many flops of a matrix product (GEMM/exp rates measured
# on the development machine: 80-100 GFLOP/s against about 1 G exp/s)
EXP_FLOPS = 100


def _backend(backend):
    if backend not in ("numpy", "torch"):
        raise InvalidInstance(f"backend: must be numpy or torch, got {backend!r}")
    return backend


def _check_exact(backend="numpy", device=None, memory_budget=None):
    return {"backend": _backend(backend), "device": device, "memory_budget": budget(memory_budget)}


@checked(_check_exact)
def exact(Q, K=None, V=None, *, backend: str = "numpy", device=None, memory_budget=None):
    """Exact attention (docs/problems.md §2.2), numpy out whichever backend computes it."""
    from sethlab.attention import attention

    return attention(as_instance(Q, K, V), backend=backend, device=device, memory_budget=memory_budget).output


def _check_poly(eps=1e-3, max_cost=1.0, backend="numpy", device=None, memory_budget=None):
    return {"eps": positive_float(eps, "eps"), "max_cost": positive_float(max_cost, "max_cost", allow_inf=True),
            "backend": _backend(backend), "device": device, "memory_budget": budget(memory_budget)}


@checked(_check_poly)
def poly(Q, K=None, V=None, *, eps: float = 1e-3, max_cost: float = 1.0, backend: str = "numpy", device=None,
         memory_budget=None):
    """The polynomial method with certified entrywise error eps (docs/polynomial.md §3).

    Raises CertificationError where eps cannot be certified, and where the certified rank would cost more
    than `max_cost` times exact attention (plan flops against exact's flops plus EXP_FLOPS per exp; inf:
    never refused for cost): a fast method slower than exact has no reason to run. Both happen past
    B ≈ √ln n.
    """
    from sethlab.attention import attention, plan
    from sethlab.errors import CertificationError

    inst = as_instance(Q, K, V)
    p = plan(inst, method="poly", eps=eps, memory_budget=memory_budget)
    exact_cost = p.exact_flops + EXP_FLOPS * p.exact_exps
    if p.flops > max_cost * exact_cost:
        raise CertificationError(
            f"poly: the certified rank {p.rank} (degree {p.degree}) costs {p.flops / exact_cost:.3g}x exact "
            f"attention, above max_cost = {max_cost:g} (scores up to R = {p.R:.3g}; docs/polynomial.md §3.2)")
    return attention(inst, method="poly", eps=eps, backend=backend, device=device,
                     memory_budget=memory_budget).output
