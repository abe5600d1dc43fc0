"""Measuring helpers shared by the benchmarks: machine rates, peak memory in a fresh process, timing.

Each measured call runs in its own subprocess so peak memory (VmHWM, reset after
setup) belongs to that call alone, and one-time library start-up (torch's thread
pools, BLAS) is paid by a warm-up call before the clock starts.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time

import numpy as np


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


def best_time(fn, repeat: int = 3) -> float:
    """Smallest wall time of `repeat` calls of fn()."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def numpy_rates(n: int = 2048, exp_elems: int = 1 << 22) -> dict:
    """Measured float64 GEMM rate (flop/s, square n) and np.exp rate (exps/s) of numpy here."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(n, n))
    b = rng.normal(size=(n, n))
    out = np.empty((n, n))
    gemm = 2 * n**3 / best_time(lambda: np.matmul(a, b, out=out))
    x = rng.uniform(-30, 0, size=exp_elems)
    y = np.empty_like(x)
    exp = exp_elems / best_time(lambda: np.exp(x, out=y))
    return {"gemm_flops_per_s": gemm, "exp_per_s": exp}


def torch_rates(n: int = 2048, exp_elems: int = 1 << 22, device: str = "cpu", dtype: str = "float64") -> dict:
    """The same rates for torch on `device` (its own thread pool for exp)."""
    import torch

    dt = getattr(torch, dtype)
    sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    a = torch.randn(n, n, dtype=dt, device=device)
    b = torch.randn(n, n, dtype=dt, device=device)
    out = torch.empty(n, n, dtype=dt, device=device)

    def mm():
        torch.matmul(a, b, out=out)
        sync()

    mm()
    gemm = 2 * n**3 / best_time(mm)
    x = torch.rand(exp_elems, dtype=dt, device=device) * -30
    y = torch.empty_like(x)

    def ex():
        torch.exp(x, out=y)
        sync()

    ex()
    exp = exp_elems / best_time(ex)
    return {"gemm_flops_per_s": gemm, "exp_per_s": exp}


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


def machine() -> dict:
    """What the figures were measured on."""
    info = {"python": platform.python_version(), "numpy": np.__version__, "cpus": os.cpu_count()}
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["cuda_device"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    info["platform"] = platform.platform()
    return info


def write_json(path: str | None, payload: dict) -> None:
    """Write the benchmark record if a path was given."""
    if path:
        with open(path, "w") as fh:
            json.dump(payload, fh, indent=2)
        print(f"wrote {path}")
