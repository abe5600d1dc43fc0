"""Results of the attention backends: value, certified error bound, rank, degree, timing (docs/design.md "Backends")."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False, kw_only=True)
class _Result:
    """What every backend result carries besides its value."""

    error_bound: float  # certified ‖value − exact‖∞, floating-point rounding included (docs/rounding.md)
    method: str
    backend: str
    device: str
    dtype: str
    seconds: float
    rank: int | None = None  # poly only: number of features
    degree: int | None = None  # poly only: degree of the exp polynomial
    details: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False, kw_only=True)
class AttentionResult(_Result):
    """Forward attention T ≈ Att(Q, K, V) with ‖T − Att‖∞ <= error_bound (docs/problems.md §1, docs/polynomial.md §3.3)."""

    output: np.ndarray


@dataclass(frozen=True, eq=False, kw_only=True)
class GradientResult(_Result):
    """g̃ ≈ ∂L/∂X with ‖g̃ − ∂L/∂X‖∞ <= error_bound, and the loss L(X) (docs/problems.md §2, docs/polynomial.md §3.4)."""

    grad: np.ndarray
    loss: float
    loss_error_bound: float | None = None  # certified |loss − L(X)|
