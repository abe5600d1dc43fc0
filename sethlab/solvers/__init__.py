"""Ground truth for the classic chain: SAT, OV and Hamming closest pair (MATH.md 4)."""

from sethlab.solvers.answer import Answer
from sethlab.solvers.hamming import close_pairs, closest_pair, solve_hamming
from sethlab.solvers.ov import orthogonal_pairs, solve_ov
from sethlab.solvers.sat import satisfies, solve_sat, solve_sat_bruteforce

__all__ = ["Answer", "solve_sat", "solve_sat_bruteforce", "satisfies", "solve_ov",
           "orthogonal_pairs", "closest_pair", "close_pairs", "solve_hamming"]
