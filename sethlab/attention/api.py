"""Public entry points: `attention`, `loss_gradient`, `plan`, dispatching on method and backend (docs/design.md "Backends")."""

from __future__ import annotations

import importlib

import numpy as np

from sethlab.attention import exact
from sethlab.attention.instances import AttentionInstance, GradientInstance
from sethlab.attention.ops import Timer, get_ops
from sethlab.attention.results import AttentionResult, GradientResult
from sethlab.errors import InvalidInstance

METHODS = ("exact", "poly")


def _check_instance(inst, cls):
    if not isinstance(inst, cls):
        raise InvalidInstance(f"inst: expected {cls.__name__}, got {type(inst).__name__}")


def _check_method(method, eps, degree):
    if method not in METHODS:
        raise InvalidInstance(f"method: must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "exact" and (eps is not None or degree is not None):
        # exact answers are exact up to rounding; accept eps as a ceiling the exact result trivially meets
        if degree is not None:
            raise InvalidInstance("degree: only method='poly' takes a polynomial degree")
    if eps is not None and not (isinstance(eps, (int, float)) and eps > 0 and eps == eps and eps != float("inf")):
        raise InvalidInstance(f"eps: must be a positive finite number, got {eps!r}")


def _poly():
    return importlib.import_module("sethlab.attention.poly")


def _export(ops, x, as_tensor: bool):
    return x if (as_tensor and ops.name == "torch") else ops.to_numpy(x)


def _finite(ops, values) -> None:
    """A non-finite value is never returned as a result (the range checks should make this unreachable)."""
    for v in values:
        finite = bool(ops.isfinite_all(v)) if hasattr(v, "shape") else (v == v and abs(v) != float("inf"))
        if not finite:
            raise InvalidInstance("instance: the computation produced a non-finite value; its entries are too large "
                                  "for the working precision (scale them down or use float64)")


def _run(inst, cls, method, backend, eps, device, dtype, degree, block_size, budget, exact_name, poly_name):
    """Validate, pick the backend, run exact or poly, time it: (ops, values, common result fields).

    Both methods return their values and an info dict whose error_bound is the certified
    worst-case bound, floating-point rounding included (docs/rounding.md).
    """
    _check_instance(inst, cls)
    _check_method(method, eps, degree)
    ops = get_ops(backend, device, dtype)
    with ops.full_precision(), Timer(ops) as t:
        if method == "exact":
            *values, info = getattr(exact, exact_name)(inst, ops, block_size, budget)
        else:
            *values, info = getattr(_poly(), poly_name)(inst, ops, eps=eps, degree=degree, block_size=block_size,
                                                        memory_budget=budget)
    _finite(ops, values)
    info = dict(info)
    fields = {"error_bound": float(info.pop("error_bound")), "rank": info.pop("rank", None),
              "degree": info.pop("degree", None), "loss_error_bound": info.pop("loss_error_bound", None),
              "details": info, "method": method, "backend": ops.name, "device": str(ops.device),
              "dtype": ops.dtype_name, "seconds": t.seconds}
    return ops, values, fields


def attention(
    inst: AttentionInstance,
    method: str = "exact",
    backend: str = "numpy",
    eps: float | None = None,
    device=None,
    dtype=None,
    *,
    degree: int | None = None,
    block_size: int | None = None,
    as_tensor: bool = False,
    memory_budget=None,
) -> AttentionResult:
    """Att(Q, K, V) (docs/problems.md §1); `method="poly"` approximates within `eps` entrywise (docs/polynomial.md §3.3).

    `memory_budget` (bytes, '8G' or '25%'; default $SETHLAB_MEMORY_BUDGET or half the available memory)
    bounds what the call allocates: blocks shrink to fit, or the call is refused before any work.
    """
    ops, (out,), fields = _run(inst, AttentionInstance, method, backend, eps, device, dtype, degree, block_size,
                               memory_budget, "attention_exact", "attention_poly")
    fields.pop("loss_error_bound")
    return AttentionResult(output=_export(ops, out, as_tensor), **fields)


def loss_gradient(
    inst: GradientInstance,
    method: str = "exact",
    backend: str = "numpy",
    eps: float | None = None,
    device=None,
    dtype=None,
    *,
    degree: int | None = None,
    block_size: int | None = None,
    as_tensor: bool = False,
    memory_budget=None,
) -> GradientResult:
    """∂L/∂X and L(X) (docs/problems.md §2.1-2.2); `method="poly"` within `eps` entrywise (docs/polynomial.md §3.4).

    `memory_budget` as for `attention`.
    """
    ops, (grad, loss), fields = _run(inst, GradientInstance, method, backend, eps, device, dtype, degree, block_size,
                                     memory_budget, "loss_gradient_exact", "loss_gradient_poly")
    return GradientResult(grad=_export(ops, grad, as_tensor), loss=float(loss), **fields)


class PreparedGradient:
    """`loss_gradient` for a run of instances that share A2, A3, E and Y and differ in A1 and X.

    The quadrature of docs/quadrature.md calls the gradient at X = λ·I for many λ: the exact
    numpy or torch engine keeps its plan, key side and buffers between those calls
    (`exact.ExactGradient`), while each call still computes the whole gradient at its own
    A1·X and states its own certified bound. `many` runs the blocks of several instances in one
    pass (small instances then use every core). An instance that does not share the first one's
    key side, or method="poly", goes through `loss_gradient` unchanged.
    """

    def __init__(self, inst: GradientInstance, method: str = "exact", backend: str = "numpy", eps: float | None = None,
                 device=None, dtype=None, memory_budget=None):
        _check_instance(inst, GradientInstance)
        _check_method(method, eps, None)
        self.options = {"method": method, "backend": backend, "eps": eps, "device": device, "dtype": dtype,
                        "memory_budget": memory_budget}
        self.engine = None
        if method == "exact":
            self.ops = get_ops(backend, device, dtype)
            with self.ops.full_precision():
                self.engine = exact.ExactGradient(inst, self.ops, None, memory_budget)
            self.first = inst

    def __call__(self, inst: GradientInstance) -> GradientResult:
        return next(self.many([inst]))

    def many(self, insts):
        """Yield the `GradientResult` of each instance of the iterable, in order.

        Consecutive instances with the first one's key side go through the engine `window` at a time
        (each result's `seconds` is its pass's time shared equally); the rest one by one."""
        window = []
        for inst in insts:
            _check_instance(inst, GradientInstance)
            if self.engine is not None and self.engine.shares_keys(inst):
                inst.adopt_key_side(self.first)
                window.append(inst)
                if len(window) >= self.engine.window:
                    yield from self._pass(window)
                    window = []
                continue
            yield from self._pass(window)
            window = []
            yield loss_gradient(inst, **self.options)
        yield from self._pass(window)

    def _pass(self, insts: list):
        if not insts:
            return
        ops = self.ops
        with ops.full_precision(), Timer(ops) as t:
            results = self.engine.many(insts, checked=True)
        for grad, loss_value, info in results:
            _finite(ops, (grad, loss_value))
            yield GradientResult(grad=ops.to_numpy(grad), loss=float(loss_value),
                                 error_bound=float(info["error_bound"]),
                                 loss_error_bound=float(info["loss_error_bound"]), method="exact", backend=ops.name,
                                 device=str(ops.device), dtype=ops.dtype_name, seconds=t.seconds / len(insts))


def plan(inst, method: str = "poly", eps: float | None = None, **options):
    """What a `poly` request needs (degree, rank, flops, memory) before any work (docs/polynomial.md §3)."""
    if method != "poly":
        raise InvalidInstance(f"method: plan() describes method='poly' requests, got {method!r}")
    if not isinstance(inst, (AttentionInstance, GradientInstance)):
        raise InvalidInstance(f"inst: expected AttentionInstance or GradientInstance, got {type(inst).__name__}")
    return _poly().plan(inst, eps=eps, **options)



def loss(inst: GradientInstance, **options) -> float:
    """L(X) = ½‖softmax(A1 X A2ᵀ/d) A3 Y − E‖_F² by the forward engine (options as for `attention`)."""
    _check_instance(inst, GradientInstance)
    out = attention(inst.forward_instance(), **options).output
    return 0.5 * float(np.sum((out - inst.E) ** 2))
