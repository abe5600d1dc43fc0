"""CNF-SAT → k-OV by split and list into k parts (docs/reductions.md §4.3); k = 2 is SAT → OV.

The N variables are split into k consecutive parts; list i holds, for every assignment α of part i,
the vector a_α ∈ {0,1}^m with a_α[c] = 1 iff α makes no literal of clause c true. One vector per
list has a zero product in every coordinate iff every clause is satisfied by some part: iff the
assignments together satisfy the formula. Sizes: 2^{⌈N/k⌉} or 2^{⌊N/k⌋} vectors per list.
"""

from __future__ import annotations

import numpy as np

from sethlab.cnf import as_cnf
from sethlab.errors import InvalidInstance
from sethlab.instances import KOVInstance
from sethlab.memory import require
from sethlab.reductions import _split_and_list as sl
from sethlab.reductions.base import Decision, Image, Reduction, answer_prediction, decide_answer


class SatToKOV(Reduction):
    """CNF-SAT → k-OV (default k = 3); witnesses: an assignment ↔ the tuple of its parts' indices."""

    name = "sat-to-kov"
    source = "cnf-sat"
    target = "kov"

    def __init__(self, k: int = 3):
        if isinstance(k, bool) or not isinstance(k, int) or k < 2:
            raise InvalidInstance(f"k: must be an integer >= 2, got {k!r}")
        self.k = k

    def overhead(self, size: dict) -> dict:
        counts = [c for _, c in sl.parts(size["N"], self.k)]
        return {"k": self.k, "n_max": 2 ** max(counts), "n_total": sum(2**c for c in counts), "d": size["m"]}

    def apply(self, x, memory_budget=None) -> Image:
        """The k-OV image of a formula (CNF, clause list or DIMACS path), sized before it is built."""
        cnf = as_cnf(x)
        n, m = cnf.nv, len(cnf.clauses)
        require(sl.image_bytes(n, m, self.k), f"the SAT -> {self.k}-OV image of a formula with N = {n} variables "
                f"and m = {m} clauses ({sl.describe(n, m, self.k)})", memory_budget)
        clauses = tuple(tuple(c) for c in cnf.clauses)
        lists = [sl.part_vectors(clauses, first, count) for first, count in sl.parts(n, self.k)]
        inst = KOVInstance.from_lists(*lists)
        sizes = {"k": self.k, "n_max": int(inst.sizes.max()), "n_total": int(inst.sizes.sum()), "d": inst.d}
        pred = answer_prediction(sizes, 1.0)
        return Image(inst, pred, source_sizes={"N": n, "m": m}, meta={"source": cnf, "clauses": clauses, "nvars": n})

    def decide(self, image: Image, result) -> Decision:
        return decide_answer(image.prediction, result)

    def forward_witness(self, image: Image, assignment) -> tuple[int, ...]:
        """A satisfying assignment → the index of its restriction to each part."""
        return sl.indices_of(image.meta["clauses"], image.meta["nvars"], self.k, assignment)

    def backward_witness(self, image: Image, indices) -> tuple[int, ...] | None:
        """An orthogonal k-tuple → the satisfying assignment, as N signed literals."""
        if indices is None:
            return None
        inst = image.target
        idx = [int(i) for i in indices]
        if len(idx) != self.k or not all(0 <= i < n for i, n in zip(idx, inst.sizes.tolist())):
            raise InvalidInstance(f"tuple: {tuple(idx)} is not one index per list of sizes {inst.sizes.tolist()}")
        rows = np.stack([L[i] for L, i in zip(inst.lists, idx)]).astype(bool)
        if rows.all(axis=0).any():
            raise InvalidInstance(f"tuple: {tuple(idx)} is not orthogonal")
        return sl.assignment_of(image.meta["nvars"], self.k, idx)
