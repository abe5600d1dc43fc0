"""Same seed, same bytes: every family, across processes with different hash seeds."""

import os
import subprocess
import sys

SCRIPT = r"""
import hashlib
from sethlab.cnf import dimacs_string
from sethlab.generators import (no_pair_ov, pigeonhole, planted_gap_hamming, planted_ov, random_coloring,
                                random_kcnf, random_tseitin)
h = hashlib.sha256()
for f in [random_kcnf(30, 120, 3, seed=1), random_kcnf(30, 120, 3, seed=1, planted=True), pigeonhole(5, seed=2),
          random_coloring(30, 0.2, 3, seed=3), random_tseitin(30, 3, seed=4),
          random_tseitin(30, 4, seed=4, parity="even")]:
    h.update(dimacs_string(f).encode())
inst, pair = planted_ov(300, 20, seed=5)
h.update(inst.A.tobytes() + inst.B.tobytes() + repr(pair).encode())
h.update(no_pair_ov(300, 20, seed=6).B.tobytes())
inst, pair = planted_gap_hamming(200, 48, 8, 0.5, seed=7)
h.update(inst.A.tobytes() + inst.B.tobytes() + repr(pair).encode())
print(h.hexdigest())
"""


def run(hash_seed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_every_family_is_byte_identical_across_processes():
    first, second = run("1"), run("2")
    assert len(first) == 64
    assert first == second
