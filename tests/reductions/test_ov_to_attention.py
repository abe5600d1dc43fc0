"""OV → attention directly (docs/reductions.md §5.1): predictions stated up front, decisions with a margin."""

import math

import numpy as np
import pytest

import sethlab
import sethlab.attention as sa
from sethlab.generators.ov import no_pair_ov, planted_ov
from sethlab.instances import OVInstance
from sethlab.reductions.ov_to_attention import OVToAttention, default_beta
from sethlab.solvers import solve_ov


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n, nb, d", [(16, 16, 8), (64, 40, 12), (200, 256, 16)])
def test_planted_and_no_pair_decided_correctly(seed, n, nb, d):
    red = OVToAttention()
    for inst, truth in ((planted_ov(n, d, seed=seed, n_b=nb)[0], True), (no_pair_ov(n, d, seed=seed, n_b=nb), False)):
        assert solve_ov(inst).yes == truth
        image = red.apply(inst)
        p = image.prediction
        t = image.target
        # sizes and entry bound exactly as predicted
        assert p.sizes == {"nq": t.nq, "nk": t.nk, "d": t.d, "dv": t.dv} == {"nq": n, "nk": nb + 1, "d": d, "dv": 1}
        assert t.bound == pytest.approx(p.entry_bound) and p.entry_bound == pytest.approx(math.sqrt(default_beta(d, max(n, nb))))
        res = sa.attention(t)
        dec = red.decide(image, res)
        assert dec.conclusive and dec.answer == truth
        lo, hi = p.yes_range if truth else p.no_range
        assert lo <= dec.quantity <= hi
        assert dec.margin > dec.error > 0


def test_no_rows_are_below_one_over_8n():
    inst = no_pair_ov(128, 14, seed=3)
    image = OVToAttention().apply(inst)
    T = sa.attention(image.target).output[:, 0]
    assert T.max() <= 1 / (8 * 128)
    assert image.prediction.no_range[1] == pytest.approx(1 / (8 * 128), rel=1e-12)


def test_rows_with_partner_at_least_half_and_backward_witness():
    inst, (i, j) = planted_ov(50, 10, seed=7)
    red = OVToAttention()
    image = red.apply(inst)
    T = sa.attention(image.target).output
    assert T[i, 0] >= 0.5
    pair = red.backward_witness(image, T)
    assert pair is not None and int(inst.A[pair[0]].astype(int) @ inst.B[pair[1]]) == 0
    assert red.forward_witness(image, (i, j)) == i


def test_empty_dimension_and_single_vectors():
    red = OVToAttention()
    empty = OVInstance(np.zeros((2, 0)), np.zeros((3, 0)))  # image of the empty formula: all orthogonal
    for inst, truth in ((empty, True), (OVInstance([[1]], [[1]]), False), (OVInstance([[0, 1]], [[1, 0]]), True)):
        image = red.apply(inst)
        dec = red.decide(image, sa.attention(image.target))
        assert dec.answer is truth
        assert image.target.d == max(inst.d, 1)


def test_frobenius_quantity_ranges():
    red = OVToAttention(quantity="frobenius")
    for inst, truth in ((planted_ov(64, 12, seed=1)[0], True), (no_pair_ov(64, 12, seed=1), False)):
        image = red.apply(inst)
        dec = red.decide(image, sa.attention(image.target))
        assert dec.answer == truth
        assert image.prediction.yes_range[0] == 0.25 and image.prediction.no_range[1] == pytest.approx(64 * (1 / (8 * 64)) ** 2, rel=1e-12)


def test_too_small_beta_is_caught_by_the_prediction():
    """With β far below the spec the NO rows are not small: the decision must not claim NO wrongly."""
    inst = no_pair_ov(64, 12, seed=2)
    red = OVToAttention(beta=1.0)
    image = red.apply(inst)
    dec = red.decide(image, sa.attention(image.target))
    assert dec.answer is not False or dec.quantity <= image.prediction.no_range[1]


def test_bad_parameters():
    with pytest.raises(sethlab.InvalidInstance, match="beta"):
        OVToAttention(beta=-1.0)
    with pytest.raises(sethlab.InvalidInstance, match="quantity"):
        OVToAttention(quantity="mean")
