"""The instance families methods are scored on (docs/approx.md, "Families"): bounded entries, and the
images of the OV and Gap-Hamming reductions with what each reduction predicts."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sethlab.attention.instances import AttentionInstance
from sethlab.errors import InvalidInstance

FAMILIES = ("bounded", "ov", "gap-hamming")
BOUNDED_D = 16  # columns of a bounded instance unless d= says otherwise
GAP_T, GAP_GAP = 3, 0.67  # Gap-Hamming: a pair closer than t = 3, every other pair at distance >= 6


@dataclass
class Trial:
    """One instance of a family: the attention instance, and for reduction images the source's truth,
    the image (its prediction) and the reduction whose decision rule reads the output."""

    instance: AttentionInstance
    seed: int
    truth: bool | None = None
    image: object = None
    reduction: object = None


def ov_dimension(n: int) -> int:
    """d0 = round(2·log2 n): the dimension at which OV is hard for n vectors (docs/reductions.md §5.1)."""
    return max(1, round(2 * math.log2(max(n, 2))))


def hamming_dimension(n: int) -> int:
    """A dimension where random pairs stay at distance >= 6 among n² pairs (about d/2 apart)."""
    return max(48, 4 * math.ceil(math.log2(max(n, 2))))


def bound_for(n: int, ratio: float) -> float:
    """B = ratio·√ln n, the entry bound of the `bounded` family (the theory's threshold is ratio ≈ 1)."""
    return ratio * math.sqrt(math.log(max(n, 2)))


def trial(family: str, n: int, seed: int, index: int, ratio: float | None = None, d: int | None = None) -> Trial:
    """Instance number `index` of `family` at size n (even: YES, odd: NO for the reduction families)."""
    if family == "bounded":
        from sethlab.generators.attention import bounded_attention

        if ratio is None:
            raise InvalidInstance("ratio: the bounded family needs B = ratio·sqrt(ln n); give ratio")
        return Trial(bounded_attention(n, d or BOUNDED_D, bound_for(n, ratio), seed=seed), seed)
    yes = index % 2 == 0
    if family == "ov":
        from sethlab.generators.ov import no_pair_ov, planted_ov
        from sethlab.reductions.ov_to_attention import OVToAttention

        d0 = d or ov_dimension(n)
        source = planted_ov(n, d0, seed=seed)[0] if yes else no_pair_ov(n, d0, seed=seed)
        red = OVToAttention()
    elif family == "gap-hamming":
        from sethlab.generators.gap_hamming import no_pair_gap_hamming, planted_gap_hamming
        from sethlab.reductions.hamming_to_attention import HammingToAttention

        dh = d or hamming_dimension(n)
        source = (planted_gap_hamming(n, dh, GAP_T, GAP_GAP, seed=seed)[0] if yes
                  else no_pair_gap_hamming(n, dh, GAP_T, GAP_GAP, seed=seed))
        red = HammingToAttention(anchors="tuned")
    else:
        raise InvalidInstance(f"family: must be one of {', '.join(FAMILIES)}, got {family!r}")
    image = red.apply(source)
    return Trial(image.target, seed, yes, image, red)
