"""Instance families, one module each; every family takes ``seed`` and the same seed
gives byte-identical output (docs/design.md, "Conventions")."""

from sethlab.generators.attention import bounded_attention, bounded_gradient
from sethlab.generators.coloring import coloring_formula, random_coloring, random_graph
from sethlab.generators.gap_hamming import no_pair_gap_hamming, planted_gap_hamming
from sethlab.generators.kov import planted_kov
from sethlab.generators.ov import no_pair_ov, planted_ov
from sethlab.generators.pigeonhole import pigeonhole
from sethlab.generators.random_kcnf import random_kcnf
from sethlab.generators.tseitin import random_tseitin, tseitin_formula

__all__ = ["random_kcnf", "pigeonhole", "coloring_formula", "random_graph", "random_coloring",
           "tseitin_formula", "random_tseitin", "planted_ov", "no_pair_ov", "planted_kov", "planted_gap_hamming", "no_pair_gap_hamming", "bounded_attention", "bounded_gradient"]
