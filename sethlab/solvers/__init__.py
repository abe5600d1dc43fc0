"""Ground truth for the classic chain: SAT, OV, k-OV and Hamming closest pair (docs/problems.md §4)."""

from sethlab.solvers.answer import Answer
from sethlab.solvers.hamming import close_pairs, closest_pair, solve_hamming
from sethlab.solvers.kov import solve_kov
from sethlab.solvers.ov import orthogonal_pairs, solve_ov
from sethlab.solvers.sat import satisfies, solve_sat, solve_sat_bruteforce

__all__ = ["Answer", "solve_sat", "solve_sat_bruteforce", "satisfies", "solve_ov",
           "orthogonal_pairs", "solve_kov", "closest_pair", "close_pairs", "solve_hamming"]
