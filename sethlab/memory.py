"""The memory budget: every entry point computes what it will allocate and refuses what exceeds it.

The budget is half of the memory available now (MemAvailable in /proc/meminfo,
or the free memory of a CUDA device) unless set by `memory_budget=` or the
environment variable SETHLAB_MEMORY_BUDGET. One syntax, nothing else accepted:

- a number of bytes, with an optional binary unit: ``2000000000``, ``512M``,
  ``8G``, ``1.5GiB``, ``64KB``, ``1B`` (K, M, G, T are powers of 1024; the
  ``B``/``iB`` suffix is optional; at least 1 byte);
- a percentage of the available memory: ``25%`` (more than 0, at most 100).

Python ints are byte counts; other numbers are refused (a fraction is written
as a percentage). `require` is the one check all of sethlab uses.
"""

from __future__ import annotations

import math
import numbers
import os
import re

from sethlab.errors import InvalidInstance, MemoryBudgetExceeded

ENV_VAR = "SETHLAB_MEMORY_BUDGET"
DEFAULT_PERCENT = 50.0
FALLBACK_AVAILABLE = 4 << 30  # when the platform tells nothing
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:I?B)?\s*", re.IGNORECASE)
_PERCENT = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*")
SYNTAX = "a byte count like 2000000000, '512M', '8G', '1.5GiB', or a percentage of available memory like '25%'"


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
    """Bytes from an int (bytes) or a string in the one syntax of this module; InvalidInstance otherwise."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < 1:
            raise InvalidInstance(f"{field}: must be at least 1 byte, got {value!r}")
        return int(value)
    if not isinstance(value, str):
        raise InvalidInstance(f"{field}: must be {SYNTAX}, got {value!r}")
    m = _PERCENT.fullmatch(value)
    if m:
        pct = float(m.group(1))
        if not 0 < pct <= 100:
            raise InvalidInstance(f"{field}: a percentage must be in (0, 100], got {value!r}")
        return max(1, int(available_bytes(ops) * pct / 100))
    m = _SIZE.fullmatch(value)
    if not m:
        raise InvalidInstance(f"{field}: cannot read {value!r}; give {SYNTAX}")
    number = float(m.group(1)) * _UNITS[m.group(2).upper()]
    if not math.isfinite(number) or number < 1:
        raise InvalidInstance(f"{field}: must be at least 1 byte, got {value!r}")
    return int(number)


def memory_budget(explicit=None, ops=None) -> int:
    """The budget in bytes: `explicit`, else $SETHLAB_MEMORY_BUDGET, else half the available memory."""
    if explicit is not None:
        return parse_budget(explicit, "memory_budget", ops)
    env = os.environ.get(ENV_VAR)
    if env is not None and env.strip():
        return parse_budget(env, ENV_VAR, ops)
    return int(available_bytes(ops) * DEFAULT_PERCENT / 100)


def format_bytes(n: float) -> str:
    """'1.5 GiB' style."""
    if not math.isfinite(n):
        return str(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} PiB"


def require(nbytes: float, what: str, budget=None, ops=None, hint: str = "") -> int:
    """Raise MemoryBudgetExceeded unless `nbytes` fits the budget; return the budget in bytes.

    `what` says what would be allocated (with its sizes), so the message names the need,
    the budget and how to change it.
    """
    limit = memory_budget(budget, ops)
    if not nbytes <= limit:
        raise MemoryBudgetExceeded(
            f"memory_budget: {what} needs {format_bytes(nbytes)} but the budget is {format_bytes(limit)} "
            f"(set memory_budget= or ${ENV_VAR}{'; ' + hint if hint else ''})"
        )
    return limit
