"""Results of the attention backends: value, certified error bound, rank, degree, timing (DESIGN.md "Backends")."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class AttentionResult:
    """Forward attention T ≈ Att(Q, K, V) with ‖T − Att‖∞ <= error_bound (0.0: exact up to floating point)."""

    output: np.ndarray
    error_bound: float
    method: str
    backend: str
    device: str
    dtype: str
    seconds: float
    rank: int | None = None
    degree: int | None = None
    details: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class GradientResult:
    """g̃ ≈ ∂L/∂X with ‖g̃ − ∂L/∂X‖∞ <= error_bound, and the loss L(X) (MATH.md 2)."""

    grad: np.ndarray
    loss: float
    error_bound: float
    method: str
    backend: str
    device: str
    dtype: str
    seconds: float
    rank: int | None = None
    degree: int | None = None
    details: dict = field(default_factory=dict)
