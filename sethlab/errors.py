"""Errors raised by sethlab's public functions (docs/design.md, "Instance types")."""


class InvalidInstance(ValueError):
    """An input (an instance field or an argument) is malformed.

    The message names the field and the fault; the CLI prints it as one line
    on stderr and exits with code 2.
    """


class BackendUnavailable(InvalidInstance):
    """The requested backend or device cannot be used here (torch missing, no CUDA)."""


class CertificationError(InvalidInstance):
    """No polynomial degree can certify the requested accuracy: floating-point rounding dominates eps (docs/polynomial.md §3.1)."""


class MemoryBudgetExceeded(InvalidInstance):
    """A request needs more memory than the budget allows (the poly backend's plan, docs/polynomial.md §3)."""


class SethlabWarning(UserWarning):
    """Something was ignored but nothing was refused (e.g. a damaged metadata line in a DIMACS file)."""
