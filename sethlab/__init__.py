"""sethlab: the fine-grained complexity of attention, runnable and checkable.

See MATH.md (the specification) and DESIGN.md (layout and public names).
"""

from sethlab.errors import BackendUnavailable, InvalidInstance

__version__ = "0.1.0"



def decide(cnf, via="attention-gradient", method="exact", backend="numpy", **options):
    """CNF-SAT decided along SAT → OV → attention → gradient; see `sethlab.chain` (MATH.md 4-6)."""
    from sethlab.chain import decide as _decide

    return _decide(cnf, via=via, method=method, backend=backend, **options)


__all__ = ["InvalidInstance", "BackendUnavailable", "decide", "__version__"]
