"""Measuring helpers shared by the benchmarks: machine rates, peak memory in a fresh process, timing.

Each measured call runs in its own subprocess so peak memory (VmHWM, reset after
setup) belongs to that call alone, and one-time library start-up (torch's thread
pools, BLAS) is paid by a warm-up call before the clock starts.
"""

from __future__ import annotations

import json
import subprocess
import sys

# one way to measure a rate: the package's helpers (also used by `sethlab bench`)
from sethlab.app.benchmarks import best_time, floor_seconds, machine, numpy_rates, torch_rates  # noqa: F401


def have_torch_rates() -> dict | None:
    """torch's CPU rates if torch is installed, else None."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return None
    return torch_rates()


def rss_bytes(field: str = "VmRSS") -> int:
    """This process's resident set (VmRSS) or its peak since the last reset (VmHWM), in bytes."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def run_worker(script: str, spec: dict, timeout: float = 3600) -> dict:
    """Run `script --worker SPEC` in a fresh interpreter and return the JSON it prints last."""
    proc = subprocess.run(
        [sys.executable, script, "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_json(path: str | None, payload: dict) -> None:
    """Write the benchmark record if a path was given."""
    if path:
        with open(path, "w") as fh:
            json.dump(payload, fh, indent=2)
        print(f"wrote {path}")
