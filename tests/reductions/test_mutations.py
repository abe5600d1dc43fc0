"""The mutation suite: deliberately broken variants of the real reductions, each caught by `check` with a counterexample.

Mutants follow the papers' misprints (docs/misprints.md) and the
construction details of docs/reductions.md and docs/quadrature.md. The catch rate and the median number of
trials to catch are printed (pytest -s) and asserted.
"""

import dataclasses
import statistics
from types import SimpleNamespace

import numpy as np
import pytest

from sethlab.attention import AttentionInstance
from sethlab.instances import HammingInstance, KOVInstance, OVInstance
from sethlab.reductions.attention_to_gradient import AttentionToGradient
from sethlab.reductions.base import Image
from sethlab.reductions.hamming_to_attention import HammingToAttention
from sethlab.reductions.ov_to_attention import OVToAttention
from sethlab.reductions import _split_and_list as sl
from sethlab.reductions.ov_to_hamming import OVToHamming, _gadget_a
from sethlab.reductions.sat_to_kov import SatToKOV
from sethlab.reductions.sat_to_ov import SatToOV
from sethlab.reductions.verify import check
from sethlab.testing import attention_images, cnfs


class SplitOffByOne(SatToOV):
    """Side B lists the variables from n1 + 2: one variable is skipped."""

    name = "mutant-split-off-by-one"

    def apply(self, x):
        image = super().apply(x)
        n, clauses = image.meta["nvars"], image.meta["clauses"]
        n1 = (n + 1) // 2
        A = sl.part_vectors(clauses, 1, n1)
        B = sl.part_vectors(clauses, n1 + 2, n - n1)
        return Image(OVInstance(A, B), image.prediction, image.source_sizes, image.meta)


class FlippedLiterals(SatToOV):
    """a_α[c] = 1 iff α sets some literal of C_c true (the polarity of docs/reductions.md §4.1 reversed)."""

    name = "mutant-flipped-literals"

    def apply(self, x):
        image = super().apply(x)
        n = image.meta["nvars"]
        clauses = tuple(tuple(-l for l in c) for c in image.meta["clauses"])
        A, B = (sl.part_vectors(clauses, first, count) for first, count in sl.parts(n, 2))
        return Image(OVInstance(A, B), image.prediction, image.source_sizes, image.meta)


class KOVLastPartShifted(SatToKOV):
    """The last of the k parts lists its variables from one further: a variable is never set."""

    name = "mutant-kov-last-part-shifted"

    def apply(self, x):
        image = super().apply(x)
        n, clauses = image.meta["nvars"], image.meta["clauses"]
        parts = sl.parts(n, self.k)
        lists = [sl.part_vectors(clauses, first, count) for first, count in parts[:-1]]
        first, count = parts[-1]
        lists.append(sl.part_vectors(clauses, first + 1, count))
        return Image(KOVInstance.from_lists(*lists), image.prediction, image.source_sizes, image.meta)


class WrongGadgetBit(OVToHamming):
    """Side B's middle gadget bit is 0 instead of 1: the distance identity d0 + 2<a,b> breaks."""

    name = "mutant-gadget-bit"

    def apply(self, x):
        image = super().apply(x)
        ov = image.meta["source"]
        B = np.stack([1 - ov.B, np.zeros_like(ov.B), ov.B], axis=2).reshape(ov.nB, 3 * ov.d)
        h = image.target
        inst = HammingInstance(_gadget_a(ov.A), B, h.t, h.gap)
        return Image(inst, image.prediction, image.source_sizes, image.meta)


class BetaTooSmall(OVToAttention):
    """Builds with β/4 while predicting for β: NO rows are not pushed below 1/(8n)."""

    name = "mutant-beta-too-small"

    def apply(self, x):
        image = super().apply(x)
        t = image.target
        return Image(AttentionInstance(t.Q / 2, t.K / 2, t.V), image.prediction, image.source_sizes, image.meta)


class KeysSignFlipped(OVToAttention):
    """Keys +√β·b_j instead of −√β·b_j: overlapping pairs dominate instead of orthogonal ones."""

    name = "mutant-key-sign"

    def apply(self, x):
        image = super().apply(x)
        t = image.target
        return Image(AttentionInstance(t.Q, -t.K, t.V), image.prediction, image.source_sizes, image.meta)


class AnchorsWrongMass(HammingToAttention):
    """Tuned anchors two weight steps heavier than stated: the mass is off by e^{2κ}."""

    name = "mutant-anchor-mass"

    def apply(self, x):
        image = super().apply(x)
        t, notes = image.target, image.prediction.notes
        d0 = x.d
        e = notes["anchor_exponent"]
        w = min(d0, abs(e) + 2)
        u = np.zeros(d0)
        u[:w] = 1.0
        anchor = (1 if e >= 0 else -1) * np.sqrt(notes["beta"]) * np.concatenate([u, u])
        K = t.K.copy()
        K[x.nB:] = anchor
        return Image(AttentionInstance(t.Q, K, t.V), image.prediction, image.source_sizes, image.meta)


class WrongFZero(AttentionToGradient):
    """f(0) with the softmax averaged over nq instead of nk keys."""

    name = "mutant-f0"

    def apply(self, image):
        g = super().apply(image)
        inst = image.target
        col = inst.V.sum(axis=0) / inst.nq
        notes = dict(g.prediction.notes, f0=float(inst.nq * np.sum(col * col)))
        return Image(g.target, dataclasses.replace(g.prediction, notes=notes), g.source_sizes, g.meta)


def buggy_gradient(bug):
    """A plain-formula gradient oracle (docs/problems.md §2.1) with one of the misprints of docs/misprints.md."""

    def oracle(inst, accuracy=None):
        d = inst.d
        s = inst.A1 @ inst.X @ inst.A2.T
        if bug != "no-1/d":  # misprint 1: the 1/d inside exp dropped
            s = s / d
        S = np.exp(s - s.max(axis=1, keepdims=True))
        S /= S.sum(axis=1, keepdims=True)
        h = inst.A3 @ inst.Y
        c = S @ h - inst.E
        q = h @ c.T if bug == "q-transposed" else c @ h.T  # misprint 2
        r = (S * q).sum(axis=1)
        p2 = S * r[None, :] if bug == "p2-columns" else r[:, None] * S  # misprint 3
        p = S * q - p2
        grad = inst.A1.T @ p @ inst.A2 / d
        return SimpleNamespace(grad=grad, loss=0.5 * float((c * c).sum()), error_bound=0.0, dtype="float64")

    return oracle


def square_images():
    """Forward images with nq = nk (nA = nB + 1), so transposition bugs give wrong values, not shape errors."""
    from sethlab.testing import ov_instances

    def square(inst):
        return OVInstance(np.vstack([inst.A, inst.B[:1]]), inst.B)

    red = OVToAttention(quantity="frobenius")
    return ov_instances(max_n=8, max_d=6).map(square).map(red.apply)


MUTANTS = [
    ("split off by one", SplitOffByOne(), dict(instances=cnfs(max_vars=7, max_clauses=10))),
    ("flipped literals", FlippedLiterals(), dict(instances=cnfs(max_vars=7, max_clauses=10))),
    ("k-OV: last part shifted", KOVLastPartShifted(3), dict(instances=cnfs(max_vars=8, max_clauses=10))),
    ("wrong gadget bit", WrongGadgetBit(), {}),
    ("beta too small", BetaTooSmall(), {}),
    ("key sign flipped", KeysSignFlipped(), {}),
    ("anchors with the wrong mass", AnchorsWrongMass("tuned"), {}),
    ("wrong f(0) in the quadrature", WrongFZero(), dict(instances=attention_images(max_n=8, max_d=6))),
    ("1/d dropped in the gradient", AttentionToGradient(nodes=64),
     dict(instances=attention_images(max_n=8, max_d=6), oracle=buggy_gradient("no-1/d"))),
    ("q = h c^T (transposed)", AttentionToGradient(nodes=64),
     dict(instances=square_images(), oracle=buggy_gradient("q-transposed"))),
    ("p2 scaled by columns", AttentionToGradient(nodes=64),
     dict(instances=square_images(), oracle=buggy_gradient("p2-columns"))),
]

@pytest.fixture(scope="module")
def reports():
    """One check per mutant, shared by the per-mutant tests and the catch-rate summary (which can fail)."""
    return {label: check(mutant, kwargs.get("instances"), trials=60, seed=0, oracle=kwargs.get("oracle"))
            for label, mutant, kwargs in MUTANTS}


@pytest.mark.parametrize("label", [m[0] for m in MUTANTS])
def test_mutant_is_caught_with_a_counterexample(label, reports):
    report = reports[label]
    assert not report.ok, f"{label} was not caught:\n{report.summary()}"
    ce = report.counterexample
    assert ce is not None and not ce.ok and ce.messages


def test_correct_oracle_passes_the_same_checks():
    """The checks the gradient mutants fail are passed by the correct plain-formula oracle."""
    report = check(AttentionToGradient(nodes=64), square_images(), trials=15, seed=0, oracle=buggy_gradient(None))
    assert report.ok, report.summary()


def test_catch_rate_and_median_trials(reports):
    """Every mutant caught by a wrong answer or prediction (a counterexample row), not merely by inconclusive runs."""
    caught = {label: r.trials_to_first_failure for label, r in reports.items()
              if not r.ok and r.counterexample is not None}
    missed = sorted(set(reports) - set(caught))
    rate = len(caught) / len(MUTANTS)
    median = statistics.median(caught.values()) if caught else None
    print(f"\nmutation suite: {len(caught)}/{len(MUTANTS)} caught (rate {rate:.0%}), "
          f"median trials to catch {median}, per mutant {caught}, missed {missed}")
    assert rate == 1.0, f"not caught: {missed}"
