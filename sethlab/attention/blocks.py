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
# OpenBLAS (0.3.x, the build numpy ships) takes a faster unpacked kernel for products of at most 10^6
# multiply-adds on AVX-512 cores: measured here, one thread, 33-35 GF/s for a 128×4097 by 4097×25 product
# against 60 GF/s for its 312-key chunks; 165 -> 108 µs at 128×1025 by 1025×21. So numpy's thin products over
# the keys are cut into chunks of that size (`small_product_chunk`), which also shortens the rounding path.
SMALL_PRODUCT = 1_000_000
# below this many keys a chunk's call overhead outweighs the faster kernel (measured at 128 rows by 65 columns:
# 60 keys 7.5 ms, 120 keys 6.6 ms, 2048 keys 7.4 ms)
MIN_SMALL_CHUNK = 96
POLY_SUM_CHUNK = 256


def small_product_chunk(rows: int, cols: int, cap: int = EXACT_SUM_CHUNK) -> int:
    """Keys per chunk of a product (rows × nk)·(nk × cols) that keeps each chunk within SMALL_PRODUCT multiply-adds,
    at most `cap`; `cap` itself where that would take chunks under MIN_SMALL_CHUNK keys."""
    fit = SMALL_PRODUCT // max(1, rows * cols)
    return cap if fit < MIN_SMALL_CHUNK else min(cap, fit)


def small_product_rows(rows: int, nk: int, cols: int) -> int:
    """Rows per sub-block of a block of `rows` rows whose products (sub-block × nk)·(nk × cols) and
    (sub-block × cols)·(cols × nk) stay within SMALL_PRODUCT multiply-adds, cut evenly; `rows` itself where that
    would take sub-blocks under MIN_SMALL_CHUNK rows."""
    fit = SMALL_PRODUCT // max(1, nk * cols)
    if fit < MIN_SMALL_CHUNK or fit >= rows:
        return rows
    parts = -(-rows // fit)
    return -(-rows // parts)


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
