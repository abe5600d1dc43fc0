"""Errors raised by sethlab's public functions (DESIGN.md, "Instance types")."""


class InvalidInstance(ValueError):
    """An input (an instance field or an argument) is malformed.

    The message names the field and the fault; the CLI prints it as one line
    on stderr and exits with code 2.
    """


class BackendUnavailable(InvalidInstance):
    """The requested backend or device cannot be used here (torch missing, no CUDA)."""
