"""Row blocking shared by every streaming engine: memory O(block · nk), never nq × nk (docs/problems.md §2.2)."""

from __future__ import annotations

from sethlab.errors import InvalidInstance

# Elements of one b×nk work buffer. Each backend may prefer another size (Ops.block_elements).
DEFAULT_BLOCK_ELEMENTS = 1 << 22
# Below ~256 rows the products P·h and p·A2 (long inner dimension, small output) fall
# off BLAS's fast path: measured 10x slower per score at 64 rows than at 256 (n = 16384).
MIN_BLOCK_ROWS = 256
# Hard cap on one buffer (2^25 float64 = 256 MiB), which wins over MIN_BLOCK_ROWS for huge nk.
MAX_BLOCK_ELEMENTS = 1 << 25
# Chunks of the long sums (`matmul_sum`): a term of a chunked sum of n terms picks up at most
# chunk + ⌈n/chunk⌉ roundings in the worst case instead of n (docs/rounding.md, "Sums").
# The exact engine's products over the keys are thin (dv + 1 or d columns), where each extra
# BLAS call shows: 2048 costs under 5% there (measured at nk = 16384). The polynomial engine's
# products are wide (r × (d+1)(dv+1)): 256, about a BLAS's own k-blocking, costs nothing measurable.
EXACT_SUM_CHUNK = 2048
POLY_SUM_CHUNK = 256


def block_rows(nq: int, width: int, block_size: int | None = None, target: int = DEFAULT_BLOCK_ELEMENTS) -> int:
    """Rows per block for `nq` rows of `width` columns; `block_size` overrides the default."""
    if block_size is not None:
        if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
            raise InvalidInstance(f"block_size: must be a positive integer, got {block_size!r}")
        return min(block_size, nq)
    width = max(width, 1)
    rows = max(MIN_BLOCK_ROWS, target // width)
    rows = min(rows, max(1, MAX_BLOCK_ELEMENTS // width))
    return max(1, min(nq, rows))


def row_blocks(n: int, b: int):
    """Consecutive (lo, hi) row ranges of size b covering 0..n."""
    for lo in range(0, n, b):
        yield lo, min(n, lo + b)


def matmul_sum(ops, a, b, out, tmp, chunk: int, accumulate: bool = False):
    """out ← a @ b (or out += a @ b), the inner dimension summed in chunks of `chunk`, accumulated in order.

    Each term of a result entry then picks up at most chunk + ⌈n/chunk⌉ roundings (plus the
    accumulator's earlier ones) in any BLAS, instead of n (docs/rounding.md, "Sums";
    `rounding.sum_roundings`). `tmp` has out's shape.
    """
    n = a.shape[1]
    start = 0
    if not accumulate:
        ops.matmul(a[:, :chunk], b[:chunk], out=out)
        start = chunk
    for lo in range(start, n, chunk):
        out += ops.matmul(a[:, lo : lo + chunk], b[lo : lo + chunk], out=tmp)
    return out
