"""The memory budget of the polynomial-method engine: refuse a request instead of swapping (MATH.md 3.4).

Default: half of the memory available now (MemAvailable in /proc/meminfo, or free
memory on a CUDA device). Override with `memory_budget=` or the environment
variable SETHLAB_MEMORY_BUDGET: bytes ("2000000000"), a size ("512M", "8G",
"1.5GiB") or a fraction of the available memory ("0.25").
"""

from __future__ import annotations

import os
import re

from sethlab.errors import InvalidInstance, MemoryBudgetExceeded  # noqa: F401  (re-exported)

ENV_VAR = "SETHLAB_MEMORY_BUDGET"
DEFAULT_FRACTION = 0.5
FALLBACK_AVAILABLE = 4 << 30  # when the platform tells nothing
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}



def available_bytes(ops=None) -> int:
    """Memory that can be allocated now: the device's free memory, else host MemAvailable."""
    if ops is not None and hasattr(ops, "memory_available"):
        dev = ops.memory_available()
        if dev is not None:
            return int(dev)
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return FALLBACK_AVAILABLE


def parse_budget(value, field: str = "memory_budget", ops=None) -> int:
    """Bytes from an int, a size string ('512M', '8G') or a fraction in (0, 1] of the available memory."""
    if isinstance(value, bool):
        raise InvalidInstance(f"{field}: must be a byte count, a size like '8G' or a fraction, got {value!r}")
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([KMGT]?)(?:i?B)?\s*", value, re.IGNORECASE)
        if not m:
            raise InvalidInstance(f"{field}: cannot read {value!r} (examples: 2000000000, '512M', '8G', '0.25')")
        number, unit = float(m.group(1)), m.group(2).upper()
        if unit:
            value = number * _UNITS[unit]
        else:
            value = number
    if not isinstance(value, (int, float)) or value != value or value <= 0 or value == float("inf"):
        raise InvalidInstance(f"{field}: must be positive, got {value!r}")
    if value <= 1 and not isinstance(value, int):
        return int(value * available_bytes(ops))
    return int(value)


def memory_budget(explicit=None, ops=None) -> int:
    """The budget in bytes: `explicit`, else $SETHLAB_MEMORY_BUDGET, else half the available memory."""
    if explicit is not None:
        return parse_budget(explicit, "memory_budget", ops)
    env = os.environ.get(ENV_VAR)
    if env:
        return parse_budget(env, ENV_VAR, ops)
    return int(DEFAULT_FRACTION * available_bytes(ops))


def format_bytes(n: float) -> str:
    """'1.5 GiB' style."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} PiB"
