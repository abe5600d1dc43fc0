"""Gap-Hamming → forward attention (AS23 Lemma 4.7, reconstructed; docs/reductions.md §5.2), with zero or tuned anchors.

Pad a ↦ [a, ā], b ↦ [b, b̄] (so ⟨a', b'⟩ = d0 − dist); queries √β·a'_i, keys
√β·b'_j then anchor keys, values [1; 0]. Row i outputs S_i/(S_i + μ) with S_i its
mass on real keys (each pair e^{κ(d0 − dist)}, κ = β/(2d0)) and μ the anchor mass.
Zero anchors (the paper) give μ = n, far below both S_i: near and far rows both
round to 1.0. Tuned anchors place μ at the geometric mean of the near and far
masses, so near rows sit near 1 and far rows near 0.
"""

from __future__ import annotations

import math

import numpy as np

from sethlab.attention.instances import AttentionInstance
from sethlab.errors import InvalidInstance
from sethlab.instances import HammingInstance
from sethlab.reductions.base import Decision, Image, Prediction, Reduction, attention_quantity, decide_quantity

ANCHORS = ("tuned", "zero")


def default_beta(d0: int, n: int, t: int, gap: float, delta: float = 1.0) -> float:
    """β = 2(1+δ)·d0·ln n/(ε t): far-row mass <= near mass · n^{−δ} (docs/reductions.md §5.2)."""
    return 2 * (1 + delta) * d0 * math.log(max(n, 2)) / (gap * t)


def _equal_weight(M: np.ndarray) -> np.ndarray:
    """a ↦ [a, 1 − a] as float64: every vector gets weight d0 and ⟨a', b'⟩ = d0 − dist(a, b) (docs/reductions.md §4.2)."""
    M = np.asarray(M, dtype=np.float64)
    return np.hstack([M, 1 - M])


def _logaddexp(a: float, b: float) -> float:
    """log(e^a + e^b) without overflow."""
    hi, lo = max(a, b), min(a, b)
    return hi + math.log1p(math.exp(lo - hi))


def _ratio(log_num: float, log_other: float) -> float:
    """num/(num + other) from logarithms, without overflow."""
    return 1.0 / (1.0 + math.exp(min(log_other - log_num, 700.0)))


class HammingToAttention(Reduction):
    """The many-one reduction Gap-Hamming → AttC of docs/reductions.md §5.2, deciding by max_i T_i or ‖T‖_F²."""

    name = "hamming-to-attention"
    source = "hamming-close-pair"
    target = "attention"

    def __init__(self, anchors: str = "tuned", beta: float | None = None, delta: float = 1.0,
                 quantity: str = "max", max_anchors: int | None = None):
        if anchors not in ANCHORS:
            raise InvalidInstance(f"anchors: must be one of {', '.join(ANCHORS)}, got {anchors!r}")
        if beta is not None and (isinstance(beta, bool) or not (isinstance(beta, (int, float))
                                                                 and math.isfinite(beta) and beta > 0)):
            raise InvalidInstance(f"beta: must be a positive finite number, got {beta!r}")
        if max_anchors is not None and (isinstance(max_anchors, bool) or not isinstance(max_anchors, int)
                                        or max_anchors < 1):
            raise InvalidInstance(f"max_anchors: must be a positive integer, got {max_anchors!r}")
        if not (isinstance(delta, (int, float)) and math.isfinite(delta) and delta > 0):
            raise InvalidInstance(f"delta: must be a positive finite number, got {delta!r}")
        if quantity not in ("max", "frobenius"):
            raise InvalidInstance(f"quantity: must be 'max' or 'frobenius', got {quantity!r}")
        self.anchors, self.beta, self.delta, self.quantity = anchors, beta, delta, quantity
        self.max_anchors = max_anchors
        self.name = f"hamming-to-attention-{anchors}"

    def with_quantity(self, quantity: str) -> "HammingToAttention":
        """The same reduction deciding by another quantity ('max' or 'frobenius')."""
        return type(self)(self.anchors, self.beta, self.delta, quantity, self.max_anchors)

    def overhead(self, size: dict) -> dict:
        n = max(size["nA"], size["nB"])
        extra = n if self.anchors == "zero" else None  # tuned: 1..n anchors, fixed only by the instance
        return {"nq": size["nA"], "nk": None if extra is None else size["nB"] + extra, "d": 2 * size["d"], "dv": 1}

    def forward_witness(self, image: Image, pair) -> int:
        """A close pair (i, j) → the query row i, whose output is in the YES range."""
        return int(pair[0])

    def backward_witness(self, image: Image, result):
        """The row with the largest output → its closest partner, if that pair is near (< t)."""
        src = image.meta["source"]
        T = np.asarray(getattr(result, "output", result))[:, 0]
        i = int(np.argmax(T))
        dist = np.count_nonzero(src.B != src.A[i], axis=1)
        j = int(np.argmin(dist))
        return (i, j) if dist[j] < src.t else None

    def _anchor_plan(self, log_near: float, log_far: float, kappa: float, d0: int, n: int, nA: int):
        """(signed weight e, count k): k anchors of mass e^{κe} each, total near the target mass."""
        if self.anchors == "zero":
            return 0, n
        log_target = (log_near + log_far) / 2
        if self.quantity == "frobenius":  # NO side sums nA rows: aim √nA higher on the far side
            log_target = (log_near + log_far + 0.5 * math.log(nA)) / 2
        cap = self.max_anchors or n
        e = max(-d0, min(d0, math.floor(log_target / kappa + 1e-9)))  # 5.999999999 is 6
        k = int(min(cap, max(1, round(math.exp(min(log_target - kappa * e, 700.0))))))
        return e, k

    def apply(self, x: HammingInstance) -> Image:
        """Build the attention instance and state its prediction."""
        if not isinstance(x, HammingInstance):
            raise InvalidInstance(f"x: expected a HammingInstance, got {type(x).__name__}")
        d0, t, far = x.d, x.t, x.far
        n = max(x.nA, x.nB)
        beta = self.beta if self.beta is not None else default_beta(d0, n, t, x.gap, self.delta)
        kappa = beta / (2 * d0)
        root = math.sqrt(beta)
        Q = root * _equal_weight(x.A)
        keys = root * _equal_weight(x.B)
        log_near = kappa * (d0 - t + 1)  # a near row has a pair at distance <= t − 1
        log_far = math.log(x.nB) + kappa * (d0 - far)  # a far row: nB pairs at distance >= far
        e, k = self._anchor_plan(log_near, log_far, kappa, d0, n, x.nA)
        u = np.zeros(d0)
        u[: abs(e)] = 1.0
        anchor = (1 if e >= 0 else -1) * root * np.concatenate([u, u])
        K = np.vstack([keys, np.tile(anchor, (k, 1))])
        V = np.vstack([np.ones((x.nB, 1)), np.zeros((k, 1))])
        target = AttentionInstance(Q, K, V)
        log_mu = math.log(k) + kappa * e
        near_low = _ratio(log_near, log_mu)
        far_high = _ratio(log_far, log_mu)
        if self.quantity == "max":
            yes_range, no_range, label = (near_low, 1.0), (0.0, far_high), "max_i T_i"
        else:
            yes_range, no_range, label = (near_low**2, float(x.nA)), (0.0, x.nA * far_high**2), "||T||_F^2"
        # the separation near_low − far_high in exact arithmetic, from logarithms (it may be far below
        # float64 resolution): L'/(L'+μ) − U/(U+μ) = μ(L' − U)/((L'+μ)(U+μ))
        if log_near > log_far:
            log_gap = (log_mu + log_near + math.log1p(-math.exp(log_far - log_near))
                       - _logaddexp(log_near, log_mu) - _logaddexp(log_far, log_mu))
            exact_gap = math.exp(max(log_gap, -745.0))
        else:
            exact_gap = 0.0
        pred = Prediction(
            sizes={"nq": x.nA, "nk": x.nB + k, "d": 2 * d0, "dv": 1},
            entry_bound=root,
            quantity=label,
            threshold=(yes_range[0] + no_range[1]) / 2,
            yes_range=yes_range,
            no_range=no_range,
            accuracy=max((yes_range[0] - no_range[1]) / 4, 0.0),
            calls=1,
            notes={
                "beta": beta, "kappa": kappa, "anchors": self.anchors, "anchor_count": k, "anchor_exponent": e,
                "log_near_mass": log_near, "log_far_mass": log_far, "log_anchor_mass": log_mu,
                "exact_gap": exact_gap,
            },
        )
        return Image(target, pred, source_sizes={"nA": x.nA, "nB": x.nB, "d": d0, "t": t, "far": far},
                     meta={"beta": beta, "source": x})

    def decide(self, image: Image, result) -> Decision:
        """Decide from an `attention` result: the margin against its certified error (rounding included)."""
        q, err = attention_quantity(result.output, self.quantity, float(result.error_bound))
        return decide_quantity(image.prediction, q, err, 1)
