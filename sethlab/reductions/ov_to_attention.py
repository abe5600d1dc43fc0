"""OV → forward attention directly (docs/reductions.md §5.1): entries Θ(log n), one anchor key.

Query i = √β·a_i, key j = −√β·b_j, plus one zero anchor key; V = [1,…,1, 0]ᵀ.
Scores −β⟨a_i, b_j⟩/d0: an orthogonal pair contributes e⁰ = 1, any other pair at
most e^{−β/d0}, so Att_i = S_i/(S_i + 1) with S_i the mass on real keys.
With β = d0·(2 ln n + ln 8): a row with an orthogonal partner has Att_i >= 1/2;
if no pair is orthogonal every Att_i <= nB·e^{−β/d0} <= 1/(8n).
"""

from __future__ import annotations

import math

import numpy as np

from sethlab.attention.instances import AttentionInstance
from sethlab.errors import InvalidInstance
from sethlab.instances import OVInstance
from sethlab.reductions.base import Decision, Image, Prediction, Reduction, attention_quantity, decide_quantity
from sethlab.solvers.ov import as_ov


def default_beta(d0: int, n: int) -> float:
    """β = d0·(2 ln n + ln 8), the choice of docs/reductions.md §5.1."""
    return d0 * (2 * math.log(n) + math.log(8))


def frobenius_ranges(nq: int, no_row_max: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """YES/NO ranges of ‖T‖_F² = Σ_i T_i² (dv = 1) given every NO row is <= no_row_max and a YES row >= 1/2."""
    return (0.25, float(nq)), (0.0, nq * no_row_max**2)


class OVToAttention(Reduction):
    """The many-one reduction OV → AttC of docs/reductions.md §5.1, deciding by max_i T_i (or ‖T‖_F² for the gradient)."""

    name = "ov-to-attention"
    source = "ov"
    target = "attention"

    def __init__(self, beta: float | None = None, quantity: str = "max"):
        if beta is not None and (isinstance(beta, bool) or not (isinstance(beta, (int, float))
                                                                 and math.isfinite(beta) and beta > 0)):
            raise InvalidInstance(f"beta: must be a positive finite number, got {beta!r}")
        if quantity not in ("max", "frobenius"):
            raise InvalidInstance(f"quantity: must be 'max' or 'frobenius', got {quantity!r}")
        self.beta = beta
        self.quantity = quantity

    def with_quantity(self, quantity: str) -> "OVToAttention":
        """The same reduction deciding by another quantity ('max' or 'frobenius')."""
        return type(self)(beta=self.beta, quantity=quantity)

    def overhead(self, size: dict) -> dict:
        return {"nq": size["nA"], "nk": size["nB"] + 1, "d": max(size["d"], 1), "dv": 1}

    def apply(self, x) -> Image:
        """Build the attention instance and state its prediction (before anything is solved)."""
        inst = x if isinstance(x, OVInstance) else (as_ov(*x) if isinstance(x, tuple) else as_ov(x))
        A = inst.A.astype(np.float64)
        B = inst.B.astype(np.float64)
        d0 = inst.d
        if d0 == 0:  # the empty formula: every pair orthogonal; one zero coordinate keeps d >= 1
            A, B, d0 = np.zeros((inst.nA, 1)), np.zeros((inst.nB, 1)), 1
        n = max(inst.nA, inst.nB)
        beta = self.beta if self.beta is not None else default_beta(d0, max(n, 2))
        root = math.sqrt(beta)
        Q = root * A
        K = np.vstack([-root * B, np.zeros((1, d0))])
        V = np.vstack([np.ones((inst.nB, 1)), np.zeros((1, 1))])
        target = AttentionInstance(Q, K, V)
        no_row = inst.nB * math.exp(-beta / d0)  # S_i <= nB e^{-β/d0} and T_i <= S_i
        no_row = min(no_row, 1.0)
        if self.quantity == "max":
            yes_range, no_range, label = (0.5, 1.0), (0.0, no_row), "max_i T_i"
        else:
            yes_range, no_range = frobenius_ranges(inst.nA, no_row)
            label = "||T||_F^2"
        threshold = (yes_range[0] + no_range[1]) / 2
        pred = Prediction(
            sizes={"nq": inst.nA, "nk": inst.nB + 1, "d": d0, "dv": 1},
            entry_bound=root,
            quantity=label,
            threshold=threshold,
            yes_range=yes_range,
            no_range=no_range,
            accuracy=(yes_range[0] - no_range[1]) / 4,
            calls=1,
            notes={"beta": beta, "scores": f"-beta<a,b>/d0 in [-{beta:.4g}, 0]"},
        )
        return Image(target, pred, source_sizes={"nA": inst.nA, "nB": inst.nB, "d": inst.d},
                     meta={"beta": beta, "source": inst})

    def decide(self, image: Image, result) -> Decision:
        """Decide from an `attention` result: the margin against its certified error (rounding included)."""
        q, err = attention_quantity(result.output, self.quantity, float(result.error_bound))
        return decide_quantity(image.prediction, q, err, 1)

    def forward_witness(self, image: Image, pair) -> int:
        """An orthogonal pair (i, j) → the query row i whose output is >= 1/2."""
        return int(pair[0])

    def backward_witness(self, image: Image, result) -> tuple[int, int] | None:
        """A row with T_i >= 1/4 → its orthogonal partner, found by scanning row i of the source."""
        T = np.asarray(getattr(result, "output", result))[:, 0]
        i = int(np.argmax(T))
        if T[i] < 0.25:
            return None
        src = image.meta["source"]
        dots = src.B.astype(np.int64) @ src.A[i].astype(np.int64)
        js = np.flatnonzero(dots == 0)
        return (i, int(js[0])) if js.size else None
