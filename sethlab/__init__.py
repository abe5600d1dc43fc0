"""sethlab: the fine-grained complexity of attention, runnable and checkable.

The theory and the design are in docs/ (docs/README.md is the index).
"""

from sethlab.errors import BackendUnavailable, CertificationError, InvalidInstance, MemoryBudgetExceeded

__version__ = "0.1.0"



def decide(cnf, via="attention-gradient", method="exact", backend="numpy", **options):
    """CNF-SAT decided along SAT → OV → attention → gradient; see `sethlab.chain` (docs/reductions.md §4, §5, docs/quadrature.md)."""
    from sethlab.chain import decide as _decide

    return _decide(cnf, via=via, method=method, backend=backend, **options)


_SUBMODULES = ("attention", "solvers", "reductions", "generators", "io", "cnf", "instances", "testing", "executors")


def __getattr__(name):
    """Import public subpackages on first use, so `import sethlab` stays light (PEP 562)."""
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"sethlab.{name}")
    raise AttributeError(f"module 'sethlab' has no attribute {name!r}")


__all__ = ["InvalidInstance", "BackendUnavailable", "CertificationError", "MemoryBudgetExceeded", "decide", "__version__", *_SUBMODULES]
