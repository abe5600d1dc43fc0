"""OV → Hamming close pair by the 3-bit gadget, and the equal-weight padding (MATH.md 4.2).

Gadget: ``x ↦ (x, 1−x, 0)`` on side A, ``y ↦ (1−y, 1, y)`` on side B, so each
coordinate contributes ``1 + 2xy`` and ``dist(gA(a), gB(b)) = d0 + 2<a, b>``.
MATH.md 4.2 states the decision as "minimum distance ``<= d0``"; in the strict
Gap-Hamming form of MATH.md 5.2 (near: ``< t``; far: ``>= ceil((1+gap)t)``) that is
``t = d0 + 1`` and ``gap = 1/(d0 + 1)``: orthogonal pairs sit at ``d0 < t``, all
others at ``>= d0 + 2 = far``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sethlab.errors import InvalidInstance
from sethlab.instances import HammingInstance, OVInstance, binary_matrix
from sethlab.solvers.ov import as_ov

__all__ = ["OVToHammingImage", "ov_to_hamming", "gadget_a", "gadget_b", "equal_weight",
           "forward_witness", "backward_witness"]


def gadget_a(A: np.ndarray) -> np.ndarray:
    """Side-A gadget: each coordinate ``x`` becomes ``(x, 1−x, 0)``."""
    A = np.asarray(A, dtype=np.uint8)
    return np.stack([A, 1 - A, np.zeros_like(A)], axis=2).reshape(A.shape[0], 3 * A.shape[1])


def gadget_b(B: np.ndarray) -> np.ndarray:
    """Side-B gadget: each coordinate ``y`` becomes ``(1−y, 1, y)``."""
    B = np.asarray(B, dtype=np.uint8)
    return np.stack([1 - B, np.ones_like(B), B], axis=2).reshape(B.shape[0], 3 * B.shape[1])


def equal_weight(M) -> np.ndarray:
    """``a ↦ [a, 1−a]``: every vector gets weight ``d0`` and ``<a', b'> = d0 − dist(a, b)``
    (MATH.md 4.2; the padding of the Gap-Hamming → attention reduction, 5.2)."""
    M = binary_matrix(M, "M")
    return np.concatenate([M, 1 - M], axis=1)


@dataclass(frozen=True, eq=False)
class OVToHammingImage:
    """The Hamming image of an OV instance (indices are unchanged by the gadget)."""

    instance: HammingInstance
    source: OVInstance

    @property
    def d0(self) -> int:
        """Source dimension; orthogonal pairs are exactly the pairs at distance ``d0``."""
        return self.source.d

    @property
    def threshold(self) -> int:
        """MATH.md 4.2's threshold: an orthogonal pair exists iff the minimum distance is ``<= d0``."""
        return self.d0


def ov_to_hamming(A, B=None) -> OVToHammingImage:
    """Apply the gadget to an ``OVInstance`` (or its two sides)."""
    ov = as_ov(A, B)
    d0 = ov.d
    inst = HammingInstance(gadget_a(ov.A), gadget_b(ov.B), t=d0 + 1, gap=1.0 / (d0 + 1))
    return OVToHammingImage(inst, ov)


def _check_pair(pair, nA: int, nB: int) -> tuple[int, int]:
    i, j = (int(x) for x in pair)
    if not (0 <= i < nA and 0 <= j < nB):
        raise InvalidInstance(f"pair: ({i}, {j}) out of range for sides of {nA} and {nB}")
    return i, j


def forward_witness(image: OVToHammingImage, pair) -> tuple[int, int]:
    """An orthogonal pair of the source → the close pair of the image (the same indices)."""
    ov = image.source
    i, j = _check_pair(pair, ov.nA, ov.nB)
    if int(ov.A[i].astype(np.int64) @ ov.B[j]) != 0:
        raise InvalidInstance(f"pair: ({i}, {j}) is not orthogonal")
    return i, j


def backward_witness(image: OVToHammingImage, pair) -> tuple[int, int]:
    """A pair of the image at distance ``<= d0`` → the orthogonal pair (the same indices)."""
    inst = image.instance
    i, j = _check_pair(pair, inst.nA, inst.nB)
    dist = int(np.count_nonzero(inst.A[i] != inst.B[j]))
    if dist > image.d0:
        raise InvalidInstance(f"pair: ({i}, {j}) is at distance {dist} > d0 = {image.d0}, not a close pair")
    return i, j


from sethlab.reductions.base import Decision, Image, Reduction, answer_prediction, decide_answer  # noqa: E402


class OVToHamming(Reduction):
    """OV → Hamming close pair by the 3-bit gadget as a registered reduction (MATH.md 4.2)."""

    name = "ov-to-hamming"
    source = "ov"
    target = "hamming-close-pair"

    def overhead(self, size: dict) -> dict:
        return {"nA": size["nA"], "nB": size["nB"], "d": 3 * size["d"], "t": size["d"] + 1}

    def apply(self, x) -> Image:
        image = ov_to_hamming(x)
        h = image.instance
        pred = answer_prediction({"nA": h.nA, "nB": h.nB, "d": h.d, "t": h.t}, 1.0, gap=h.gap)
        return Image(h, pred, source_sizes={"nA": image.source.nA, "nB": image.source.nB, "d": image.d0},
                     meta={"gadget": image})

    def decide(self, image: Image, result) -> Decision:
        return decide_answer(image.prediction, result)

    def forward_witness(self, image: Image, witness):
        return forward_witness(image.meta["gadget"], witness)

    def backward_witness(self, image: Image, solution):
        return None if solution is None else backward_witness(image.meta["gadget"], solution)

