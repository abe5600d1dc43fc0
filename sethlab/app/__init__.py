"""The sethlab application: the command line, the demo and its report, plots, progress bars, the
experiments behind the demo and the examples, and the benchmark helpers (docs/design.md).

The library (everything outside this package) never imports it; it uses only the library's
public functions.
"""
