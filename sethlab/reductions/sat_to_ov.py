"""CNF-SAT → OV by split and list (Williams 2005; docs/reductions.md §4.1).

Variables 1..n1 (n1 = ⌈N/2⌉) index the rows of A, the rest the rows of B; A[α, c] = 1 iff α makes
no literal of clause c true, so ⟨A[α], B[β]⟩ = 0 iff α ∪ β satisfies the formula. The image is
exponential in N: its size is planned from the formula and refused beyond the memory budget.
"""

from __future__ import annotations

import numpy as np

from sethlab.cnf import as_cnf
from sethlab.errors import InvalidInstance
from sethlab.instances import OVInstance
from sethlab.memory import require
from sethlab.reductions import _split_and_list as sl
from sethlab.reductions.base import Decision, Image, Reduction, answer_prediction, decide_answer

HINT = "split-and-list is exponential in N: about 40 variables fit in a few GiB"


class SatToOV(Reduction):
    """CNF-SAT → OV by split and list (docs/reductions.md §4.1); witnesses: an assignment ↔ the pair (α, β)."""

    name = "sat-to-ov"
    source = "cnf-sat"
    target = "ov"
    k = 2

    def overhead(self, size: dict) -> dict:
        counts = [c for _, c in sl.parts(size["N"], 2)]
        return {"nA": 2 ** counts[0], "nB": 2 ** counts[1], "d": size["m"]}

    def apply(self, x, memory_budget=None) -> Image:
        """The OV image of a formula (CNF, clause list or DIMACS path), sized before it is built."""
        cnf = as_cnf(x)
        n, m = cnf.nv, len(cnf.clauses)
        require(sl.image_bytes(n, m, 2), f"the SAT -> OV image of a formula with N = {n} variables and m = {m} "
                f"clauses ({sl.describe(n, m, 2)})", memory_budget, hint=HINT)
        clauses = tuple(tuple(c) for c in cnf.clauses)
        A, B = (sl.part_vectors(clauses, first, count) for first, count in sl.parts(n, 2))
        ov = OVInstance(A, B)
        pred = answer_prediction({"nA": ov.nA, "nB": ov.nB, "d": ov.d}, 1.0)
        return Image(ov, pred, source_sizes={"N": n, "m": m}, meta={"source": cnf, "clauses": clauses, "nvars": n})

    def decide(self, image: Image, result) -> Decision:
        return decide_answer(image.prediction, result)

    def forward_witness(self, image: Image, assignment) -> tuple[int, int]:
        """A satisfying assignment (signed literals or {var: bool}) → its orthogonal pair."""
        return sl.indices_of(image.meta["clauses"], image.meta["nvars"], 2, assignment)

    def backward_witness(self, image: Image, pair) -> tuple[int, ...] | None:
        """An orthogonal pair (i, j) → the satisfying assignment, as N signed literals."""
        if pair is None:
            return None
        i, j = (int(x) for x in pair)
        ov = image.target
        if not (0 <= i < ov.nA and 0 <= j < ov.nB):
            raise InvalidInstance(f"pair: ({i}, {j}) out of range for sides of {ov.nA} and {ov.nB}")
        if int(ov.A[i].astype(np.int64) @ ov.B[j]) != 0:
            raise InvalidInstance(f"pair: ({i}, {j}) is not orthogonal")
        return sl.assignment_of(image.meta["nvars"], 2, (i, j))
