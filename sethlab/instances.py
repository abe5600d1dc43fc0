"""Instance types of the classic chain: OV and Gap-Hamming (docs/problems.md §4.2, §4.4).

Frozen dataclasses validated in ``__post_init__``; inputs may be numpy arrays,
nested lists or torch tensors and are stored as read-only uint8 numpy arrays.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from sethlab._arrays import to_numpy
from sethlab.errors import InvalidInstance

__all__ = ["OVInstance", "KOVInstance", "HammingInstance", "binary_matrix", "far_radius"]


def binary_matrix(value, field: str) -> np.ndarray:
    """Validate a 0/1 matrix (rows = vectors) and return a read-only uint8 copy."""
    arr = to_numpy(value, field)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise InvalidInstance(f"{field}: entries must be numeric 0/1, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise InvalidInstance(f"{field}: must be a 2-D matrix (one row per vector), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise InvalidInstance(f"{field}: empty side (no vectors)")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        i, j = np.argwhere(np.isnan(arr))[0]
        raise InvalidInstance(f"{field}: NaN at ({i}, {j}) (entries must be 0 or 1)")
    if arr.dtype.kind == "b" or (arr.dtype.kind == "u" and (arr.size == 0 or arr.max() <= 1)):
        bad = None  # fast path for the common uint8/bool input
    else:
        bad = (arr != 0) & (arr != 1)
    if bad is not None and bad.any():
        i, j = np.argwhere(bad)[0]
        raise InvalidInstance(f"{field}: entries must be 0 or 1, found {arr[i, j].item()!r} at ({i}, {j})")
    out = np.ascontiguousarray(arr, dtype=np.uint8).copy()
    out.setflags(write=False)
    return out


def _pair(A, B) -> tuple[np.ndarray, np.ndarray]:
    A, B = binary_matrix(A, "A"), binary_matrix(B, "B")
    if A.shape[1] != B.shape[1]:
        raise InvalidInstance(f"B: dimension {B.shape[1]} differs from A's dimension {A.shape[1]}")
    return A, B


class _TwoSides:
    """Sizes of an instance with two sides of 0/1 vectors A (nA × d) and B (nB × d)."""

    @property
    def nA(self) -> int:
        return self.A.shape[0]

    @property
    def nB(self) -> int:
        return self.B.shape[0]

    @property
    def d(self) -> int:
        return self.A.shape[1]


@dataclass(frozen=True, eq=False)
class OVInstance(_TwoSides):
    """Orthogonal Vectors: is there ``(i, j)`` with ``<A[i], B[j]> = 0``? (docs/problems.md §4.2)

    The sides may have different sizes; both have dimension ``d`` (``d = 0`` is
    allowed: the image of the empty formula, where every pair is orthogonal).
    """

    A: np.ndarray
    B: np.ndarray

    def __post_init__(self):
        A, B = _pair(self.A, self.B)
        object.__setattr__(self, "A", A)
        object.__setattr__(self, "B", B)



def far_radius(t: int, gap: float) -> int:
    """Smallest integer distance that counts as far: ``ceil((1+gap)·t)`` (docs/problems.md §4.4).

    A relative tolerance of 1e-9 keeps a product that is an integer in exact
    arithmetic (``gap = 1/(d0+1)``, ``t = d0+1``) from being pushed one up by rounding.
    """
    x = (1.0 + gap) * t
    r = round(x)
    return int(r) if abs(x - r) <= 1e-9 * max(1.0, x) else math.ceil(x)


@dataclass(frozen=True, eq=False)
class HammingInstance(_TwoSides):
    """Gap-Hamming close pair (docs/problems.md §4.4): YES if some pair has distance ``< t``;
    NO if every pair has distance ``>= ceil((1+gap)·t)`` (``far``); anything
    between violates the promise. The 3-bit gadget of docs/reductions.md §4.2 produces these.
    """

    A: np.ndarray
    B: np.ndarray
    t: int
    gap: float

    def __post_init__(self):
        A, B = _pair(self.A, self.B)
        t, gap = self.t, self.gap
        if isinstance(t, bool) or not isinstance(t, numbers.Real):
            raise InvalidInstance(f"t: must be an integer radius, got {t!r}")
        if isinstance(t, numbers.Integral) or (math.isfinite(float(t)) and float(t).is_integer()):
            t = int(t)
        else:
            raise InvalidInstance(f"t: must be an integer radius, got {t!r}")
        if t < 1:
            raise InvalidInstance(f"t: must be >= 1 (distance < t must be possible), got {t}")
        if isinstance(gap, bool) or not isinstance(gap, numbers.Real):
            raise InvalidInstance(f"gap: must be a positive number, got {gap!r}")
        gap = float(gap)
        if math.isnan(gap) or math.isinf(gap) or gap <= 0:
            raise InvalidInstance(f"gap: must be a finite number > 0, got {gap!r}")
        object.__setattr__(self, "A", A)
        object.__setattr__(self, "B", B)
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "gap", gap)


    @property
    def far(self) -> int:
        """Distance from which a pair counts as far: ``ceil((1+gap)·t)``."""
        return far_radius(self.t, self.gap)


@dataclass(frozen=True, eq=False)
class KOVInstance:
    """k-Orthogonal Vectors: is there one vector from each of the k lists with, in every coordinate,
    at least one zero (Σ_c Π_i a_i[c] = 0)? (docs/problems.md §4.3)

    Stored as the lists stacked in `vectors` (Σ n_i × d, 0/1) and their lengths `sizes`; build one
    from the lists with `KOVInstance.from_lists(L1, L2, ...)`; `lists` gives them back. k >= 2.
    """

    vectors: np.ndarray
    sizes: np.ndarray

    def __post_init__(self):
        sizes = to_numpy(self.sizes, "sizes")
        if sizes.ndim != 1 or sizes.dtype.kind not in "iu" or sizes.size < 2 or (sizes < 1).any():
            raise InvalidInstance(f"sizes: must list k >= 2 positive list lengths, got {sizes.tolist()!r}")
        vectors = binary_matrix(self.vectors, "vectors")
        if int(sizes.sum()) != vectors.shape[0]:
            raise InvalidInstance(f"sizes: add up to {int(sizes.sum())} but vectors has {vectors.shape[0]} rows")
        sizes = np.ascontiguousarray(sizes, dtype=np.int64).copy()
        sizes.setflags(write=False)
        object.__setattr__(self, "vectors", vectors)
        object.__setattr__(self, "sizes", sizes)

    @classmethod
    def from_lists(cls, *lists) -> "KOVInstance":
        """From k >= 2 lists (matrices of 0/1 rows, one per list, the same dimension)."""
        if len(lists) == 1 and isinstance(lists[0], (list, tuple)) and len(lists[0]) >= 2 \
                and not isinstance(lists[0][0], numbers.Number):
            lists = tuple(lists[0])
        if len(lists) < 2:
            raise InvalidInstance(f"lists: k-OV needs at least 2 lists, got {len(lists)}")
        mats = [binary_matrix(L, f"list {i + 1}") for i, L in enumerate(lists)]
        d = mats[0].shape[1]
        for i, M in enumerate(mats[1:], start=2):
            if M.shape[1] != d:
                raise InvalidInstance(f"list {i}: dimension {M.shape[1]} differs from list 1's dimension {d}")
        return cls(np.vstack(mats), np.array([M.shape[0] for M in mats], dtype=np.int64))

    @property
    def k(self) -> int:
        return int(self.sizes.size)

    @property
    def d(self) -> int:
        return self.vectors.shape[1]

    @property
    def lists(self) -> tuple[np.ndarray, ...]:
        """The k lists (read-only views into `vectors`)."""
        bounds = np.concatenate(([0], np.cumsum(self.sizes)))
        return tuple(self.vectors[bounds[i]:bounds[i + 1]] for i in range(self.k))

    def __repr__(self) -> str:
        return f"KOVInstance(k={self.k}, sizes={self.sizes.tolist()}, d={self.d})"
