"""Row blocking shared by every streaming engine: memory O(block · nk), never nq × nk (MATH.md 2.2)."""

from __future__ import annotations

from sethlab.errors import InvalidInstance

# Elements of one b×nk work buffer: 2^20 (8 MiB in float64) keeps a block in the
# last-level cache while each matrix product is still large enough to run at full rate.
DEFAULT_BLOCK_ELEMENTS = 1 << 20
MIN_BLOCK_ROWS = 64


def block_rows(nq: int, width: int, block_size: int | None = None) -> int:
    """Rows per block for `nq` rows of `width` columns; `block_size` overrides the default."""
    if block_size is not None:
        if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
            raise InvalidInstance(f"block_size: must be a positive integer, got {block_size!r}")
        return min(block_size, nq)
    return max(1, min(nq, max(MIN_BLOCK_ROWS, DEFAULT_BLOCK_ELEMENTS // max(width, 1))))


def row_blocks(n: int, b: int):
    """Consecutive (lo, hi) row ranges of size b covering 0..n."""
    for lo in range(0, n, b):
        yield lo, min(n, lo + b)
