"""Public entry points: `attention`, `loss_gradient`, `plan`, dispatching on method and backend (DESIGN.md "Backends")."""

from __future__ import annotations

import importlib

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
) -> AttentionResult:
    """Att(Q, K, V) (MATH.md 1); `method="poly"` approximates within `eps` entrywise (MATH.md 3.3)."""
    _check_instance(inst, AttentionInstance)
    _check_method(method, eps, degree)
    ops = get_ops(backend, device, dtype)
    rank = deg = None
    details: dict = {}
    with Timer(ops) as t:
        if method == "exact":
            out = attention_exact(inst, ops, block_size)
            bound = 0.0
        else:
            out, info = _poly().attention_poly(inst, ops, eps=eps, degree=degree, block_size=block_size)
            bound, rank, deg = info.pop("error_bound"), info.pop("rank"), info.pop("degree")
            details = info
    return AttentionResult(
        output=_export(ops, out, as_tensor),
        error_bound=float(bound),
        method=method,
        backend=ops.name,
        device=str(ops.device),
        dtype=ops.dtype_name,
        seconds=t.seconds,
        rank=rank,
        degree=deg,
        details=details,
    )


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
) -> GradientResult:
    """∂L/∂X and L(X) (MATH.md 2.1-2.2); `method="poly"` within `eps` entrywise (MATH.md 3.4)."""
    _check_instance(inst, GradientInstance)
    _check_method(method, eps, degree)
    ops = get_ops(backend, device, dtype)
    rank = deg = None
    details: dict = {}
    with Timer(ops) as t:
        if method == "exact":
            grad, loss = loss_gradient_exact(inst, ops, block_size)
            bound = 0.0
        else:
            grad, loss, info = _poly().loss_gradient_poly(inst, ops, eps=eps, degree=degree, block_size=block_size)
            bound, rank, deg = info.pop("error_bound"), info.pop("rank"), info.pop("degree")
            details = info
    return GradientResult(
        grad=_export(ops, grad, as_tensor),
        loss=float(loss),
        error_bound=float(bound),
        method=method,
        backend=ops.name,
        device=str(ops.device),
        dtype=ops.dtype_name,
        seconds=t.seconds,
        rank=rank,
        degree=deg,
        details=details,
    )


def plan(inst, method: str = "poly", eps: float | None = None, **options):
    """What a `poly` request needs (degree, rank, flops, memory) before any work (MATH.md 3)."""
    if method != "poly":
        raise InvalidInstance(f"method: plan() describes method='poly' requests, got {method!r}")
    if not isinstance(inst, (AttentionInstance, GradientInstance)):
        raise InvalidInstance(f"inst: expected AttentionInstance or GradientInstance, got {type(inst).__name__}")
    return _poly().plan(inst, eps=eps, **options)


from sethlab.attention.exact import attention_exact, loss_gradient_exact  # noqa: E402
