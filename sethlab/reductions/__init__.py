"""Reductions between problems (DESIGN.md "Reduction"); the classic chain of MATH.md 4
lives in ``sat_to_ov`` and ``ov_to_hamming`` (import them directly: nothing heavy here)."""
