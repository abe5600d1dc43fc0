"""Gap-Hamming → attention (docs/reductions.md §5.2): the paper's zero anchors are inconclusive in float64, tuned anchors decide."""

import numpy as np
import pytest

import sethlab
import sethlab.attention as sa
from sethlab.generators.gap_hamming import planted_gap_hamming
from sethlab.instances import HammingInstance
from sethlab.reductions.hamming_to_attention import HammingToAttention
from sethlab.solvers import solve_hamming


def yes_and_no(n, d, t, gap, seed):
    inst, (i, _) = planted_gap_hamming(n, d, t, gap, seed=seed)
    no = HammingInstance(np.delete(inst.A, i, axis=0), inst.B, inst.t, inst.gap)  # the planted row removed
    assert solve_hamming(inst).yes and not solve_hamming(no).yes
    return [(inst, True), (no, False)]


def test_zero_anchors_inconclusive_at_realistic_size():
    red = HammingToAttention("zero")
    for inst, _ in yes_and_no(1024, 40, 3, 2 / 3, seed=0):
        image = red.apply(inst)
        out = sa.attention(image.target).output
        assert np.all(out == 1.0)  # near and far rows both print as 1.0
        dec = red.decide(image, sa.attention(image.target))
        assert dec.answer is None and "below floating-point resolution" in dec.reason
        assert 0 < image.prediction.notes["exact_gap"] < 1e-30


@pytest.mark.parametrize("seed", range(3))
def test_tuned_anchors_conclusive_and_correct(seed):
    red = HammingToAttention("tuned")
    for inst, truth in yes_and_no(1024, 40, 3, 2 / 3, seed=seed):
        image = red.apply(inst)
        p = image.prediction
        assert p.yes_range[0] >= 0.998 and p.no_range[1] <= 2e-3  # docs/reductions.md §5.2's figures
        res = sa.attention(image.target)
        dec = red.decide(image, res)
        assert dec.conclusive and dec.answer == truth
        assert (p.yes_range if truth else p.no_range)[0] <= dec.quantity <= (p.yes_range if truth else p.no_range)[1]
        assert image.target.nk == p.sizes["nk"] and image.target.d == 80
        assert image.target.bound == pytest.approx(p.entry_bound)


def test_worst_case_far_rows_stay_below_prediction():
    """Every far pair at distance exactly far: the far mass is as large as the prediction allows."""
    d0, t, gap = 40, 3, 2 / 3
    rng = np.random.default_rng(0)
    B = rng.integers(0, 2, size=(64, d0))
    A = B.copy()
    A[:, :5] ^= 1  # every row of A is at distance 5 = far from its partner
    inst = HammingInstance(A, B, t, gap)
    assert not solve_hamming(inst).yes
    red = HammingToAttention("tuned")
    image = red.apply(inst)
    dec = red.decide(image, sa.attention(image.target))
    assert dec.answer is False and dec.quantity <= image.prediction.no_range[1]


def test_other_sizes_and_frobenius():
    for n, d, t, gap in [(128, 24, 2, 1.0), (300, 60, 4, 0.5)]:
        for quantity in ("max", "frobenius"):
            red = HammingToAttention("tuned", quantity=quantity, delta=2.0)
            for inst, truth in yes_and_no(n, d, t, gap, seed=1):
                image = red.apply(inst)
                dec = red.decide(image, sa.attention(image.target))
                assert dec.answer in (truth, None)
                if quantity == "max":
                    assert dec.answer == truth


def test_bad_parameters():
    with pytest.raises(sethlab.InvalidInstance, match="anchors"):
        HammingToAttention("random")
    with pytest.raises(sethlab.InvalidInstance, match="x: expected a HammingInstance"):
        HammingToAttention().apply(np.zeros((2, 2)))
