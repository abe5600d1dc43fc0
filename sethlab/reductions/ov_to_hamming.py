"""OV → Hamming close pair by the 3-bit gadget (docs/reductions.md §4.2).

Gadget: x ↦ (x, 1−x, 0) on side A, y ↦ (1−y, 1, y) on side B, so each coordinate contributes
1 + 2xy and dist(gA(a), gB(b)) = d0 + 2⟨a, b⟩. In the strict Gap-Hamming form (near: < t; far:
>= ⌈(1+gap)t⌉) that is t = d0 + 1 and gap = 1/(d0 + 1): orthogonal pairs sit at d0 < t, all others
at >= d0 + 2 = far. Indices are unchanged, so the witness maps are the identity (checked).
"""

from __future__ import annotations

import numpy as np

from sethlab.errors import InvalidInstance
from sethlab.instances import HammingInstance
from sethlab.reductions.base import Decision, Image, Reduction, answer_prediction, decide_answer
from sethlab.solvers.ov import as_ov


def _gadget_a(A: np.ndarray) -> np.ndarray:
    """Side-A gadget: each coordinate x becomes (x, 1−x, 0)."""
    A = np.asarray(A, dtype=np.uint8)
    return np.stack([A, 1 - A, np.zeros_like(A)], axis=2).reshape(A.shape[0], 3 * A.shape[1])


def _gadget_b(B: np.ndarray) -> np.ndarray:
    """Side-B gadget: each coordinate y becomes (1−y, 1, y)."""
    B = np.asarray(B, dtype=np.uint8)
    return np.stack([1 - B, np.ones_like(B), B], axis=2).reshape(B.shape[0], 3 * B.shape[1])


def _check_pair(pair, nA: int, nB: int) -> tuple[int, int]:
    i, j = (int(x) for x in pair)
    if not (0 <= i < nA and 0 <= j < nB):
        raise InvalidInstance(f"pair: ({i}, {j}) out of range for sides of {nA} and {nB}")
    return i, j


class OVToHamming(Reduction):
    """OV → Hamming close pair by the 3-bit gadget (docs/reductions.md §4.2)."""

    name = "ov-to-hamming"
    source = "ov"
    target = "hamming-close-pair"

    def overhead(self, size: dict) -> dict:
        return {"nA": size["nA"], "nB": size["nB"], "d": 3 * size["d"], "t": size["d"] + 1}

    def apply(self, x) -> Image:
        """The gadget image of an OVInstance (or its two sides)."""
        ov = as_ov(*x) if isinstance(x, tuple) else as_ov(x)
        d0 = ov.d
        h = HammingInstance(_gadget_a(ov.A), _gadget_b(ov.B), t=d0 + 1, gap=1.0 / (d0 + 1))
        pred = answer_prediction({"nA": h.nA, "nB": h.nB, "d": h.d, "t": h.t}, 1.0, gap=h.gap)
        return Image(h, pred, source_sizes={"nA": ov.nA, "nB": ov.nB, "d": d0}, meta={"source": ov})

    def decide(self, image: Image, result) -> Decision:
        return decide_answer(image.prediction, result)

    def forward_witness(self, image: Image, pair) -> tuple[int, int]:
        """An orthogonal pair of the source → the close pair of the image (the same indices)."""
        ov = image.meta["source"]
        i, j = _check_pair(pair, ov.nA, ov.nB)
        if int(ov.A[i].astype(np.int64) @ ov.B[j]) != 0:
            raise InvalidInstance(f"pair: ({i}, {j}) is not orthogonal")
        return i, j

    def backward_witness(self, image: Image, pair) -> tuple[int, int] | None:
        """A pair of the image at distance <= d0 → the orthogonal pair (the same indices)."""
        if pair is None:
            return None
        inst, d0 = image.target, image.meta["source"].d
        i, j = _check_pair(pair, inst.nA, inst.nB)
        dist = int(np.count_nonzero(inst.A[i] != inst.B[j]))
        if dist > d0:
            raise InvalidInstance(f"pair: ({i}, {j}) is at distance {dist} > d0 = {d0}, not a close pair")
        return i, j
