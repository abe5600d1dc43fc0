"""Check your own reduction with sethlab's verifier (docs/reductions.md §4.2, docs/decision.md).

A reduction in sethlab is a small class: `apply` builds the target instance and
states a prediction, `decide` reads the answer off the target's solution. The
verifier (`sethlab.reductions.verify.check`) then solves source and target
exactly on many instances, compares the answers and every predicted figure,
and shrinks a failure to a small counterexample (hypothesis).

Here a student writes OV -> Hamming close pair with the 3-bit gadget of docs/reductions.md §4.2,
x -> (x, 1-x, 0) on side A and y -> (1-y, 1, y) on side B, so that
dist = d0 + 2<a, b>. An orthogonal pair sits at distance exactly d0, every other pair
at d0 + 2 or more. Version 1 asks "is some pair at distance < d0 + 1?" and is
correct; version 2 asks "< d0" (an off-by-one) and the verifier finds the smallest
instance it gets wrong.

    python examples/check_your_reduction.py [--quick] [--trials N]
"""

import argparse
import sys

import numpy as np

from sethlab.instances import HammingInstance
from sethlab.reductions import Image, Reduction
from sethlab.reductions.base import answer_prediction, decide_answer
from sethlab.reductions.verify import check
from sethlab.testing import ov_instances


class MyGadget(Reduction):
    """OV -> Gap-Hamming close pair; `offset` sets the radius t = d0 + offset."""

    source = "ov"
    target = "hamming-close-pair"

    def __init__(self, offset: int):
        self.offset = offset
        self.name = f"my-gadget-t=d0+{offset}"

    def overhead(self, size):
        return {"nA": size["nA"], "nB": size["nB"], "d": 3 * size["d"]}

    def apply(self, ov):
        A, B = ov.A.astype(np.uint8), ov.B.astype(np.uint8)
        gA = np.stack([A, 1 - A, np.zeros_like(A)], axis=2).reshape(len(A), -1)
        gB = np.stack([1 - B, np.ones_like(B), B], axis=2).reshape(len(B), -1)
        d0 = ov.d
        t = max(1, d0 + self.offset)
        far = d0 + 2  # every non-orthogonal pair is at distance >= d0 + 2
        target = HammingInstance(gA, gB, t=t, gap=far / t - 1)
        # the answer carries over: YES (1) iff YES, NO (0) iff NO
        return Image(target, answer_prediction({"nA": ov.nA, "nB": ov.nB, "d": 3 * d0}))

    def decide(self, image, answer):
        return decide_answer(image.prediction, answer)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer trials (for CI)")
    ap.add_argument("--trials", type=int, default=None)
    args = ap.parse_args(argv)
    trials = args.trials or (25 if args.quick else 200)
    instances = ov_instances(max_n=6, max_d=6)  # a hypothesis strategy: random, planted and dense OV

    good = check(MyGadget(offset=1), instances, trials=trials, seed=0)
    print(good.summary())
    print()
    bad = check(MyGadget(offset=0), instances, trials=trials, seed=0)
    print(bad.summary())
    print()
    if good.ok and not bad.ok:
        ce = bad.counterexample.instance
        print(f"as expected: t = d0 + 1 passes every check; t = d0 fails, smallest counterexample "
              f"A = {ce.A.tolist()}, B = {ce.B.tolist()} (an orthogonal pair at distance exactly d0 is not < d0)")
        return 0
    print("unexpected: the verifier did not separate the correct and the off-by-one reduction")
    return 1


if __name__ == "__main__":
    sys.exit(main())
