"""sethlab: the fine-grained complexity of attention, runnable and checkable.

See MATH.md (the specification) and DESIGN.md (layout and public names).
"""

from sethlab.errors import BackendUnavailable, InvalidInstance

__version__ = "0.1.0"

__all__ = ["InvalidInstance", "BackendUnavailable", "__version__"]
