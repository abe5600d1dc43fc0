"""Attention (AAttC) and attention-loss-gradient (AAttLGC) instances, docs/problems.md §1-2.

Frozen, validated containers of float64 matrices with the bounds the theorems
are stated in (‖Q‖∞, ‖K‖∞, ‖A1 X‖∞, ‖A2‖∞ and the score range R of docs/polynomial.md §3.1).
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sethlab._arrays import as_matrix, max_abs
from sethlab.errors import InvalidInstance


def row_stats(a: np.ndarray, nonnegative: bool = False) -> tuple[float, float, float]:
    """Of |a|: the largest entry, the largest row 1-norm and the largest row 2-norm (one side of `score_range`);
    `nonnegative` says a is already |a|."""
    aa = a if nonnegative else np.abs(a)
    if aa.size == 0:
        return 0.0, 0.0, 0.0
    return float(aa.max()), float(aa.sum(axis=1).max()), float(np.sqrt(np.einsum("ij,ij->i", aa, aa).max()))


# Below this largest entry a row's squares may underflow and its computed 2-norm fall short (or to 0).
NORM2_SAFE_FROM = 2.0**-500


def score_range_from(sq: tuple, sk: tuple, d: int) -> float:
    """`score_range` from the `row_stats` of both sides (a key side shared by many query sides is read once).

    The 2-norm bound is used only where neither side's squares can underflow; the result is raised by
    two subnormal spacings for the product and division that may underflow."""
    candidates = [sq[0] * sk[1] / d, sq[1] * sk[0] / d]
    if min(sq[0], sk[0]) >= NORM2_SAFE_FROM:
        candidates.append(sq[2] * sk[2] / d)
    return float(min(candidates)) * (1 + 2 * (d + 8) * 2.0**-53) + 2 * 2.0**-1074


def score_range(q: np.ndarray, k: np.ndarray) -> float:
    """A provable R with |⟨q_i, k_j⟩/d| <= R for all i, j (docs/polynomial.md §3.1), also bounding Σ_k |q_ik k_jk|/d.

    Minimum of Hölder bounds: ‖q‖∞‖k‖₁/d, ‖q‖₁‖k‖∞/d and ‖q‖₂‖k‖₂/d (the
    plain B_q·B_k is never smaller than the first two), each evaluated with at
    most d + 4 roundings of non-negative numbers and inflated past them
    (docs/rounding.md), so the float result is never below the exact one.
    """
    return score_range_from(row_stats(q), row_stats(k), q.shape[1])


def _finite_product(a: np.ndarray, b: np.ndarray, what: str) -> np.ndarray:
    """a @ b, read-only; InvalidInstance if it overflows float64."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = a @ b
    if not np.isfinite(out).all():
        raise InvalidInstance(f"{what}: overflows float64 (entries beyond {np.finfo(np.float64).max:.3g}); "
                              f"scale the instance down")
    out.flags.writeable = False
    return out


def scalar_identity(X: np.ndarray) -> float | None:
    """λ if the square matrix X is exactly λ·I, else None."""
    lam = float(X[0, 0])
    if not (X.flat[:: X.shape[0] + 1] == lam).all():
        return None
    return lam if np.count_nonzero(X) == (X.shape[0] if lam != 0 else 0) else None


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise InvalidInstance(message)


def _shape_repr(obj, fields) -> str:
    parts = ", ".join(f"{f}={getattr(obj, f).shape[0]}x{getattr(obj, f).shape[1]}" for f in fields)
    return f"{type(obj).__name__}({parts})"


@dataclass(frozen=True, eq=False, repr=False)
class AttentionInstance:
    """Att(Q, K, V) = D⁻¹ exp(QKᵀ/d) V with Q: nq×d, K: nk×d, V: nk×dv (docs/problems.md §1)."""

    Q: np.ndarray
    K: np.ndarray
    V: np.ndarray

    def __post_init__(self):
        for name in ("Q", "K", "V"):
            object.__setattr__(self, name, as_matrix(getattr(self, name), name))
        _require(
            self.K.shape[1] == self.Q.shape[1],
            f"K: has {self.K.shape[1]} columns but Q has {self.Q.shape[1]} (queries and keys share d)",
        )
        _require(
            self.V.shape[0] == self.K.shape[0],
            f"V: has {self.V.shape[0]} rows but K has {self.K.shape[0]} (one value row per key)",
        )

    def __repr__(self) -> str:
        return _shape_repr(self, ("Q", "K", "V"))

    nq = property(lambda self: self.Q.shape[0], doc="number of queries")
    nk = property(lambda self: self.K.shape[0], doc="number of keys")
    d = property(lambda self: self.Q.shape[1], doc="query/key dimension (scores are scaled by 1/d)")
    dv = property(lambda self: self.V.shape[1], doc="value dimension")

    @cached_property
    def bound_Q(self) -> float:
        """‖Q‖∞."""
        return max_abs(self.Q)

    @cached_property
    def bound_K(self) -> float:
        """‖K‖∞."""
        return max_abs(self.K)

    @cached_property
    def bound_V(self) -> float:
        """‖V‖∞ (enters the forward error bound of docs/polynomial.md §3.3)."""
        return max_abs(self.V)

    @property
    def bound(self) -> float:
        """The entry bound B of AAttC: max(‖Q‖∞, ‖K‖∞)."""
        return max(self.bound_Q, self.bound_K)

    @cached_property
    def score_range(self) -> float:
        """R: every score ⟨q_i, k_j⟩/d lies in [−R, R] (docs/polynomial.md §3.1)."""
        return score_range(self.Q, self.K)


@dataclass(frozen=True, eq=False, repr=False)
class GradientInstance:
    """The loss L(X) = ½‖D⁻¹exp(A1 X A2ᵀ/d) A3 Y − E‖_F² at the point X (docs/problems.md §2).

    Shapes: A1 nq×d, A2 nk×d, A3 nk×m, E nq×dv, X d×d, Y m×dv.
    """

    A1: np.ndarray
    A2: np.ndarray
    A3: np.ndarray
    E: np.ndarray
    X: np.ndarray
    Y: np.ndarray

    def __post_init__(self):
        for name in ("A1", "A2", "A3", "E", "X", "Y"):
            object.__setattr__(self, name, as_matrix(getattr(self, name), name))
        nq, d = self.A1.shape
        nk = self.A2.shape[0]
        _require(self.A2.shape[1] == d, f"A2: has {self.A2.shape[1]} columns but A1 has {d}")
        _require(self.X.shape == (d, d), f"X: must be {d}x{d} (d = columns of A1), got {self.X.shape}")
        _require(self.A3.shape[0] == nk, f"A3: has {self.A3.shape[0]} rows but A2 has {nk}")
        _require(
            self.Y.shape[0] == self.A3.shape[1],
            f"Y: has {self.Y.shape[0]} rows but A3 has {self.A3.shape[1]} columns",
        )
        _require(
            self.E.shape == (nq, self.Y.shape[1]),
            f"E: must be {nq}x{self.Y.shape[1]} (rows of A1 x columns of Y), got {self.E.shape}",
        )

    def __repr__(self) -> str:
        return _shape_repr(self, ("A1", "A2", "A3", "E", "X", "Y"))

    nq = property(lambda self: self.A1.shape[0], doc="number of query rows")
    nk = property(lambda self: self.A2.shape[0], doc="number of key rows")
    d = property(lambda self: self.A1.shape[1], doc="dimension of X (scores are scaled by 1/d)")
    m = property(lambda self: self.A3.shape[1], doc="columns of A3 (rows of Y)")
    dv = property(lambda self: self.Y.shape[1], doc="output dimension")

    @cached_property
    def A1X(self) -> np.ndarray:
        """A1 X, the effective queries (computed in float64; its rounding is part of every error bound)."""
        return _finite_product(self.A1, self.X, "A1·X")

    @cached_property
    def X_scalar(self) -> float | None:
        """λ if X = λ·I exactly (the quadrature's calls, docs/quadrature.md), else None (`scalar_identity`)."""
        return scalar_identity(self.X)

    @cached_property
    def h(self) -> np.ndarray:
        """h = A3 Y, the effective values (docs/problems.md §2.1; computed in float64, rounding accounted as for A1X)."""
        return _finite_product(self.A3, self.Y, "A3·Y")

    @cached_property
    def query_stats(self) -> tuple[float, float, float]:
        """`row_stats` of A1X, the query side of `score_range` (its first entry is ‖A1X‖∞)."""
        return row_stats(self.A1X)

    @cached_property
    def bound_A1X(self) -> float:
        """‖A1 X‖∞ (the bound AS24 places on the queries)."""
        return self.query_stats[0]

    @cached_property
    def bound_A2(self) -> float:
        """‖A2‖∞."""
        return max_abs(self.A2)

    @cached_property
    def bound_A1(self) -> float:
        """‖A1‖∞ (enters the gradient error bound of docs/polynomial.md §3.4)."""
        return max_abs(self.A1)

    @cached_property
    def bound_h(self) -> float:
        """‖A3 Y‖∞."""
        return max_abs(self.h)

    @cached_property
    def bound_E(self) -> float:
        """‖E‖∞."""
        return max_abs(self.E)

    @property
    def bound(self) -> float:
        """The entry bound B of AAttLGC: max(‖A1 X‖∞, ‖A2‖∞)."""
        return max(self.bound_A1X, self.bound_A2)

    @cached_property
    def key_stats(self) -> tuple[float, float, float]:
        """`row_stats` of A2, the key side of every score bound."""
        return row_stats(self.A2)

    @cached_property
    def abs_h_max(self) -> float:
        """max (|A3|·|Y|) in float64 (before rounding is accounted for; docs/rounding.md)."""
        return float((np.abs(self.A3) @ np.abs(self.Y)).max()) if self.A3.size and self.Y.size else 0.0

    @cached_property
    def score_range(self) -> float:
        """R: every score ⟨(A1X)_i, (A2)_j⟩/d lies in [−R, R] (docs/polynomial.md §3.1)."""
        return score_range_from(self.query_stats, self.key_stats, self.d)

    @cached_property
    def abs_A1(self) -> np.ndarray:
        """|A1| (read-only), the query side of the a-priori score bounds (docs/rounding.md, "Instance scales")."""
        out = np.abs(self.A1)
        out.flags.writeable = False
        return out

    @cached_property
    def abs_A1_stats(self) -> tuple[float, float, float]:
        """`row_stats` of |A1|: with X = λI the query side of every score bound is |λ| times this."""
        return row_stats(self.abs_A1, nonnegative=True)

    @cached_property
    def col_l1_A1(self) -> float:
        """max_a Σ_i |A1_ia| in float64 (before rounding is accounted for)."""
        return float(self.abs_A1.sum(axis=0).max())

    # derived only from A2, A3, Y, E: one instance's values serve another with the same arrays
    KEY_SIDE = ("h", "bound_h", "bound_A2", "bound_E", "key_stats", "abs_h_max")
    # derived from everything but X
    X_FREE = KEY_SIDE + ("bound_A1", "abs_A1", "abs_A1_stats", "col_l1_A1")

    def adopt_key_side(self, other: "GradientInstance") -> None:
        """Take the key-side values `other` has computed (the caller has checked A2, A3, Y, E are equal)."""
        for name in self.KEY_SIDE:
            if name in other.__dict__ and name not in self.__dict__:
                self.__dict__[name] = other.__dict__[name]

    def at(self, X) -> "GradientInstance":
        """This instance at another point X (a d×d matrix, or a number λ for X = λ·I): A1, A2, A3, E and Y are
        shared (they are read-only checked copies), X is checked, and what is computed from the others alone is
        computed once and shared. The quadrature's many X = λ·I calls are built this way (docs/quadrature.md)."""
        shared = self.__dict__.get("_at_shared")
        if shared is None:  # the arrays and what is computed from them alone, once: then shared by every instance
            shared = {name: getattr(self, name) for name in ("A1", "A2", "A3", "E", "Y") + self.X_FREE}
            self.__dict__["_at_shared"], self.__dict__["_at_eye"] = shared, np.eye(self.d)
        d = self.d
        new = object.__new__(GradientInstance)
        if isinstance(X, (int, float, np.integer, np.floating)) and not isinstance(X, (bool, np.bool_)):
            try:
                lam = float(X)  # a number λ stands for X = λ·I
            except OverflowError:  # an int beyond float64
                lam = math.inf
            _require(math.isfinite(lam), f"X: the scalar λ of X = λ·I must be finite, got {X!r}")
            X = self.__dict__["_at_eye"] * lam
            X.flags.writeable = False
            new.__dict__["X_scalar"] = lam
        else:
            X = as_matrix(X, "X")
            _require(X.shape == (d, d), f"X: must be {d}x{d} (d = columns of A1), got {X.shape}")
        new.__dict__.update(shared)
        new.__dict__["X"] = X
        return new

    def forward_instance(self) -> AttentionInstance:
        """The attention instance (A1 X, A2, A3 Y) whose output is S h."""
        return AttentionInstance(self.A1X, self.A2, self.h)
